#pragma once
// Batches of continuous-action transitions drawn from turborl's replay inside C++, for the engines
// that take k gradient steps per call (TD3, SAC), optionally with an asymmetric critic: the obs
// field then stores [actor obs | critic obs] side by side per row (what turborl.algos.off_policy
// stores) and each draw splits it. The draws are the ones ReplayBuffer.sample makes (same core).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "turborl/core/aligned_array.hpp"
#include "turborl/replay/replay_buffer.hpp"

namespace turborl::nn {

// Where a continuous-action transition lives in the replay's fields (float32 obs and actions).
struct ContinuousReplayLayout {
  int obs_field = 0, action_field = 1;
  bool reward_is_float64 = false;
  int actor_obs_dim = 1, critic_obs_dim = 0, action_dim = 1;  // critic_obs_dim 0: symmetric
};

template <class T>
class ContinuousReplayBatch {
 public:
  AlignedArray<T> obs, next_obs, critic_obs, next_critic_obs, actions, rewards, discounts;

  void draw(replay::ReplayCore& core, const ContinuousReplayLayout& layout, std::ptrdiff_t batch, int n_step,
            double gamma) {
    reserve(layout, batch);
    core.sample(batch, n_step, gamma, 0.0);
    replay::SampleOutputs& out = core.outputs(batch);
    const int a = layout.actor_obs_dim, c = layout.critic_obs_dim, width = a + c;
    const auto* stored_obs = reinterpret_cast<const float*>(out.fields[std::size_t(layout.obs_field)].data());
    const auto* stored_next = reinterpret_cast<const float*>(out.next_obs.data());
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      std::copy(stored_obs + i * width, stored_obs + i * width + a, obs.data() + i * a);
      std::copy(stored_next + i * width, stored_next + i * width + a, next_obs.data() + i * a);
      if (c > 0) {
        std::copy(stored_obs + i * width + a, stored_obs + (i + 1) * width, critic_obs.data() + i * c);
        std::copy(stored_next + i * width + a, stored_next + (i + 1) * width, next_critic_obs.data() + i * c);
      }
    }
    const auto* stored_actions = reinterpret_cast<const float*>(out.fields[std::size_t(layout.action_field)].data());
    std::copy(stored_actions, stored_actions + batch * layout.action_dim, actions.data());
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      rewards[std::size_t(i)] = layout.reward_is_float64 ? T(read<double>(out.reward.data(), i))
                                                          : T(read<float>(out.reward.data(), i));
      discounts[std::size_t(i)] = layout.reward_is_float64 ? T(read<double>(out.discount.data(), i))
                                                            : T(read<float>(out.discount.data(), i));
    }
  }

 private:
  template <class V>
  static V read(const uint8_t* bytes, std::ptrdiff_t i) {
    V value;
    std::memcpy(&value, bytes + i * std::ptrdiff_t(sizeof(V)), sizeof(V));
    return value;
  }

  void reserve(const ContinuousReplayLayout& layout, std::ptrdiff_t batch) {
    const std::size_t n = std::size_t(batch);
    if (rewards.size() == n && obs.size() == n * std::size_t(layout.actor_obs_dim) &&
        critic_obs.size() == n * std::size_t(layout.critic_obs_dim) && actions.size() == n * std::size_t(layout.action_dim))
      return;
    obs = AlignedArray<T>(n * std::size_t(layout.actor_obs_dim));
    next_obs = AlignedArray<T>(n * std::size_t(layout.actor_obs_dim));
    critic_obs = AlignedArray<T>(n * std::size_t(layout.critic_obs_dim));
    next_critic_obs = AlignedArray<T>(n * std::size_t(layout.critic_obs_dim));
    actions = AlignedArray<T>(n * std::size_t(layout.action_dim));
    rewards = AlignedArray<T>(n);
    discounts = AlignedArray<T>(n);
  }
};

}  // namespace turborl::nn
