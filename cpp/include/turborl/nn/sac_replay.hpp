#pragma once
// SAC's gradient steps with their batches drawn from turborl's replay inside C++ (one Python call
// for k steps, as the native DQN and TD3 do). The reparameterisation noise comes from the caller,
// [steps][2][batch][action_dim] (eps for the current actions, then eps for the next ones, in the
// order turborl.algos.sac draws them per update), so a step here equals the Python-sampled step.
#include <cstddef>
#include <cstdint>

#include "turborl/nn/continuous_replay.hpp"
#include "turborl/nn/sac.hpp"

namespace turborl::nn {

// `steps` SAC updates, each on a fresh batch; returns the losses and alpha averaged over the steps.
// `step` counts the updates so far (the Adams' step) and is advanced.
template <class T>
SacStats sac_train_from_replay(SacEngine<T>& engine, replay::ReplayCore& core, const ContinuousReplayLayout& layout,
                               ContinuousReplayBatch<T>& batch, T* actor, T* critic, T* target_critic, T* log_alpha,
                               T* actor_grads, T* critic_grads, T* actor_exp_avg, T* actor_exp_avg_sq,
                               T* critic_exp_avg, T* critic_exp_avg_sq, T* alpha_exp_avg, T* alpha_exp_avg_sq,
                               int64_t& step, int64_t steps, std::ptrdiff_t batch_size, int n_step, double gamma,
                               const T* noise, const SacOptions& o) {
  SacStats total;
  const std::ptrdiff_t noise_size = batch_size * layout.action_dim;
  for (int64_t k = 0; k < steps; ++k) {
    batch.draw(core, layout, batch_size, n_step, gamma);
    const T* eps = noise + 2 * k * noise_size;
    const SacStats stats = engine.update(actor, critic, target_critic, log_alpha, actor_grads, critic_grads,
                                         actor_exp_avg, actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq,
                                         alpha_exp_avg, alpha_exp_avg_sq, step, batch.obs.data(),
                                         batch.actions.data(), batch.rewards.data(), batch.discounts.data(),
                                         batch.next_obs.data(), eps, eps + noise_size, batch_size, o);
    total.critic_loss += stats.critic_loss / double(steps);
    total.actor_loss += stats.actor_loss / double(steps);
    total.alpha += stats.alpha / double(steps);
    total.alpha_loss += stats.alpha_loss / double(steps);
  }
  return total;
}

}  // namespace turborl::nn
