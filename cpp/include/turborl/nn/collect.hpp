#pragma once
// The off-policy collection loop in C++: act, explore, step the envs, store the step in the
// replay, k times per call. It does what turborl.algos.off_policy.ContinuousOffPolicy's Python
// step does (uniform warm-up actions, then the policy's exploration; the obs stored as [actor obs
// | critic obs] for asymmetric critics; next_step autoreset rows stored as they come), with the
// same values in the same order, so a run gives the same result either way. In Python the
// interpreter's work per step was 10-15% of a Learning-to-Fly run (bench/RESULTS.md).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/box_action_env.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/continuous_replay.hpp"
#include "turborl/replay/replay_buffer.hpp"

namespace turborl::nn {

// Where the loop's actions come from and go to. Actions are in [-1, 1]; the env scales them.
struct CollectPlan {
  int64_t steps = 0;
  int64_t uniform_steps = 0;               // the first steps take uniform_actions (warm-up)
  const float* uniform_actions = nullptr;  // [uniform_steps][num_envs][action_dim]
  const double* action_scale = nullptr;    // [action_dim]: env action = scale * a + bias
  const double* action_bias = nullptr;
};

// Runs plan.steps vector steps. explore(obs, t, actions) writes the actions [num_envs][action_dim]
// of the t-th exploring step for the actor observations obs [num_envs][obs_dim]. Appends the
// returns of the episodes that ended to episode_returns, in step order, then env order.
template <class Explore>
void collect_steps(BoxActionEnv& env, replay::ReplayCore& replay, const ContinuousReplayLayout& layout,
                   const CollectPlan& plan, Explore&& explore, std::vector<double>& episode_returns) {
  const BoxActionEnvShape shape = env.shape();
  const int64_t n = shape.num_envs;
  const int a = layout.actor_obs_dim, c = layout.critic_obs_dim, width = a + c, d = layout.action_dim;
  const replay::FieldRoles& roles = replay.roles();
  AlignedArray<float> stored_obs(std::size_t(n * width)), actions(std::size_t(n * d)), env_actions(std::size_t(n * d));
  AlignedArray<uint8_t> rewards(std::size_t(n) * (layout.reward_is_float64 ? sizeof(double) : sizeof(float)));
  std::vector<const uint8_t*> fields(std::size_t(replay.num_fields()));  // the flags: the env's, per step
  fields[std::size_t(layout.obs_field)] = reinterpret_cast<const uint8_t*>(stored_obs.data());
  fields[std::size_t(layout.action_field)] = reinterpret_cast<const uint8_t*>(actions.data());
  fields[std::size_t(roles.reward)] = rewards.data();
  for (int64_t t = 0; t < plan.steps; ++t) {
    BoxActionEnvStep now = env.outputs();
    // The obs the actions answer, kept before the step overwrites it.
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(stored_obs.data() + i * width, now.obs + i * a, sizeof(float) * std::size_t(a));
      if (c > 0) std::memcpy(stored_obs.data() + i * width + a, now.critic_obs + i * c, sizeof(float) * std::size_t(c));
    }
    if (t < plan.uniform_steps) {
      std::copy_n(plan.uniform_actions + t * n * d, n * d, actions.data());
    } else {
      // As the Python path's act(), which refuses them: a diverged simulation must not go on.
      for (int64_t k = 0; k < n * a; ++k)
        TURBORL_CHECK(std::isfinite(now.obs[k]), "obs holds a non-finite value (", now.obs[k], ") at flat index ", k);
      explore(now.obs, t - plan.uniform_steps, actions.data());
    }
    const int64_t ended = env.step_unit_actions(actions.data(), plan.action_scale, plan.action_bias, env_actions.data());
    now = env.outputs();
    for (int64_t i = 0; i < n; ++i) {
      if (layout.reward_is_float64) {
        std::memcpy(rewards.data() + i * sizeof(double), now.rewards + i, sizeof(double));
      } else {
        const float reward = float(now.rewards[i]);
        std::memcpy(rewards.data() + i * sizeof(float), &reward, sizeof(float));
      }
    }
    fields[std::size_t(roles.terminated)] = now.terminated;
    fields[std::size_t(roles.truncated)] = now.truncated;
    replay.add(fields, 1);
    if (ended > 0) {
      for (int64_t i = 0; i < n; ++i)
        if (now.episode_ended[i]) episode_returns.push_back(now.final_return[i]);
    }
  }
}

}  // namespace turborl::nn
