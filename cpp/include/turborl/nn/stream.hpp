#pragma once
// Streaming deep RL on the native engine ("Streaming Deep Reinforcement Learning Finally Works",
// Elsayed, Vasan & Mahmood, 2024; code mohmdelsayed/streaming-drl): the ObGD optimiser with
// eligibility traces, and a fused Stream TD(lambda) step for batch size one.
//
// ObGD, with g the gradient of the prediction (the authors' code backpropagates the negated
// prediction and subtracts; the update is the same):
//   e <- gamma * lambda * e + g
//   delta_bar = max(|delta|, 1);  M = lr * kappa * delta_bar * ||e||_1 (over all parameters)
//   theta <- theta + (lr / max(M, 1)) * delta * e;  e <- 0 after the update at an episode's end.
// AdaptiveObGD normalises the trace by a second-moment estimate first:
//   v <- beta2 * v + (1 - beta2) * (delta * e)^2;  e_hat = e / (sqrt(v / (1 - beta2^t)) + eps)
// and uses e_hat in place of e in M and in the update.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/nn/mlp.hpp"

namespace turborl::nn {

struct ObgdOptions {
  double lr = 1.0;
  double gamma_lambda = 0.99 * 0.8;
  double kappa = 2.0;
  bool adaptive = false;
  double beta2 = 0.999;
  double eps = 1e-8;
};

inline void check_obgd(const ObgdOptions& o) {
  TURBORL_CHECK(o.lr > 0 && std::isfinite(o.lr), "learning_rate must be > 0, got ", o.lr);
  TURBORL_CHECK(o.gamma_lambda >= 0 && o.gamma_lambda <= 1, "gamma * lambda must be in [0, 1], got ",
                o.gamma_lambda);
  TURBORL_CHECK(o.kappa > 0, "kappa must be > 0, got ", o.kappa);
  TURBORL_CHECK(o.beta2 >= 0 && o.beta2 < 1, "beta2 must be in [0, 1), got ", o.beta2);
}

// One ObGD step over n parameters; `step` (from 1) counts AdaptiveObGD's bias correction and
// `second_moment` is only read when adaptive. Returns the step size used, lr / max(M, 1).
// sum |x[i]| in 64 fixed lanes (vectorises; fixed order, so deterministic), combined in double.
template <class T>
double l1_norm(const T* x, std::ptrdiff_t n) {
  constexpr int kLanes = 64;
  T lanes[kLanes] = {};
  std::ptrdiff_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += std::abs(x[i + j]);
  double sum = 0;
  for (int j = 0; j < kLanes; ++j) sum += double(lanes[j]);
  for (; i < n; ++i) sum += std::abs(double(x[i]));
  return sum;
}

template <class T>
double obgd_step(T* params, const T* grads, T* traces, T* second_moment, int64_t step, std::ptrdiff_t n,
                 double delta, bool reset, const ObgdOptions& o) {
  const T gl = T(o.gamma_lambda);
  for (std::ptrdiff_t i = 0; i < n; ++i) traces[i] = gl * traces[i] + grads[i];
  const T d = T(delta);
  double trace_norm = 0;
  if (o.adaptive) {
    const T beta2 = T(o.beta2), eps = T(o.eps);
    const T bias_correction = T(1.0 - std::pow(o.beta2, double(step)));
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const T de = d * traces[i];
      second_moment[i] = beta2 * second_moment[i] + (T(1) - beta2) * de * de;
      trace_norm += std::abs(double(traces[i] / (std::sqrt(second_moment[i] / bias_correction) + eps)));
    }
  } else {
    trace_norm = l1_norm(traces, n);
  }
  const double bound = o.lr * o.kappa * std::max(std::abs(delta), 1.0) * trace_norm;
  const double step_size = o.lr / std::max(bound, 1.0);
  const T scaled = T(step_size) * d;
  if (o.adaptive) {
    const T eps = T(o.eps), bias_correction = T(1.0 - std::pow(o.beta2, double(step)));
    for (std::ptrdiff_t i = 0; i < n; ++i)
      params[i] += scaled * traces[i] / (std::sqrt(second_moment[i] / bias_correction) + eps);
  } else {
    for (std::ptrdiff_t i = 0; i < n; ++i) params[i] += scaled * traces[i];
  }
  if (reset) std::fill(traces, traces + n, T(0));
  return step_size;
}

// The TD error of a value network for one transition, r + gamma * V(s') * (1 - terminated) - V(s);
// V(s) is evaluated last, so the network's activations are those at s for output_gradient.
template <class T>
double value_td_error(Mlp<T>& value, const T* params, const T* obs, double reward, const T* next_obs,
                      bool terminated, double gamma) {
  const int dim = value.in_features();
  const double next_value = terminated ? 0.0 : double(value.forward(params, next_obs, dim, 1)[0]);
  return reward + gamma * next_value - double(value.forward(params, obs, dim, 1)[0]);
}

// grads <- d net(obs)[output] / d params, for the single observation last passed to forward.
template <class T>
void output_gradient(Mlp<T>& net, const T* params, const T* obs, int output, T* grads) {
  net.output_grad(1)[output] = T(1);
  std::fill(grads, grads + net.num_params(), T(0));
  net.backward(params, obs, net.in_features(), 1, grads);
}

// Stream TD(lambda) for one transition: delta = r + gamma * V(s') * (1 - terminated) - V(s), the
// gradient of V(s), then ObGD; traces reset when the episode ended (terminated or truncated).
template <class T>
class StreamTdEngine {
 public:
  explicit StreamTdEngine(MlpSpec spec) : value_(std::move(spec)), grads_(std::size_t(value_.num_params())) {
    TURBORL_CHECK(value_.out_features() == 1, "a value network has one output, got ", value_.out_features());
  }

  std::ptrdiff_t num_params() const { return value_.num_params(); }
  int obs_dim() const { return value_.in_features(); }

  // Returns the TD error.
  double step(T* params, T* traces, T* second_moment, int64_t step, const T* obs, double reward, const T* next_obs,
              bool terminated, bool episode_end, double gamma, const ObgdOptions& o) {
    const double delta = value_td_error(value_, params, obs, reward, next_obs, terminated, gamma);
    output_gradient(value_, params, obs, 0, grads_.data());
    obgd_step(params, grads_.data(), traces, second_moment, step, num_params(), delta, episode_end, o);
    return delta;
  }

 private:
  Mlp<T> value_;
  AlignedArray<T> grads_;
};

// Stream Q(lambda) and Stream SARSA(lambda) for one transition: delta = r + gamma * Q(s', a') *
// (1 - terminated) - Q(s, a), where a' is the greedy action (Q-learning) or the action the agent
// takes next (SARSA); the gradient of Q(s, a), then ObGD. `reset` zeroes the traces after the
// update: at an episode's end, and in Watkins's Q(lambda) after a non-greedy action (the caller
// knows which it took), as the authors' code does.
template <class T>
class StreamQEngine {
 public:
  explicit StreamQEngine(MlpSpec spec) : q_(std::move(spec)), grads_(std::size_t(q_.num_params())) {}

  std::ptrdiff_t num_params() const { return q_.num_params(); }
  int obs_dim() const { return q_.in_features(); }
  int num_actions() const { return q_.out_features(); }

  // Q(obs, .) into q [num_actions].
  void q_values(const T* params, const T* obs, T* q) {
    const T* out = q_.forward(params, obs, obs_dim(), 1);
    std::copy(out, out + num_actions(), q);
  }

  // next_action < 0: Q-learning's max over a'; else SARSA's Q(s', next_action). Returns delta.
  double step(T* params, T* traces, T* second_moment, int64_t step, const T* obs, int64_t action, double reward,
              const T* next_obs, int64_t next_action, bool terminated, bool reset, double gamma,
              const ObgdOptions& o) {
    double next_value = 0.0;
    if (!terminated) {
      const T* next_q = q_.forward(params, next_obs, obs_dim(), 1);
      next_value = next_action < 0 ? double(*std::max_element(next_q, next_q + num_actions()))
                                   : double(next_q[next_action]);
    }
    const T* q = q_.forward(params, obs, obs_dim(), 1);
    const double delta = reward + gamma * next_value - double(q[action]);
    output_gradient(q_, params, obs, int(action), grads_.data());
    obgd_step(params, grads_.data(), traces, second_moment, step, num_params(), delta, reset, o);
    return delta;
  }

 private:
  Mlp<T> q_;
  AlignedArray<T> grads_;
};

// Stream AC(lambda) for one transition, as the authors' stream_ac_{discrete,continuous}.py:
// delta = r + gamma * V(s') * (1 - terminated) - V(s); the critic takes ObGD along grad V(s)
// (kappa_value, 2 in the paper), the actor along grad log pi(a|s) + c * sign(delta) * grad H(pi(.|s))
// (kappa_policy, 3; c the entropy coefficient, 0.01). Discrete actions: the policy outputs logits.
// Continuous: it outputs [mean, pre_std] per dimension, std = softplus(pre_std) as the authors'.
template <class T>
class StreamAcEngine {
 public:
  StreamAcEngine(MlpSpec policy, MlpSpec value, bool discrete)
      : policy_(std::move(policy)), value_(std::move(value)), discrete_(discrete),
        policy_grads_(std::size_t(policy_.num_params())), value_grads_(std::size_t(value_.num_params())) {
    TURBORL_CHECK(value_.out_features() == 1, "a value network has one output, got ", value_.out_features());
    TURBORL_CHECK(policy_.in_features() == value_.in_features(), "policy and value inputs differ: ",
                  policy_.in_features(), " vs ", value_.in_features());
    TURBORL_CHECK(discrete_ || policy_.out_features() % 2 == 0,
                  "a continuous policy outputs [mean, pre_std]: an even count, got ", policy_.out_features());
  }

  std::ptrdiff_t policy_params() const { return policy_.num_params(); }
  std::ptrdiff_t value_params() const { return value_.num_params(); }
  int obs_dim() const { return policy_.in_features(); }
  int action_dim() const { return discrete_ ? 1 : policy_.out_features() / 2; }
  int num_actions() const { return discrete_ ? policy_.out_features() : 0; }
  bool discrete() const { return discrete_; }

  // Samples an action for one observation from the stream (seed, counter): discrete: the index as
  // action[0]; continuous: mean + std * noise per dimension.
  void act(const T* policy, const T* obs, uint64_t seed, uint64_t counter, T* action) {
    const T* out = policy_.forward(policy, obs, obs_dim(), 1);
    CounterRng rng(seed, uint32_t(counter), uint32_t(counter >> 32), kStreamPolicyPurpose);
    if (discrete_) {
      const int n = num_actions();
      const T top = *std::max_element(out, out + n);
      double total = 0;
      for (int j = 0; j < n; ++j) total += std::exp(double(out[j] - top));
      const double u = rng.uniform() * total;
      double cumulative = 0;
      int choice = n - 1;
      for (int j = 0; j < n; ++j) {
        cumulative += std::exp(double(out[j] - top));
        if (u < cumulative) {
          choice = j;
          break;
        }
      }
      action[0] = T(choice);
      return;
    }
    for (int j = 0; j < action_dim(); ++j) {
      const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
      const double noise = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      action[j] = out[j] + softplus(out[action_dim() + j]) * T(noise);
    }
  }

  // Returns delta.
  double step(T* policy, T* value, T* policy_traces, T* value_traces, const T* obs, const T* action, double reward,
              const T* next_obs, bool terminated, bool reset, double gamma, double entropy_coef,
              const ObgdOptions& policy_options, const ObgdOptions& value_options) {
    const double delta = value_td_error(value_, value, obs, reward, next_obs, terminated, gamma);
    output_gradient(value_, value, obs, 0, value_grads_.data());

    const T* out = policy_.forward(policy, obs, obs_dim(), 1);
    T* d_out = policy_.output_grad(1);
    const T c = T(entropy_coef * (delta > 0 ? 1.0 : (delta < 0 ? -1.0 : 0.0)));  // c * sign(delta)
    if (discrete_) {  // d/dz [log pi(a) + c H] = onehot(a) - p - c p (log p + H)
      const int n = num_actions(), a = int(action[0]);
      const T top = *std::max_element(out, out + n);
      T total = 0;
      for (int j = 0; j < n; ++j) total += std::exp(out[j] - top);
      const T lse = top + std::log(total);
      T entropy = 0;
      for (int j = 0; j < n; ++j) entropy -= std::exp(out[j] - lse) * (out[j] - lse);
      for (int j = 0; j < n; ++j) {
        const T log_p = out[j] - lse, p = std::exp(log_p);
        d_out[j] = (j == a ? T(1) : T(0)) - p - c * p * (log_p + entropy);
      }
    } else {  // per dimension: d log N / d mean, and through std = softplus(pre_std) with d H / d std = 1 / std
      for (int j = 0; j < action_dim(); ++j) {
        const T mean = out[j], pre_std = out[action_dim() + j], std = softplus(pre_std);
        const T diff = action[j] - mean;
        d_out[j] = diff / (std * std);
        const T d_std = diff * diff / (std * std * std) - T(1) / std + c / std;
        d_out[action_dim() + j] = d_std * T(1) / (T(1) + std::exp(-pre_std));  // softplus' = sigmoid
      }
    }
    std::fill(policy_grads_.data(), policy_grads_.data() + policy_params(), T(0));
    policy_.backward(policy, obs, obs_dim(), 1, policy_grads_.data());
    obgd_step(value, value_grads_.data(), value_traces, static_cast<T*>(nullptr), 1, value_params(), delta, reset,
              value_options);
    obgd_step(policy, policy_grads_.data(), policy_traces, static_cast<T*>(nullptr), 1, policy_params(), delta, reset,
              policy_options);
    return delta;
  }

 private:
  static constexpr uint32_t kStreamPolicyPurpose = static_cast<uint32_t>(StreamPurpose::kStreamPolicy);
  static T softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }

  Mlp<T> policy_, value_;
  bool discrete_;
  AlignedArray<T> policy_grads_, value_grads_;
};

}  // namespace turborl::nn
