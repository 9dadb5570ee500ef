#pragma once
// TD3's gradient steps with their batches drawn from turborl's replay inside C++ (one Python call
// for k steps, as the native DQN does), for continuous actions and, optionally, an asymmetric
// critic: the obs field then stores [actor obs | critic obs] side by side per row (what
// turborl.algos.off_policy stores) and each draw splits it. The draws are the ones
// ReplayBuffer.sample makes (same core), and the smoothing noise comes from the caller, so a step
// here equals the Python-sampled step.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/optim.hpp"
#include "turborl/nn/td3.hpp"
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

struct Td3ReplayStats {
  double critic_loss = 0, q1_mean = 0, actor_loss = 0;
  int64_t actor_updates = 0;
};

// The batch views of a drawn ContinuousReplayBatch for Td3Engine (critic obs only when asymmetric).
template <class T>
Td3Batch<T> batch_view(const ContinuousReplayBatch<T>& b, const ContinuousReplayLayout& layout, const T* noise) {
  const bool asymmetric = layout.critic_obs_dim > 0;
  return {b.obs.data(), b.actions.data(), b.rewards.data(), b.discounts.data(), b.next_obs.data(), noise,
          asymmetric ? b.critic_obs.data() : nullptr, asymmetric ? b.next_critic_obs.data() : nullptr};
}

// `steps` TD3 updates. With separate_batches, each critic draws a batch of its own and the actor
// another (RLtools' loop, "Learning to Fly in Seconds"), and noise is [steps][2][batch][action_dim]
// (one per critic); otherwise one batch serves all and noise is [steps][batch][action_dim]. Step k
// steps the actor where update_actor[k] and otherwise moves the critic targets where
// critic_targets[k] (the caller's schedule: turborl.algos.td3). `batches` holds three workspaces.
// Returns losses averaged over the steps (the actor's over its steps).
template <class T>
Td3ReplayStats td3_train_from_replay(Td3Engine<T>& engine, replay::ReplayCore& core,
                                     const ContinuousReplayLayout& layout, ContinuousReplayBatch<T>* batches,
                                     T* actor, T* critic, T* target_actor, T* target_critic, T* actor_grads,
                                     T* critic_grads, T* actor_exp_avg, T* actor_exp_avg_sq, T* critic_exp_avg,
                                     T* critic_exp_avg_sq, int64_t& actor_step, int64_t& critic_step, int64_t steps,
                                     std::ptrdiff_t batch_size, int n_step, double gamma, const T* noise,
                                     const bool* update_actor, const bool* critic_targets, bool separate_batches,
                                     const Td3Options& o) {
  Td3ReplayStats total;
  const std::ptrdiff_t noise_size = batch_size * layout.action_dim;
  for (int64_t k = 0; k < steps; ++k) {
    Td3Stats stats;
    if (separate_batches) {
      const T* step_noise = noise + k * 2 * noise_size;
      batches[0].draw(core, layout, batch_size, n_step, gamma);
      batches[1].draw(core, layout, batch_size, n_step, gamma);
      if (update_actor[k]) batches[2].draw(core, layout, batch_size, n_step, gamma);
      stats = engine.update_batches(actor, critic, target_actor, target_critic, actor_grads, critic_grads,
                                    actor_exp_avg, actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq, actor_step,
                                    critic_step, batch_view(batches[0], layout, step_noise),
                                    batch_view(batches[1], layout, step_noise + noise_size),
                                    batch_view(batches[2], layout, step_noise), batch_size, update_actor[k], o);
    } else {
      batches[0].draw(core, layout, batch_size, n_step, gamma);
      const Td3Batch<T> b = batch_view(batches[0], layout, noise + k * noise_size);
      stats = engine.update_batches(actor, critic, target_actor, target_critic, actor_grads, critic_grads,
                                    actor_exp_avg, actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq, actor_step,
                                    critic_step, b, b, b, batch_size, update_actor[k], o);
    }
    if (!update_actor[k] && critic_targets[k]) polyak_update(critic, target_critic, engine.critic_params(), o.tau);
    total.critic_loss += stats.critic_loss / double(steps);
    total.q1_mean += stats.q1_mean / double(steps);
    if (update_actor[k]) {
      total.actor_loss += stats.actor_loss;
      total.actor_updates += 1;
    }
  }
  if (total.actor_updates > 0) total.actor_loss /= double(total.actor_updates);
  return total;
}

}  // namespace turborl::nn
