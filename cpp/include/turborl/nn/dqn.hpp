#pragma once
// DQN's gradient step on the native engine (Mnih et al., 2015; double Q-learning, van Hasselt et
// al., 2016): TD targets from a target network, Huber (smooth L1, beta 1) or squared error on the
// chosen actions' Q-values, importance weights from prioritized replay, global-norm gradient
// clipping and Adam. Semantics are turborl.algos.dqn's torch backend (SB3's DQN): targets
// R + discount * Q_target(s', a'), discount = gamma^n, 0 after a termination (the n-step return
// R and the discount come from turborl's replay).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "turborl/core/check.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"

namespace turborl::nn {

struct DqnOptions {
  bool double_q = true;
  bool huber = true;  // else squared error
  double max_grad_norm = 10.0;
  AdamOptions adam;
};

struct DqnStats {
  double loss = 0, q_mean = 0;
};

template <class T>
class DqnEngine {
 public:
  explicit DqnEngine(const MlpSpec& spec) : online_(spec), target_(spec) {
    TURBORL_CHECK(online_.out_features() >= 1, "the Q-network needs at least one output");
  }

  std::ptrdiff_t num_params() const { return online_.num_params(); }
  int obs_dim() const { return online_.in_features(); }
  int num_actions() const { return online_.out_features(); }

  // Greedy actions (argmax Q, first on ties as torch's argmax) for n observations.
  void greedy(const T* params, const T* obs, std::ptrdiff_t n, int64_t* actions) {
    const T* q = online_.forward(params, obs, obs_dim(), n);
    for (std::ptrdiff_t i = 0; i < n; ++i) actions[i] = argmax(q + i * online_.output_ld());
  }

  // One gradient step on a batch; writes |Q(s, a) - target| (new priorities) into td_errors.
  DqnStats update(T* params, const T* target_params, T* grads, T* exp_avg, T* exp_avg_sq, int64_t step,
                  const T* obs, const int64_t* actions, const T* rewards, const T* discounts, const T* next_obs,
                  const T* weights, std::ptrdiff_t batch, const DqnOptions& o, T* td_errors) {
    reserve(batch);
    // targets: the target network evaluates the action the online network (double Q) or it picks
    const T* q_next = target_.forward(target_params, next_obs, obs_dim(), batch);
    const std::ptrdiff_t ld = online_.output_ld();
    if (o.double_q) {
      const T* q_next_online = online_.forward(params, next_obs, obs_dim(), batch);
      for (std::ptrdiff_t i = 0; i < batch; ++i) next_action_[i] = argmax(q_next_online + i * ld);
    } else {
      for (std::ptrdiff_t i = 0; i < batch; ++i) next_action_[i] = argmax(q_next + i * ld);
    }
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      targets_[i] = rewards[i] + discounts[i] * q_next[i * ld + next_action_[i]];

    const T* q = online_.forward(params, obs, obs_dim(), batch);
    T* d_out = online_.output_grad(batch);
    const T inv_batch = T(1) / T(batch);
    double loss = 0, q_sum = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T chosen = q[i * ld + actions[i]];
      const T error = chosen - targets_[i];
      const T weight = weights != nullptr ? weights[i] : T(1);
      T element_loss, d_loss;
      if (o.huber) {  // torch's smooth_l1_loss with beta = 1
        const bool quadratic = std::abs(error) < T(1);
        element_loss = quadratic ? T(0.5) * error * error : std::abs(error) - T(0.5);
        d_loss = quadratic ? error : (error > T(0) ? T(1) : T(-1));
      } else {
        element_loss = error * error;
        d_loss = T(2) * error;
      }
      loss += double(weight * element_loss);
      q_sum += double(chosen);
      d_out[i * ld + actions[i]] = weight * d_loss * inv_batch;
      td_errors[i] = std::abs(error);
    }
    std::fill(grads, grads + num_params(), T(0));
    online_.backward(params, obs, obs_dim(), batch, grads);
    clip_grad_norm(grads, num_params(), o.max_grad_norm);
    adam_step(params, grads, exp_avg, exp_avg_sq, num_params(), step, o.adam);
    return DqnStats{loss / double(batch), q_sum / double(batch)};
  }

 private:
  int64_t argmax(const T* row) const { return std::max_element(row, row + num_actions()) - row; }

  void reserve(std::ptrdiff_t batch) {
    if (batch <= capacity_) return;
    next_action_ = AlignedArray<int64_t>(std::size_t(batch));
    targets_ = AlignedArray<T>(std::size_t(batch));
    capacity_ = batch;
  }

  Mlp<T> online_, target_;
  std::ptrdiff_t capacity_ = 0;
  AlignedArray<int64_t> next_action_;
  AlignedArray<T> targets_;
};

}  // namespace turborl::nn
