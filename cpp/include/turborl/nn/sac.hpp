#pragma once
// SAC's gradient step on the native engine (Haarnoja et al., 2018, with automatic temperature),
// with Stable-Baselines3's semantics (sac/sac.py, common/distributions.py) so that the native and
// torch implementations take the same step:
//   - the actor outputs [mean, log_std] (one MLP with 2 x action_dim outputs: SB3's two heads on one
//     trunk), log_std clamped to [-20, 2]; a = tanh(mean + exp(log_std) * eps) (reparameterised,
//     eps from the caller), log pi = sum(N(eps) log-density - log_std - log(1 - a^2 + 1e-6));
//   - the temperature: alpha = exp(log_alpha) before this step's update; its loss is
//     -mean(log_alpha * (log pi + target_entropy)) on the same sample;
//   - critics: 0.5 * sum_k mse(Q_k(s, a), r + discount * (min_k Q'_k(s', a') - alpha log pi(a'|s')))
//     with a' sampled from the current actor (eps_next from the caller);
//   - actor: mean(alpha log pi - min_k Q_k(s, a_pi)) through the freshly stepped critics;
//   - target critics move by Polyak averaging (tau) every step.
// Actions are in [-1, 1]; the caller scales them to the env's bounds.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"

namespace turborl::nn {

struct SacOptions {
  double tau = 0.005;
  double target_entropy = -1.0;  // SB3: -action_dim
  bool autotune = true;
  AdamOptions actor_adam, critic_adam, alpha_adam;
};

struct SacStats {
  double critic_loss = 0, actor_loss = 0, alpha = 0, alpha_loss = 0;
};

template <class T>
class SacEngine {
 public:
  static constexpr double kLogStdMin = -20.0, kLogStdMax = 2.0, kSquashEps = 1e-6;

  SacEngine(MlpSpec actor, MlpSpec critic) : actor_(std::move(actor)), q1_(critic), q2_(std::move(critic)) {
    TURBORL_CHECK(actor_.out_features() % 2 == 0, "the SAC actor outputs [mean, log_std]: an even count, got ",
                  actor_.out_features());
    TURBORL_CHECK(q1_.out_features() == 1, "a SAC critic has one output, got ", q1_.out_features());
    TURBORL_CHECK(q1_.in_features() == obs_dim() + action_dim(), "the critic takes obs + action = ",
                  obs_dim() + action_dim(), " inputs, got ", q1_.in_features());
  }

  std::ptrdiff_t actor_params() const { return actor_.num_params(); }
  std::ptrdiff_t critic_params() const { return 2 * q1_.num_params(); }  // Q1 then Q2
  int obs_dim() const { return actor_.in_features(); }
  int action_dim() const { return actor_.out_features() / 2; }

  // Actions in [-1, 1] for n observations: tanh(mean + std * eps), or tanh(mean) when eps is null.
  void act(const T* actor, const T* obs, std::ptrdiff_t n, const T* eps, T* actions) {
    const T* out = actor_.forward(actor, obs, obs_dim(), n);
    const int a_dim = action_dim();
    for (std::ptrdiff_t i = 0; i < n; ++i)
      for (int j = 0; j < a_dim; ++j) {
        const T* row = out + i * actor_.output_ld();
        const T noise = eps != nullptr ? std::exp(clamped_log_std(row[a_dim + j])) * eps[i * a_dim + j] : T(0);
        actions[i * a_dim + j] = std::tanh(row[j] + noise);
      }
  }

  SacStats update(T* actor, T* critic, T* target_critic, T* log_alpha, T* actor_grads, T* critic_grads,
                  T* actor_exp_avg, T* actor_exp_avg_sq, T* critic_exp_avg, T* critic_exp_avg_sq, T* alpha_exp_avg,
                  T* alpha_exp_avg_sq, int64_t& step, const T* obs, const T* actions, const T* rewards,
                  const T* discounts, const T* next_obs, const T* eps, const T* eps_next, std::ptrdiff_t batch,
                  const SacOptions& o) {
    reserve(batch);
    const int a_dim = action_dim(), o_dim = obs_dim(), width = o_dim + a_dim;
    const std::ptrdiff_t c = q1_.num_params();
    const T alpha = std::exp(log_alpha[0]);
    ++step;
    SacStats stats;
    stats.alpha = double(alpha);

    // targets: a' ~ pi(s') from the current actor, the target critics' minimum, minus alpha log pi
    sample(actor, next_obs, eps_next, batch, next_input_.data(), next_log_probs_.data());
    const T* q1_next = q1_.forward(target_critic, next_input_.data(), width, batch);
    const T* q2_next = q2_.forward(target_critic + c, next_input_.data(), width, batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T next_q = std::min(q1_next[i * q1_.output_ld()], q2_next[i * q2_.output_ld()]);
      targets_[i] = rewards[i] + discounts[i] * (next_q - alpha * next_log_probs_[i]);
    }

    // critics: 0.5 * (mse(Q1) + mse(Q2))
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      std::copy(obs + i * o_dim, obs + (i + 1) * o_dim, input_.data() + i * width);
      std::copy(actions + i * a_dim, actions + (i + 1) * a_dim, input_.data() + i * width + o_dim);
    }
    std::fill(critic_grads, critic_grads + 2 * c, T(0));
    Mlp<T>* critics[2] = {&q1_, &q2_};
    for (int k = 0; k < 2; ++k) {
      Mlp<T>& q_net = *critics[k];
      const T* q = q_net.forward(critic + k * c, input_.data(), width, batch);
      T* d_q = q_net.output_grad(batch);
      double loss = 0;
      for (std::ptrdiff_t i = 0; i < batch; ++i) {
        const T error = q[i * q_net.output_ld()] - targets_[i];
        loss += double(error) * double(error);
        d_q[i * q_net.output_ld()] = error / T(batch);
      }
      stats.critic_loss += 0.5 * loss / double(batch);
      q_net.backward(critic + k * c, input_.data(), width, batch, critic_grads + k * c);
    }
    adam_step(critic, critic_grads, critic_exp_avg, critic_exp_avg_sq, 2 * c, step, o.critic_adam);

    // actor: a_pi ~ pi(s), loss mean(alpha log pi - min(Q1, Q2)(s, a_pi)) through the updated critics
    sample(actor, obs, eps, batch, input_.data(), log_probs_.data());  // keeps the actor's activations
    const T* q1_pi = q1_.forward(critic, input_.data(), width, batch);
    const T* q2_pi = q2_.forward(critic + c, input_.data(), width, batch);
    double actor_loss = 0;
    T* d_q1 = q1_.output_grad(batch);
    T* d_q2 = q2_.output_grad(batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T v1 = q1_pi[i * q1_.output_ld()], v2 = q2_pi[i * q2_.output_ld()];
      const bool first = v1 <= v2;  // torch.min's gradient goes to the first minimum
      actor_loss += double(alpha * log_probs_[i] - std::min(v1, v2));
      d_q1[i * q1_.output_ld()] = first ? T(-1) / T(batch) : T(0);
      d_q2[i * q2_.output_ld()] = first ? T(0) : T(-1) / T(batch);
    }
    stats.actor_loss = actor_loss / double(batch);
    q1_.backward(critic, input_.data(), width, batch, nullptr, d_input1_.data());
    q2_.backward(critic + c, input_.data(), width, batch, nullptr, d_input2_.data());
    T* d_out = actor_.output_grad(batch);
    const std::ptrdiff_t ld_in = q1_.input_ld(), ld_out = actor_.output_ld();
    const T alpha_per_sample = alpha / T(batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      for (int j = 0; j < a_dim; ++j) {
        const std::ptrdiff_t k = i * a_dim + j;
        const T y = squashed_[k], one_minus = T(1) - y * y;
        const T d_action = d_input1_[i * ld_in + o_dim + j] + d_input2_[i * ld_in + o_dim + j];
        // d/dx of alpha * (-log(1 - y^2 + eps)) / batch plus the critics' path through a = tanh(x)
        const T d_x = alpha_per_sample * T(2) * y * one_minus / (one_minus + T(kSquashEps)) + d_action * one_minus;
        d_out[i * ld_out + j] = d_x;
        const T d_log_std = d_x * std_[k] * eps[k] - alpha_per_sample;  // x = mean + exp(log_std) eps
        d_out[i * ld_out + a_dim + j] = log_std_clipped_[k] ? T(0) : d_log_std;
      }
    std::fill(actor_grads, actor_grads + actor_.num_params(), T(0));
    actor_.backward(actor, obs, o_dim, batch, actor_grads);
    adam_step(actor, actor_grads, actor_exp_avg, actor_exp_avg_sq, actor_.num_params(), step, o.actor_adam);

    // temperature, on the same sample's log pi
    double mean_log_prob = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) mean_log_prob += double(log_probs_[i]);
    mean_log_prob /= double(batch);
    stats.alpha_loss = -double(log_alpha[0]) * (mean_log_prob + o.target_entropy);
    if (o.autotune) {
      const T grad = T(-(mean_log_prob + o.target_entropy));
      adam_step(log_alpha, &grad, alpha_exp_avg, alpha_exp_avg_sq, 1, step, o.alpha_adam);
    }
    polyak_update(critic, target_critic, 2 * c, o.tau);
    return stats;
  }

 private:
  static T clamped_log_std(T raw) { return std::clamp(raw, T(kLogStdMin), T(kLogStdMax)); }

  // a = tanh(mean + std * eps) into the action columns of `input` (after the obs, which it copies)
  // and log pi(a|s) into log_probs; keeps std, tanh and the clamp mask for the actor's backward.
  void sample(const T* actor, const T* obs, const T* eps, std::ptrdiff_t batch, T* input, T* log_probs) {
    const int a_dim = action_dim(), o_dim = obs_dim(), width = o_dim + a_dim;
    const T* out = actor_.forward(actor, obs, o_dim, batch);
    constexpr T kHalfLog2Pi = T(0.91893853320467274178);
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T* row = out + i * actor_.output_ld();
      std::copy(obs + i * o_dim, obs + (i + 1) * o_dim, input + i * width);
      T log_prob = 0;
      for (int j = 0; j < a_dim; ++j) {
        const std::ptrdiff_t k = i * a_dim + j;
        const T raw = row[a_dim + j], log_std = clamped_log_std(raw);
        const T e = eps[k], s = std::exp(log_std), y = std::tanh(row[j] + s * e);
        std_[k] = s;
        squashed_[k] = y;
        log_std_clipped_[k] = raw < T(kLogStdMin) || raw > T(kLogStdMax);
        log_prob += T(-0.5) * e * e - log_std - kHalfLog2Pi - std::log(T(1) - y * y + T(kSquashEps));
        input[i * width + o_dim + j] = y;
      }
      log_probs[i] = log_prob;
    }
  }

  void reserve(std::ptrdiff_t batch) {
    if (batch <= capacity_) return;
    const std::size_t width = std::size_t(obs_dim() + action_dim()), n = std::size_t(batch);
    input_ = AlignedArray<T>(n * width);
    next_input_ = AlignedArray<T>(n * width);
    d_input1_ = AlignedArray<T>(n * std::size_t(q1_.input_ld()));
    d_input2_ = AlignedArray<T>(n * std::size_t(q2_.input_ld()));
    targets_ = AlignedArray<T>(n);
    log_probs_ = AlignedArray<T>(n);
    next_log_probs_ = AlignedArray<T>(n);
    std_ = AlignedArray<T>(n * std::size_t(action_dim()));
    squashed_ = AlignedArray<T>(n * std::size_t(action_dim()));
    log_std_clipped_ = AlignedArray<uint8_t>(n * std::size_t(action_dim()));
    capacity_ = batch;
  }

  Mlp<T> actor_, q1_, q2_;  // q1_ and q2_ also evaluate the target critics
  std::ptrdiff_t capacity_ = 0;
  AlignedArray<T> input_, next_input_, d_input1_, d_input2_, targets_, log_probs_, next_log_probs_, std_, squashed_;
  AlignedArray<uint8_t> log_std_clipped_;
};

}  // namespace turborl::nn
