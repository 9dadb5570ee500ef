// Native microbenchmark of the vector-env engine: steps/s with no Python in the loop.
//
//   cmake -S . -B build/native -DTURBORL_PYTHON=OFF -DTURBORL_CUDA=OFF -DTURBORL_NATIVE_BENCH=ON
//   cmake --build build/native && build/native/bench_envs_native [num_envs] [seconds]
//
// Actions are drawn before timing (64 batches, cycled). Each configuration runs for a fixed
// wall-clock budget after a warm-up and reports the best of three repetitions.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "turborl/core/vec_env.hpp"
#include "turborl/envs/acrobot.hpp"
#include "turborl/envs/cartpole.hpp"
#include "turborl/envs/mountain_car.hpp"
#include "turborl/envs/mountain_car_continuous.hpp"
#include "turborl/envs/pendulum.hpp"

namespace {

using Clock = std::chrono::steady_clock;

template <class Env, class Real>
double steps_per_second(int64_t num_envs, int num_threads, double seconds) {
  using E = turborl::VecEnv<Env, Real>;
  E env(num_envs, num_threads, Env::max_episode_steps, turborl::AutoresetMode::kNextStep);
  for (int64_t i = 0; i < num_envs; ++i) env.env_seeds()[i] = uint64_t(i);
  env.reset(nullptr);

  constexpr int kBatches = 64;
  std::mt19937_64 gen(0);
  std::vector<typename E::ActionScalar> actions(size_t(kBatches) * num_envs * E::kActionDim);
  for (auto& a : actions) {
    if constexpr (E::kDiscrete) a = int64_t(gen() % uint64_t(Env::num_actions));
    else a = float(std::uniform_real_distribution<double>(Env::action_low[0], Env::action_high[0])(gen));
  }
  auto batch = [&](int64_t k) { return actions.data() + size_t(k % kBatches) * num_envs * E::kActionDim; };

  for (int k = 0; k < 50; ++k) env.step(batch(k));  // warm-up
  double best = 0.0;
  for (int repetition = 0; repetition < 3; ++repetition) {
    int64_t steps = 0;
    const auto start = Clock::now();
    double elapsed = 0.0;
    while (elapsed < seconds) {
      for (int k = 0; k < 20; ++k) env.step(batch(steps + k));
      steps += 20;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    best = std::max(best, double(steps) * double(num_envs) / elapsed);
  }
  return best;
}

template <class Env>
void report(int64_t num_envs, double seconds) {
  const double f32_1 = steps_per_second<Env, float>(num_envs, 1, seconds);
  const double f32_2 = steps_per_second<Env, float>(num_envs, 2, seconds);
  const double f64_1 = steps_per_second<Env, double>(num_envs, 1, seconds);
  const double f64_2 = steps_per_second<Env, double>(num_envs, 2, seconds);
  std::printf("| %-26s | %8lld | %12.1f | %12.1f | %12.1f | %12.1f |\n", Env::id, (long long)num_envs, f32_1 / 1e6,
              f32_2 / 1e6, f64_1 / 1e6, f64_2 / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t num_envs = argc > 1 ? std::atoll(argv[1]) : 4096;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0.5;
  std::printf("Native engine, M steps/s (best of 3), next_step autoreset, random actions\n\n");
  std::printf("| %-26s | %8s | %12s | %12s | %12s | %12s |\n", "env", "num_envs", "f32 1 thread", "f32 2 threads",
              "f64 1 thread", "f64 2 threads");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(28, '-').c_str(), std::string(10, '-').c_str(),
              std::string(14, '-').c_str(), std::string(15, '-').c_str(), std::string(14, '-').c_str(),
              std::string(15, '-').c_str());
  report<turborl::envs::CartPole>(num_envs, seconds);
  report<turborl::envs::Acrobot>(num_envs, seconds);
  report<turborl::envs::MountainCar>(num_envs, seconds);
  report<turborl::envs::MountainCarContinuous>(num_envs, seconds);
  report<turborl::envs::Pendulum>(num_envs, seconds);
  return 0;
}
