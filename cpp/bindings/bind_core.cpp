// Core utilities exposed for tests and for the Python layer: the counter-based RNG (so tests can
// compare it with an independent NumPy implementation) and build facts.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/array.h>

#include <array>
#include <cstdint>
#include <thread>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {

void bind_core(nb::module_& m) {
  m.def(
      "philox4x32_10",
      [](std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
        const Philox4x32Block out = philox4x32_10(Philox4x32Block{{counter[0], counter[1], counter[2], counter[3]}},
                                                  key[0], key[1]);
        return std::array<uint32_t, 4>{out.v[0], out.v[1], out.v[2], out.v[3]};
      },
      "counter"_a, "key"_a, "One Philox4x32-10 block: four 32-bit words from a 128-bit counter and a 64-bit key.");

  m.def(
      "episode_reset_uniforms",
      [](uint64_t env_seed, uint64_t episode, int64_t count) {
        TURBORL_CHECK(count >= 0 && count <= (int64_t(1) << 24), "count must be in [0, 2^24], got ", count);
        double* values = new double[size_t(count)];
        nb::capsule owner(values, [](void* p) noexcept { delete[] static_cast<double*>(p); });
        CounterRng rng = episode_reset_stream(env_seed, episode);
        for (int64_t i = 0; i < count; ++i) values[i] = rng.uniform();
        return nb::ndarray<nb::numpy, double, nb::ndim<1>>(values, {size_t(count)}, owner);
      },
      "env_seed"_a, "episode"_a, "count"_a,
      "The first `count` uniforms on [0, 1) of the reset stream of one env's episode.");

  m.def("hardware_concurrency", [] { return std::thread::hardware_concurrency(); });
#if defined(__AVX512F__)
  m.attr("simd") = "avx512";
#elif defined(__AVX2__)
  m.attr("simd") = "avx2";
#else
  m.attr("simd") = "baseline";
#endif
}

}  // namespace turborl::bindings
