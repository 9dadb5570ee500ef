#pragma once
// DQN's gradient step on the native engine (Mnih et al., 2015; double Q-learning, van Hasselt et
// al., 2016): TD targets from a target network, Huber (smooth L1, beta 1) or squared error on the
// chosen actions' Q-values, or HL-Gauss classification ("Stop Regressing", Farebrother et al.,
// 2024: each action's Q is the expectation of a softmax over bins, trained by cross-entropy against
// the target's HL-Gauss distribution), importance weights from prioritized replay, global-norm
// gradient clipping and Adam. Semantics are turborl.algos.dqn's torch backend (SB3's DQN, and
// turborl.nn.HLGauss): targets R + discount * Q_target(s', a'), discount = gamma^n, 0 after a
// termination (the n-step return R and the discount come from turborl's replay).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"

namespace turborl::nn {

struct DqnOptions {
  bool double_q = true;
  bool huber = true;  // else squared error (ignored with an HL-Gauss head)
  double max_grad_norm = 10.0;
  AdamOptions adam;
};

struct DqnStats {
  double loss = 0, q_mean = 0;
};

// An HL-Gauss value head: `bins` equal bins over [v_min, v_max], a Gaussian of std `sigma`
// (absolute units), values read at the bin centres (turborl.nn.HLGauss). bins == 1: scalar Q.
struct ValueBins {
  int bins = 1;
  double v_min = 0, v_max = 1, sigma = 1;
};

template <class T>
class DqnEngine {
 public:
  explicit DqnEngine(const MlpSpec& spec, ValueBins head = {}) : online_(spec), target_(spec), head_(head) {
    TURBORL_CHECK(head_.bins >= 1, "value bins must be >= 1, got ", head_.bins);
    TURBORL_CHECK(online_.out_features() % head_.bins == 0, "the Q-network's ", online_.out_features(),
                  " outputs are not actions x ", head_.bins, " bins");
    if (head_.bins > 1) {
      TURBORL_CHECK(head_.v_max > head_.v_min, "v_max must be greater than v_min, got ", head_.v_min, " and ",
                    head_.v_max);
      TURBORL_CHECK(head_.sigma > 0, "sigma must be > 0, got ", head_.sigma);
      const double width = (head_.v_max - head_.v_min) / head_.bins;
      for (int k = 0; k <= head_.bins; ++k) edges_.push_back(head_.v_min + width * k);
      edges_.back() = head_.v_max;
      for (int k = 0; k < head_.bins; ++k) centers_.push_back(T((edges_[k] + edges_[k + 1]) / 2));
    }
    TURBORL_CHECK(num_actions() >= 1, "the Q-network needs at least one action");
  }

  std::ptrdiff_t num_params() const { return online_.num_params(); }
  int obs_dim() const { return online_.in_features(); }
  int num_actions() const { return online_.out_features() / head_.bins; }

  // Greedy actions (argmax Q, first on ties as torch's argmax) for n observations.
  void greedy(const T* params, const T* obs, std::ptrdiff_t n, int64_t* actions) {
    reserve(n);
    const T* out = online_.forward(params, obs, obs_dim(), n);
    q_values(out, n, q_online_.data());
    for (std::ptrdiff_t i = 0; i < n; ++i) actions[i] = argmax(q_online_.data() + i * num_actions());
  }

  // One gradient step on a batch; writes |Q(s, a) - target| (new priorities) into td_errors.
  DqnStats update(T* params, const T* target_params, T* grads, T* exp_avg, T* exp_avg_sq, int64_t step,
                  const T* obs, const int64_t* actions, const T* rewards, const T* discounts, const T* next_obs,
                  const T* weights, std::ptrdiff_t batch, const DqnOptions& o, T* td_errors) {
    reserve(batch);
    const int a_count = num_actions();
    // targets: the target network evaluates the action the online network (double Q) or it picks
    q_values(target_.forward(target_params, next_obs, obs_dim(), batch), batch, q_target_.data());
    if (o.double_q) q_values(online_.forward(params, next_obs, obs_dim(), batch), batch, q_online_.data());
    const T* chooser = o.double_q ? q_online_.data() : q_target_.data();
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      targets_[i] = rewards[i] + discounts[i] * q_target_[i * a_count + argmax(chooser + i * a_count)];

    const T* out = online_.forward(params, obs, obs_dim(), batch);
    q_values(out, batch, q_online_.data());
    T* d_out = online_.output_grad(batch);
    const std::ptrdiff_t ld = online_.output_ld();
    const T inv_batch = T(1) / T(batch);
    double loss = 0, q_sum = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const int64_t a = actions[i];
      const T chosen = q_online_[i * a_count + a];
      const T error = chosen - targets_[i];
      const T weight = weights != nullptr ? weights[i] : T(1);
      q_sum += double(chosen);
      td_errors[i] = std::abs(error);
      if (head_.bins > 1) {  // cross-entropy against the target's HL-Gauss distribution
        const T* logits = out + i * ld + a * head_.bins;
        hl_gauss_probs(targets_[i], probs_.data());
        const T lse = log_sum_exp(logits, head_.bins);
        double cross_entropy = 0;
        for (int k = 0; k < head_.bins; ++k) {
          if (probs_[k] > T(0)) cross_entropy -= double(probs_[k]) * double(logits[k] - lse);
          d_out[i * ld + a * head_.bins + k] = weight * inv_batch * (std::exp(logits[k] - lse) - probs_[k]);
        }
        loss += double(weight) * cross_entropy;
        continue;
      }
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
      d_out[i * ld + a] = weight * d_loss * inv_batch;
    }
    std::fill(grads, grads + num_params(), T(0));
    online_.backward(params, obs, obs_dim(), batch, grads);
    clip_grad_norm(grads, num_params(), o.max_grad_norm);
    adam_step(params, grads, exp_avg, exp_avg_sq, num_params(), step, o.adam);
    return DqnStats{loss / double(batch), q_sum / double(batch)};
  }

 private:
  int64_t argmax(const T* row) const { return std::max_element(row, row + num_actions()) - row; }

  static T log_sum_exp(const T* x, int n) {
    const T top = *std::max_element(x, x + n);
    T sum = 0;
    for (int k = 0; k < n; ++k) sum += std::exp(x[k] - top);
    return top + std::log(sum);
  }

  // Q [n, actions] from the network's outputs: the outputs themselves, or each action's softmax
  // expectation over the bin centres.
  void q_values(const T* out, std::ptrdiff_t n, T* q) const {
    const std::ptrdiff_t ld = online_.output_ld();
    const int a_count = num_actions();
    for (std::ptrdiff_t i = 0; i < n; ++i)
      for (int a = 0; a < a_count; ++a) {
        const T* row = out + i * ld + a * head_.bins;
        if (head_.bins == 1) {
          q[i * a_count + a] = row[0];
          continue;
        }
        const T top = *std::max_element(row, row + head_.bins);
        T total = 0, weighted = 0;
        for (int k = 0; k < head_.bins; ++k) {
          const T e = std::exp(row[k] - top);
          total += e;
          weighted += e * centers_[k];
        }
        q[i * a_count + a] = weighted / total;
      }
  }

  // The HL-Gauss target distribution of y (clamped into the support), as turborl.nn.HLGauss:
  // erf differences near y, erfc differences in the tails (bins wholly above or below y).
  void hl_gauss_probs(T y, T* probs) const {
    const double clamped = std::clamp(double(y), head_.v_min, head_.v_max);
    const double scale = 1.0 / (std::sqrt(2.0) * head_.sigma);
    double total = 0;
    for (int k = 0; k < head_.bins; ++k) {
      const double a = (edges_[k] - clamped) * scale, b = (edges_[k + 1] - clamped) * scale;
      const double mass = a >= 0 ? std::erfc(a) - std::erfc(b) : (b <= 0 ? std::erfc(-b) - std::erfc(-a)
                                                                          : std::erf(b) - std::erf(a));
      mass_[k] = mass;
      total += mass;
    }
    for (int k = 0; k < head_.bins; ++k) probs[k] = T(mass_[k] / total);
  }

  void reserve(std::ptrdiff_t batch) {
    if (batch > capacity_) {
      q_online_ = AlignedArray<T>(std::size_t(batch) * std::size_t(num_actions()));
      q_target_ = AlignedArray<T>(std::size_t(batch) * std::size_t(num_actions()));
      targets_ = AlignedArray<T>(std::size_t(batch));
      capacity_ = batch;
    }
    if (probs_.size() == 0) {
      probs_ = AlignedArray<T>(std::size_t(head_.bins));
      mass_.resize(std::size_t(head_.bins));
    }
  }

  Mlp<T> online_, target_;
  ValueBins head_;
  std::vector<double> edges_;
  std::vector<T> centers_;
  std::ptrdiff_t capacity_ = 0;
  AlignedArray<T> q_online_, q_target_, targets_, probs_;
  mutable std::vector<double> mass_;
};

}  // namespace turborl::nn
