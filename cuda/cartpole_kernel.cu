// Batched CartPole on the GPU: one thread per environment, the state in registers for the whole
// rollout, the physics from the same TURBORL_HD header as the CPU engine and the same episode
// bookkeeping (next_step autoreset) and counter-based reset streams. Built with --fmad=false, so
// float32 rollouts equal the CPU's bit for bit and float64 ones differ only through CUDA's sin/cos.
#include <cuda_runtime.h>

#include "cartpole_kernel.hpp"
#include "turborl/core/episode.hpp"
#include "turborl/core/rng.hpp"

namespace turborl::cuda {
namespace {

using envs::CartPole;

template <class Real>
__global__ void cartpole_rollout_kernel(CartPoleRolloutArgs<Real> args) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n = args.num_envs;
  if (i >= n) return;

  CartPole::State<Real> s{args.state_columns[i], args.state_columns[n + i], args.state_columns[2 * n + i],
                          args.state_columns[3 * n + i]};
  EpisodeCounters counters{args.elapsed_steps[i], args.episode_return[i], args.episode_length[i],
                           args.needs_reset[i]};
  const uint64_t env_seed = args.env_seeds[i];
  uint64_t episode = args.episode_index[i];
  const CartPole::Params<Real> p = args.params;

  for (int64_t t = 0; t < args.num_steps; ++t) {
    int64_t action;
    if (args.actions != nullptr) {
      action = args.actions[t * n + i];
    } else {
      CounterRng action_rng(args.action_seed, uint32_t(i), uint32_t(i >> 32), uint32_t(t));
      action = int64_t(action_rng.next_u64() >> 63);
    }
    const envs::StepResult result = CartPole::step(s, p, action);
    double reward = result.reward;
    bool terminated = result.terminated;
    bool truncated = false;
    const EpisodeEvents events =
        advance_episode<AutoresetMode::kNextStep>(counters, reward, terminated, truncated, args.max_episode_steps);
    if (events.reset_now) {
      CounterRng rng = episode_reset_stream(env_seed, episode);
      episode += 1;
      CartPole::reset(s, p, rng);
    }
    if (args.obs != nullptr) {
      CartPole::observe(s, p, args.obs + (t * n + i) * 4);
      args.rewards[t * n + i] = reward;
      args.terminated[t * n + i] = terminated;
      args.truncated[t * n + i] = truncated;
    }
  }

  args.state_columns[i] = s.x;
  args.state_columns[n + i] = s.x_dot;
  args.state_columns[2 * n + i] = s.theta;
  args.state_columns[3 * n + i] = s.theta_dot;
  args.elapsed_steps[i] = counters.elapsed_steps;
  args.episode_return[i] = counters.episode_return;
  args.episode_length[i] = counters.episode_length;
  args.needs_reset[i] = counters.needs_reset;
  args.episode_index[i] = episode;
}

template <class Real>
int launch(const CartPoleRolloutArgs<Real>& args) {
  constexpr int kThreadsPerBlock = 256;
  const int64_t blocks = (args.num_envs + kThreadsPerBlock - 1) / kThreadsPerBlock;
  cartpole_rollout_kernel<Real><<<unsigned(blocks), kThreadsPerBlock>>>(args);
  return int(cudaGetLastError());
}

}  // namespace

int launch_cartpole_rollout(const CartPoleRolloutArgs<double>& args) { return launch(args); }
int launch_cartpole_rollout(const CartPoleRolloutArgs<float>& args) { return launch(args); }

}  // namespace turborl::cuda
