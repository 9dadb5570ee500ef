#pragma once
// PPO (Schulman et al., 2017) on the native engine: acting for a vector env, GAE, and a whole
// update (all epochs x minibatches) in one call. Semantics are those of turborl.algos.ppo's torch
// backend, which follows CleanRL's ppo.py and SB3: clipped surrogate, optional value clipping,
// per-minibatch advantage normalisation (unbiased std + 1e-8), entropy bonus, global-norm gradient
// clipping, Adam, early stop on approximate KL after an epoch.
//
// Parameters: one flat buffer = actor MLP, critic MLP, then (continuous actions) the
// state-independent log std, the order of ActorCritic.parameters() in Python.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"

namespace turborl::nn {

inline constexpr uint32_t kPolicyStreamPurpose = static_cast<uint32_t>(StreamPurpose::kPpoPolicy);

struct PpoOptions {
  std::ptrdiff_t minibatch_size = 64;
  double clip = 0.2;
  double ent_coef = 0.0;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  bool norm_adv = true;
  bool clip_vloss = false;
  double target_kl = std::numeric_limits<double>::quiet_NaN();  // NaN: no early stop
  AdamOptions adam;
};

struct PpoStats {
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
  int64_t updates = 0;
};

// Generalised advantage estimation over [steps, envs] (Schulman et al., 2016); `dones[t]` stops
// the bootstrap after step t (a truncation's bootstrap is already in the reward).
template <class T>
void gae(const T* rewards, const T* values, const T* dones, const T* last_values, std::ptrdiff_t steps,
         std::ptrdiff_t envs, double gamma, double gae_lambda, T* advantages, T* returns) {
  const T g = T(gamma), gl = T(gamma * gae_lambda);
  for (std::ptrdiff_t e = 0; e < envs; ++e) {
    T running = 0, next_value = last_values[e];
    for (std::ptrdiff_t t = steps - 1; t >= 0; --t) {
      const std::ptrdiff_t i = t * envs + e;
      const T not_done = T(1) - dones[i];
      const T delta = rewards[i] + g * next_value * not_done - values[i];
      running = delta + gl * not_done * running;
      advantages[i] = running;
      returns[i] = running + values[i];
      next_value = values[i];
    }
  }
}

template <class T>
class PpoEngine {
 public:
  PpoEngine(MlpSpec actor, MlpSpec critic, bool discrete)
      : actor_(std::move(actor)), critic_(std::move(critic)), discrete_(discrete) {
    TURBORL_CHECK(critic_.out_features() == 1, "the critic must have one output, got ", critic_.out_features());
    TURBORL_CHECK(actor_.in_features() == critic_.in_features(), "actor and critic inputs differ: ",
                  actor_.in_features(), " vs ", critic_.in_features());
    TURBORL_CHECK(!discrete_ || actor_.out_features() >= 2, "a discrete actor needs >= 2 outputs, got ",
                  actor_.out_features());
    critic_offset_ = actor_.num_params();
    log_std_offset_ = critic_offset_ + critic_.num_params();
    num_params_ = log_std_offset_ + (discrete_ ? 0 : action_dim());
  }

  std::ptrdiff_t num_params() const { return num_params_; }
  int obs_dim() const { return actor_.in_features(); }
  int action_dim() const { return actor_.out_features(); }
  bool discrete() const { return discrete_; }

  // Samples (or, deterministic, takes the mode of) the policy for `n` observations and fills the
  // actions (discrete: index_actions; continuous: actions [n, action_dim]), their log-probabilities
  // and V(obs). Random numbers come from the stream (seed, counter): one call, one counter.
  void act(const T* params, const T* obs, std::ptrdiff_t n, uint64_t seed, uint64_t counter, bool deterministic,
           int64_t* index_actions, T* actions, T* log_probs, T* values) {
    const T* out = actor_.forward(params, obs, obs_dim(), n);
    const std::ptrdiff_t ld = actor_.output_ld();
    const int a_dim = action_dim();
    CounterRng rng(seed, uint32_t(counter), uint32_t(counter >> 32), kPolicyStreamPurpose);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const T* row = out + i * ld;
      if (discrete_) {
        const T lse = log_sum_exp(row, a_dim);
        int64_t choice = 0;
        if (deterministic) {
          choice = std::max_element(row, row + a_dim) - row;
        } else {
          const double u = rng.uniform();
          double cumulative = 0;
          choice = a_dim - 1;
          for (int j = 0; j < a_dim; ++j) {
            cumulative += std::exp(double(row[j] - lse));
            if (u < cumulative) {
              choice = j;
              break;
            }
          }
        }
        index_actions[i] = choice;
        log_probs[i] = row[choice] - lse;
      } else {
        const T* log_std = params + log_std_offset_;
        T log_prob = 0;
        for (int j = 0; j < a_dim; ++j) {
          const double noise = deterministic ? 0.0 : standard_normal(rng);
          actions[i * a_dim + j] = row[j] + T(std::exp(double(log_std[j])) * noise);
          log_prob += T(-0.5 * noise * noise) - log_std[j] - T(kHalfLog2Pi);
        }
        log_probs[i] = log_prob;
      }
    }
    value(params, obs, n, values);
  }

  void value(const T* params, const T* obs, std::ptrdiff_t n, T* values) {
    const T* v = critic_.forward(params + critic_offset_, obs, obs_dim(), n);
    for (std::ptrdiff_t i = 0; i < n; ++i) values[i] = v[i * critic_.output_ld()];
  }

  // All epochs x minibatches over a rollout of `batch` transitions. `order` holds one permutation
  // of [0, batch) per epoch; minibatches are its consecutive slices (a remainder is dropped).
  // `step` counts Adam steps (torch's state["step"]) and is advanced.
  PpoStats update(T* params, T* grads, T* exp_avg, T* exp_avg_sq, int64_t& step, const T* obs, const T* actions,
                  const T* old_log_probs, const T* old_values, const T* advantages, const T* returns,
                  std::ptrdiff_t batch, const int64_t* order, std::ptrdiff_t epochs, const PpoOptions& o) {
    const std::ptrdiff_t mb = o.minibatch_size;
    TURBORL_CHECK(mb >= 1 && mb <= batch, "minibatch_size must be in [1, ", batch, "], got ", mb);
    reserve_minibatch(mb);
    PpoStats stats;
    const int a_width = discrete_ ? 1 : action_dim();
    for (std::ptrdiff_t epoch = 0; epoch < epochs; ++epoch) {
      double approx_kl = 0;
      const int64_t* epoch_order = order + epoch * batch;
      for (std::ptrdiff_t start = 0; start + mb <= batch; start += mb) {
        for (std::ptrdiff_t k = 0; k < mb; ++k) {
          const int64_t i = epoch_order[start + k];
          std::copy(obs + i * obs_dim(), obs + (i + 1) * obs_dim(), mb_obs_.data() + k * obs_dim());
          std::copy(actions + i * a_width, actions + (i + 1) * a_width, mb_actions_.data() + k * a_width);
          mb_old_log_probs_[k] = old_log_probs[i];
          mb_old_values_[k] = old_values[i];
          mb_advantages_[k] = advantages[i];
          mb_returns_[k] = returns[i];
        }
        approx_kl = minibatch_step(params, grads, exp_avg, exp_avg_sq, ++step, mb, o, stats);
      }
      if (!std::isnan(o.target_kl) && approx_kl > o.target_kl) break;
    }
    return stats;
  }

 private:
  static constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 * log(2 pi)

  static T log_sum_exp(const T* x, int n) {
    const T top = *std::max_element(x, x + n);
    T sum = 0;
    for (int j = 0; j < n; ++j) sum += std::exp(x[j] - top);
    return top + std::log(sum);
  }

  static double standard_normal(CounterRng& rng) {  // Box-Muller, one value per pair of uniforms
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  void reserve_minibatch(std::ptrdiff_t mb) {
    if (mb <= mb_capacity_) return;
    mb_obs_ = AlignedArray<T>(std::size_t(mb) * obs_dim());
    mb_actions_ = AlignedArray<T>(std::size_t(mb) * (discrete_ ? 1 : action_dim()));
    for (AlignedArray<T>* a : {&mb_old_log_probs_, &mb_old_values_, &mb_advantages_, &mb_returns_})
      *a = AlignedArray<T>(std::size_t(mb));
    mb_capacity_ = mb;
  }

  // d max(a, b) / d(a, b) as torch's maximum: the larger side, half each on ties.
  static void max_grad(T a, T b, T& da, T& db) {
    da = a > b ? T(1) : (a < b ? T(0) : T(0.5));
    db = T(1) - da;
  }

  // One gradient step on the gathered minibatch; returns its approximate KL.
  double minibatch_step(T* params, T* grads, T* exp_avg, T* exp_avg_sq, int64_t step, std::ptrdiff_t mb,
                        const PpoOptions& o, PpoStats& stats) {
    const T* out = actor_.forward(params, mb_obs_.data(), obs_dim(), mb);
    const T* v_out = critic_.forward(params + critic_offset_, mb_obs_.data(), obs_dim(), mb);
    const std::ptrdiff_t ld = actor_.output_ld(), v_ld = critic_.output_ld();
    T* d_out = actor_.output_grad(mb);
    T* d_value = critic_.output_grad(mb);
    std::fill(grads, grads + num_params_, T(0));

    T adv_mean = 0, adv_scale = 1;
    if (o.norm_adv && mb > 1) {
      double sum = 0, sq = 0;
      for (std::ptrdiff_t k = 0; k < mb; ++k) sum += double(mb_advantages_[k]);
      const double mean = sum / double(mb);
      for (std::ptrdiff_t k = 0; k < mb; ++k) sq += (double(mb_advantages_[k]) - mean) * (double(mb_advantages_[k]) - mean);
      adv_mean = T(mean);
      adv_scale = T(1) / (T(std::sqrt(sq / double(mb - 1))) + T(1e-8));
    }
    const T clip = T(o.clip), inv_mb = T(1) / T(mb), ent_coef = T(o.ent_coef), vf_coef = T(o.vf_coef);
    const int a_dim = action_dim();
    const T* log_std = params + log_std_offset_;
    T* grad_log_std = grads + log_std_offset_;
    double policy_loss = 0, value_loss = 0, entropy_sum = 0, kl = 0, clipped = 0;
    for (std::ptrdiff_t k = 0; k < mb; ++k) {
      const T* row = out + k * ld;
      T* d_row = d_out + k * ld;
      // log-probability and entropy of the stored action under the current policy
      T log_prob = 0, entropy = 0, lse = 0;
      if (discrete_) {
        lse = log_sum_exp(row, a_dim);
        const int64_t a = int64_t(mb_actions_[k]);
        log_prob = row[a] - lse;
        for (int j = 0; j < a_dim; ++j) {
          const T lp = row[j] - lse;
          entropy -= std::exp(lp) * lp;
        }
      } else {
        for (int j = 0; j < a_dim; ++j) {
          const T z = (mb_actions_[k * a_dim + j] - row[j]) * std::exp(-log_std[j]);
          log_prob += T(-0.5) * z * z - log_std[j] - T(kHalfLog2Pi);
          entropy += T(0.5 + kHalfLog2Pi) + log_std[j];
        }
      }
      const T log_ratio = log_prob - mb_old_log_probs_[k];
      const T ratio = std::exp(log_ratio);
      const T advantage = (mb_advantages_[k] - adv_mean) * adv_scale;
      const T clamped = std::min(std::max(ratio, T(1) - clip), T(1) + clip);
      const T unclipped_loss = -advantage * ratio, clipped_loss = -advantage * clamped;
      T w_unclipped, w_clipped;
      max_grad(unclipped_loss, clipped_loss, w_unclipped, w_clipped);
      const bool inside = ratio >= T(1) - clip && ratio <= T(1) + clip;
      const T d_ratio = -advantage * (w_unclipped + (inside ? w_clipped : T(0)));
      const T d_log_prob = d_ratio * ratio * inv_mb;
      policy_loss += double(std::max(unclipped_loss, clipped_loss));
      entropy_sum += double(entropy);
      kl += double((ratio - T(1)) - log_ratio);
      clipped += std::abs(double(ratio) - 1.0) > double(clip) ? 1.0 : 0.0;
      // gradients of policy_loss - ent_coef * mean(entropy) with respect to the actor's outputs
      if (discrete_) {
        const int64_t a = int64_t(mb_actions_[k]);
        for (int j = 0; j < a_dim; ++j) {
          const T lp = row[j] - lse, p = std::exp(lp);
          const T d_entropy = -p * (lp + entropy);
          d_row[j] = d_log_prob * ((j == a ? T(1) : T(0)) - p) - ent_coef * inv_mb * d_entropy;
        }
      } else {
        for (int j = 0; j < a_dim; ++j) {
          const T inv_std = std::exp(-log_std[j]);
          const T z = (mb_actions_[k * a_dim + j] - row[j]) * inv_std;
          d_row[j] = d_log_prob * z * inv_std;
          grad_log_std[j] += d_log_prob * (z * z - T(1));
        }
      }
      // value loss: SB3's mean squared error, optionally clipped around the old value
      const T v = v_out[k * v_ld], target = mb_returns_[k];
      T d_v;
      if (!o.clip_vloss) {
        value_loss += double((v - target) * (v - target));
        d_v = T(2) * (v - target);
      } else {
        const T old = mb_old_values_[k];
        const T delta = std::min(std::max(v - old, -clip), clip);
        const T vc = old + delta;
        const T l_plain = (v - target) * (v - target), l_clipped = (vc - target) * (vc - target);
        T w_plain, w_clipped;
        max_grad(l_plain, l_clipped, w_plain, w_clipped);
        const bool passes = v - old >= -clip && v - old <= clip;
        value_loss += double(std::max(l_plain, l_clipped));
        d_v = w_plain * T(2) * (v - target) + (passes ? w_clipped * T(2) * (vc - target) : T(0));
      }
      d_value[k * v_ld] = vf_coef * d_v * inv_mb;
    }
    if (!discrete_)
      for (int j = 0; j < a_dim; ++j) grad_log_std[j] -= ent_coef;  // d(-ent_coef * mean entropy)/d log_std
    actor_.backward(params, mb_obs_.data(), obs_dim(), mb, grads);
    critic_.backward(params + critic_offset_, mb_obs_.data(), obs_dim(), mb, grads + critic_offset_);
    clip_grad_norm(grads, num_params_, o.max_grad_norm);
    adam_step(params, grads, exp_avg, exp_avg_sq, num_params_, step, o.adam);

    const double n = double(mb);
    stats.policy_loss += policy_loss / n;
    stats.value_loss += value_loss / n;
    stats.entropy += entropy_sum / n;
    stats.approx_kl += kl / n;
    stats.clip_fraction += clipped / n;
    stats.updates += 1;
    return kl / n;
  }

  Mlp<T> actor_, critic_;
  bool discrete_;
  std::ptrdiff_t critic_offset_ = 0, log_std_offset_ = 0, num_params_ = 0;
  std::ptrdiff_t mb_capacity_ = 0;
  AlignedArray<T> mb_obs_, mb_actions_, mb_old_log_probs_, mb_old_values_, mb_advantages_, mb_returns_;
};

}  // namespace turborl::nn
