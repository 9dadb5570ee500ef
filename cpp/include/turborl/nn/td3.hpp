#pragma once
// TD3's update on the native engine (Fujimoto, van Hoof & Meger, 2018), as CleanRL's td3_continuous
// _action.py: twin critics regress r + discount * min(Q1', Q2')(s', a') with target-policy smoothing
// a' = clip(mu'(s') + clip(sigma * noise, -c, c), -1, 1); every `policy_frequency`-th update
// (the caller says which) the actor ascends Q1(s, mu(s)) through the freshly stepped critic, and
// the three target networks move toward theirs by Polyak averaging. Actions are in [-1, 1] (the
// actor ends in tanh); the caller scales them to the env's bounds.
//
// Parameters: actor [A] and target actor [A]; critics [2C] (Q1 then Q2) and target critics [2C];
// one Adam per group, as CleanRL. The critics may see other observations than the actor (an
// asymmetric critic, as "Learning to Fly in Seconds": the actor sees noisy observations and an
// action history, the critics the true state): critic input = critic obs + action. The smoothing noise comes from the caller (standard normal
// [batch, action_dim]), so that a test can feed torch the same numbers.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"

namespace turborl::nn {

struct Td3Options {
  double policy_noise = 0.2;
  double noise_clip = 0.5;
  double tau = 0.005;
  AdamOptions actor_adam, critic_adam;
  bool decay_biases = true;  // false: weight decay skips the biases (RLtools); the masks come from the engine
};

// One batch of transitions for a TD3 step; critic_obs/next_critic_obs null: the critics see obs.
template <class T>
struct Td3Batch {
  const T *obs, *actions, *rewards, *discounts, *next_obs, *noise, *critic_obs, *next_critic_obs;
  bool operator==(const Td3Batch&) const = default;
};

struct Td3Stats {
  double critic_loss = 0, q1_mean = 0, actor_loss = std::nan("");
};

template <class T>
class Td3Engine {
 public:
  Td3Engine(MlpSpec actor, MlpSpec critic)
      : actor_(std::move(actor)),
        critic_(std::move(critic)),
        actor_weights_(std::size_t(actor_.num_params())),
        critic_weights_(std::size_t(2 * critic_.num_params())) {
    actor_.weight_mask(actor_weights_.data());
    critic_.weight_mask(critic_weights_.data());  // Q1, then the same layout for Q2
    critic_.weight_mask(critic_weights_.data() + critic_.num_params());
    TURBORL_CHECK(actor_.spec().output_activation == Activation::kTanh, "the TD3 actor must end in tanh");
    TURBORL_CHECK(critic_.out_features() == 1, "a TD3 critic has one output, got ", critic_.out_features());
    TURBORL_CHECK(critic_.in_features() > actor_.out_features(), "the critic takes critic obs + action: more than ",
                  actor_.out_features(), " inputs, got ", critic_.in_features());
  }

  std::ptrdiff_t actor_params() const { return actor_.num_params(); }
  std::ptrdiff_t critic_params() const { return 2 * critic_.num_params(); }  // Q1 then Q2
  int obs_dim() const { return actor_.in_features(); }
  int action_dim() const { return actor_.out_features(); }
  int critic_obs_dim() const { return critic_.in_features() - action_dim(); }

  // mu(obs) for n observations into actions [n, action_dim].
  void act(const T* actor, const T* obs, std::ptrdiff_t n, T* actions) {
    const T* out = actor_.forward(actor, obs, obs_dim(), n);
    for (std::ptrdiff_t i = 0; i < n; ++i)
      std::copy(out + i * actor_.output_ld(), out + i * actor_.output_ld() + action_dim(), actions + i * action_dim());
  }

  // One critic step, and with update_actor one actor step and the target updates. Steps count
  // each Adam's updates (torch's state["step"]) and are advanced.
  Td3Stats update(T* actor, T* critic, T* target_actor, T* target_critic, T* actor_grads, T* critic_grads,
                  T* actor_exp_avg, T* actor_exp_avg_sq, T* critic_exp_avg, T* critic_exp_avg_sq, int64_t& actor_step,
                  int64_t& critic_step, const T* obs, const T* actions, const T* rewards, const T* discounts,
                  const T* next_obs, const T* noise, std::ptrdiff_t batch, bool update_actor, const Td3Options& o,
                  const T* critic_obs = nullptr, const T* next_critic_obs = nullptr) {
    const Td3Batch<T> b{obs, actions, rewards, discounts, next_obs, noise, critic_obs, next_critic_obs};
    return update_batches(actor, critic, target_actor, target_critic, actor_grads, critic_grads, actor_exp_avg,
                          actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq, actor_step, critic_step, b, b, b, batch,
                          update_actor, o);
  }

  // The same step with a batch (and smoothing noise) of its own for each critic and for the actor,
  // as RLtools' TD3 loop samples them ("Learning to Fly in Seconds"); the same batch three times
  // is exactly update().
  Td3Stats update_batches(T* actor, T* critic, T* target_actor, T* target_critic, T* actor_grads, T* critic_grads,
                          T* actor_exp_avg, T* actor_exp_avg_sq, T* critic_exp_avg, T* critic_exp_avg_sq,
                          int64_t& actor_step, int64_t& critic_step, const Td3Batch<T>& critic1_batch,
                          const Td3Batch<T>& critic2_batch, const Td3Batch<T>& actor_batch, std::ptrdiff_t batch,
                          bool update_actor, const Td3Options& o) {
    reserve(batch);
    const std::ptrdiff_t c = critic_.num_params();
    std::fill(critic_grads, critic_grads + 2 * c, T(0));
    Td3Stats stats;
    const Td3Batch<T>* batches[2] = {&critic1_batch, &critic2_batch};
    for (int k = 0; k < 2; ++k) {
      if (k == 0 || !(critic2_batch == critic1_batch)) {
        compute_targets(target_actor, target_critic, *batches[k], batch, o);
        fill_critic_input(*batches[k], batch);
      }
      double q_mean = 0;
      stats.critic_loss += critic_gradient(critic + k * c, batch, critic_grads + k * c, q_mean);
      if (k == 0) stats.q1_mean = q_mean;
    }
    AdamOptions critic_adam = o.critic_adam, actor_adam = o.actor_adam;
    if (!o.decay_biases) {
      critic_adam.decay_mask = critic_weights_.data();
      actor_adam.decay_mask = actor_weights_.data();
    }
    adam_step(critic, critic_grads, critic_exp_avg, critic_exp_avg_sq, 2 * c, ++critic_step, critic_adam);
    if (!update_actor) return stats;

    // actor: minimise -mean Q1(s, mu(s)) through the updated critic
    if (!(actor_batch == critic2_batch)) fill_critic_input(actor_batch, batch);  // its critic obs; mu replaces actions
    const int a_dim = action_dim(), o_dim = obs_dim(), width = critic_obs_dim() + a_dim, c_dim = critic_obs_dim();
    const T* mu = actor_.forward(actor, actor_batch.obs, o_dim, batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      std::copy(mu + i * actor_.output_ld(), mu + i * actor_.output_ld() + a_dim, input_.data() + i * width + c_dim);
    const T* q = critic_.forward(critic, input_.data(), width, batch);
    T* d_q = critic_.output_grad(batch);
    double q_sum = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      q_sum += double(q[i * critic_.output_ld()]);
      d_q[i * critic_.output_ld()] = T(-1) / T(batch);
    }
    stats.actor_loss = -q_sum / double(batch);
    critic_.backward(critic, input_.data(), width, batch, nullptr, d_input_.data());
    T* d_mu = actor_.output_grad(batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      for (int j = 0; j < a_dim; ++j)
        d_mu[i * actor_.output_ld() + j] = d_input_[i * critic_.input_ld() + c_dim + j];
    std::fill(actor_grads, actor_grads + actor_.num_params(), T(0));
    actor_.backward(actor, actor_batch.obs, o_dim, batch, actor_grads);
    adam_step(actor, actor_grads, actor_exp_avg, actor_exp_avg_sq, actor_.num_params(), ++actor_step, actor_adam);
    polyak_update(actor, target_actor, actor_.num_params(), o.tau);
    polyak_update(critic, target_critic, 2 * c, o.tau);
    return stats;
  }

 private:
  // targets_ = r + discount * min(Q1', Q2')(s', clip(mu'(s') + clip(sigma * noise, -c, c), -1, 1)).
  void compute_targets(const T* target_actor, const T* target_critic, const Td3Batch<T>& b, std::ptrdiff_t batch,
                       const Td3Options& o) {
    const int a_dim = action_dim(), o_dim = obs_dim(), c_dim = critic_obs_dim(), width = c_dim + a_dim;
    const T* next_critic_obs = b.next_critic_obs != nullptr ? b.next_critic_obs : b.next_obs;  // symmetric
    const std::ptrdiff_t c = critic_.num_params();
    const T* next_mu = actor_.forward(target_actor, b.next_obs, o_dim, batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      T* row = next_input_.data() + i * width;
      std::copy(next_critic_obs + i * c_dim, next_critic_obs + (i + 1) * c_dim, row);
      for (int j = 0; j < a_dim; ++j) {
        const T smoothing = std::clamp(T(o.policy_noise) * b.noise[i * a_dim + j], T(-o.noise_clip), T(o.noise_clip));
        row[c_dim + j] = std::clamp(next_mu[i * actor_.output_ld() + j] + smoothing, T(-1), T(1));
      }
    }
    const T* q1_next = critic_.forward(target_critic, next_input_.data(), width, batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i) targets_[i] = q1_next[i * critic_.output_ld()];
    const T* q2_next = critic_.forward(target_critic + c, next_input_.data(), width, batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      targets_[i] = b.rewards[i] + b.discounts[i] * std::min(targets_[i], q2_next[i * critic_.output_ld()]);
  }

  // input_ rows = [critic obs, action] of a batch.
  void fill_critic_input(const Td3Batch<T>& b, std::ptrdiff_t batch) {
    const int a_dim = action_dim(), c_dim = critic_obs_dim(), width = c_dim + a_dim;
    const T* critic_obs = b.critic_obs != nullptr ? b.critic_obs : b.obs;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      std::copy(critic_obs + i * c_dim, critic_obs + (i + 1) * c_dim, input_.data() + i * width);
      std::copy(b.actions + i * a_dim, b.actions + (i + 1) * a_dim, input_.data() + i * width + c_dim);
    }
  }

  // Mean squared error of one critic on input_ against targets_ (CleanRL sums the two critics'),
  // with its gradient into grads; returns the loss and sets the mean Q.
  double critic_gradient(const T* params, std::ptrdiff_t batch, T* grads, double& q_mean) {
    const int width = critic_obs_dim() + action_dim();
    const T* q = critic_.forward(params, input_.data(), width, batch);
    T* d_q = critic_.output_grad(batch);
    double loss = 0, q_sum = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T error = q[i * critic_.output_ld()] - targets_[i];
      loss += double(error) * double(error);
      q_sum += double(q[i * critic_.output_ld()]);
      d_q[i * critic_.output_ld()] = T(2) * error / T(batch);
    }
    q_mean = q_sum / double(batch);
    critic_.backward(params, input_.data(), width, batch, grads);
    return loss / double(batch);
  }

  void reserve(std::ptrdiff_t batch) {
    if (batch <= capacity_) return;
    const std::size_t width = std::size_t(critic_.in_features());
    input_ = AlignedArray<T>(std::size_t(batch) * width);
    next_input_ = AlignedArray<T>(std::size_t(batch) * width);
    d_input_ = AlignedArray<T>(std::size_t(batch) * std::size_t(critic_.input_ld()));
    targets_ = AlignedArray<T>(std::size_t(batch));
    capacity_ = batch;
  }

  Mlp<T> actor_, critic_;  // one critic network object evaluates Q1, Q2 and their targets in turn
  AlignedArray<uint8_t> actor_weights_, critic_weights_;  // weight-decay masks: 1 on weights, 0 on biases
  std::ptrdiff_t capacity_ = 0;
  AlignedArray<T> input_, next_input_, d_input_, targets_;
};

}  // namespace turborl::nn
