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

#include "turborl/core/check.hpp"
#include "turborl/nn/continuous_replay.hpp"
#include "turborl/nn/optim.hpp"
#include "turborl/nn/td3.hpp"

namespace turborl::nn {

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
