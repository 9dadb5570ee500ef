#pragma once
// Host-side interface of the CartPole rollout kernel (defined in cartpole_kernel.cu), usable from
// code compiled by the host compiler. All pointers are device pointers.
#include <cstdint>

#include "turborl/envs/cartpole.hpp"

namespace turborl::cuda {

template <class Real>
struct CartPoleRolloutArgs {
  int64_t num_envs;
  int64_t num_steps;
  int64_t max_episode_steps;
  envs::CartPole::Params<Real> params;  // shared by all envs

  // Engine state, struct-of-arrays as in core/vec_env.hpp; read at the start, written at the end.
  Real* state_columns;  // [4][num_envs]
  int64_t* elapsed_steps;
  double* episode_return;
  int64_t* episode_length;
  bool* needs_reset;
  const uint64_t* env_seeds;
  uint64_t* episode_index;

  // Actions [num_steps][num_envs]; when null, actions are drawn on the device from
  // action_seed (uniform over {0, 1}, keyed by env and step), for throughput measurements.
  const int64_t* actions;
  uint64_t action_seed;

  // Per-step outputs [num_steps][num_envs] (obs: [num_steps][num_envs][4]); null skips them.
  float* obs;
  double* rewards;
  bool* terminated;
  bool* truncated;
};

// Launches the rollout on the current device and stream 0; returns a cudaError_t as int.
int launch_cartpole_rollout(const CartPoleRolloutArgs<double>& args);
int launch_cartpole_rollout(const CartPoleRolloutArgs<float>& args);

}  // namespace turborl::cuda
