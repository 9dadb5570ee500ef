// The engine's matrix kernel against OpenBLAS's sgemm on the shapes of one MLP forward and
// backward pass (per layer: Y = X W^T, dX = dY W, dW = dY^T X; no dX for the first layer).
// OpenBLAS is loaded at run time from the library path given on the command line (scipy-openblas32
// from PyPI), on one thread, as the engine runs.
//
//   g++ -O3 -march=native -ffp-contract=fast -std=c++20 -I cpp/include bench/native/bench_gemm.cpp -ldl
//   ./a.out /path/to/libscipy_openblas.so
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/nn/kernels.hpp"

namespace {

using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct Layer {
  int in, out;
};

struct Case {
  const char* name;
  int batch;
  std::vector<int> sizes;
};

template <class F>
double best_microseconds(F&& work) {
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    int reps = 0;
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    do {
      work();
      ++reps;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < 0.1);
    best = std::min(best, elapsed / reps * 1e6);
  }
  return best;
}

std::vector<float> random_vector(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s LIBOPENBLAS.so [symbol prefix, default scipy_]\n", argv[0]);
    return 2;
  }
  const std::string prefix = argc > 2 ? argv[2] : "scipy_";
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  auto sgemm = reinterpret_cast<Sgemm>(dlsym(library, (prefix + "cblas_sgemm").c_str()));
  auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(library, (prefix + "openblas_set_num_threads").c_str()));
  if (sgemm == nullptr) {
    std::fprintf(stderr, "no %scblas_sgemm in %s\n", prefix.c_str(), argv[1]);
    return 2;
  }
  if (set_threads != nullptr) set_threads(1);

  const std::vector<Case> cases = {
      {"PPO CartPole actor 4-64-64-2, batch 256", 256, {4, 64, 64, 2}},
      {"DQN CartPole 4-256-256-2, batch 64", 64, {4, 256, 256, 2}},
      {"DQN CartPole 4-256-256-2, batch 256", 256, {4, 256, 256, 2}},
      {"TD3 L2F critic 32-64-64-1, batch 256", 256, {32, 64, 64, 1}},
      {"SAC Pendulum critic 4-256-256-1, batch 256", 256, {4, 256, 256, 1}},
      {"stream-x 4-128-128-2, batch 1", 1, {4, 128, 128, 2}},
  };
  std::printf("| shapes (one forward + backward) | turborl kernel | OpenBLAS sgemm | OpenBLAS / turborl |\n");
  std::printf("|---|---:|---:|---:|\n");
  std::mt19937 rng(0);
  using turborl::nn::padded;
  for (const Case& c : cases) {
    const int b = c.batch;
    std::vector<std::vector<float>> x, w, y, dy, dx, dw;               // unpadded, for BLAS
    std::vector<turborl::AlignedArray<float>> px, pwt, pw, py, pdx, pdwt;  // padded, for turborl
    for (std::size_t l = 0; l + 1 < c.sizes.size(); ++l) {
      const int in = c.sizes[l], out = c.sizes[l + 1];
      x.push_back(random_vector(std::size_t(b) * in, rng));
      w.push_back(random_vector(std::size_t(out) * in, rng));
      y.emplace_back(std::size_t(b) * out);
      dy.push_back(random_vector(std::size_t(b) * out, rng));
      dx.emplace_back(std::size_t(b) * in);
      dw.emplace_back(std::size_t(out) * in);
      px.emplace_back(std::size_t(b) * padded(in));
      pwt.emplace_back(std::size_t(in) * padded(out));
      pw.emplace_back(std::size_t(out) * padded(in));
      py.emplace_back(std::size_t(b) * padded(out));
      pdx.emplace_back(std::size_t(b) * padded(in));
      pdwt.emplace_back(std::size_t(in) * padded(out));
      for (int i = 0; i < b * in; ++i) px.back()[std::size_t(i / in) * padded(in) + i % in] = x.back()[i];
    }
    const std::size_t layers = x.size();
    const double blas_us = best_microseconds([&] {
      for (std::size_t l = 0; l < layers; ++l) {
        const int in = c.sizes[l], out = c.sizes[l + 1];
        sgemm(kRowMajor, kNoTrans, kTrans, b, out, in, 1.f, x[l].data(), in, w[l].data(), in, 0.f, y[l].data(), out);
      }
      for (std::size_t l = layers; l-- > 0;) {
        const int in = c.sizes[l], out = c.sizes[l + 1];
        sgemm(kRowMajor, kTrans, kNoTrans, out, in, b, 1.f, dy[l].data(), out, x[l].data(), in, 0.f, dw[l].data(), in);
        if (l > 0)
          sgemm(kRowMajor, kNoTrans, kNoTrans, b, in, out, 1.f, dy[l].data(), out, w[l].data(), in, 0.f, dx[l].data(),
                in);
      }
    });
    const double turborl_us = best_microseconds([&] {
      for (std::size_t l = 0; l < layers; ++l) {
        const int in = c.sizes[l];
        const auto ld_out = padded(c.sizes[l + 1]);
        turborl::nn::gemm<float>(b, ld_out, in, px[l].data(), padded(in), 1, pwt[l].data(), ld_out, py[l].data(),
                                 ld_out, nullptr, false);
      }
      for (std::size_t l = layers; l-- > 0;) {
        const int in = c.sizes[l], out = c.sizes[l + 1];
        const auto ld_in = padded(in), ld_out = padded(out);
        turborl::nn::gemm<float>(in, ld_out, b, px[l].data(), 1, ld_in, py[l].data(), ld_out, pdwt[l].data(), ld_out,
                                 nullptr, false);
        if (l > 0)
          turborl::nn::gemm<float>(b, ld_in, out, py[l].data(), ld_out, 1, pw[l].data(), ld_in, pdx[l].data(), ld_in,
                                   nullptr, false);
      }
    });
    std::printf("| %s | %.1f us | %.1f us | %.2fx |\n", c.name, turborl_us, blas_us, blas_us / turborl_us);
  }
  return 0;
}
