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
// action history, the critics the true state): critic input = critic obs + action. The smoothing
// noise comes from the caller (standard normal [batch, action_dim]), so that a test can feed torch
// the same numbers.
//
// Threads: the update runs in two lanes, on two threads when num_threads >= 2. Each critic's work
// (its target Q-values, forward, backward and Adam step) has a lane; the target actor and the actor
// step split the batch into two fixed halves (per-row work; the actor's two half-batch gradients
// are added in order). Every lane does the same arithmetic on either thread, so results never
// depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
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
  Td3Engine(MlpSpec actor, MlpSpec critic, int num_threads = 1)
      : lanes_{Lane(actor, critic), Lane(actor, critic)},
        actor_weights_(std::size_t(lanes_[0].actor.num_params())),
        critic_weights_(std::size_t(2 * lanes_[0].critic.num_params())),
        pool_(std::clamp(num_threads, 1, 2), kIdleSpin) {
    TURBORL_CHECK(num_threads >= 1, "num_threads must be >= 1, got ", num_threads);
    const Mlp<T>& a = lanes_[0].actor;
    const Mlp<T>& c = lanes_[0].critic;
    a.weight_mask(actor_weights_.data());
    c.weight_mask(critic_weights_.data());  // Q1, then the same layout for Q2
    c.weight_mask(critic_weights_.data() + c.num_params());
    TURBORL_CHECK(a.spec().output_activation == Activation::kTanh, "the TD3 actor must end in tanh");
    TURBORL_CHECK(c.out_features() == 1, "a TD3 critic has one output, got ", c.out_features());
    TURBORL_CHECK(c.in_features() > a.out_features(), "the critic takes critic obs + action: more than ",
                  a.out_features(), " inputs, got ", c.in_features());
  }

  std::ptrdiff_t actor_params() const { return lanes_[0].actor.num_params(); }
  std::ptrdiff_t critic_params() const { return 2 * lanes_[0].critic.num_params(); }  // Q1 then Q2
  int obs_dim() const { return lanes_[0].actor.in_features(); }
  int action_dim() const { return lanes_[0].actor.out_features(); }
  int critic_obs_dim() const { return lanes_[0].critic.in_features() - action_dim(); }
  int num_threads() const { return pool_.num_threads(); }

  // mu(obs) for n observations into actions [n, action_dim].
  void act(const T* actor, const T* obs, std::ptrdiff_t n, T* actions) {
    Mlp<T>& net = lanes_[0].actor;
    const T* out = net.forward(actor, obs, obs_dim(), n);
    for (std::ptrdiff_t i = 0; i < n; ++i)
      std::copy(out + i * net.output_ld(), out + i * net.output_ld() + action_dim(), actions + i * action_dim());
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
    const std::ptrdiff_t c = lanes_[0].critic.num_params();
    AdamOptions actor_adam = o.actor_adam;
    if (!o.decay_biases) actor_adam.decay_mask = actor_weights_.data();
    const int64_t step = ++critic_step;
    // Critic k's step: its gradient on its lane's input and targets, then Adam on its half of the
    // flat buffers (Adam is elementwise: two halves are one step).
    auto step_critic = [&](int k, const Lane& data) {
      Lane& lane = lanes_[k];
      T* grads = critic_grads + k * c;
      std::fill(grads, grads + c, T(0));
      lane.loss = critic_gradient(lane, critic + k * c, data, batch, grads);
      AdamOptions adam = o.critic_adam;
      if (!o.decay_biases) adam.decay_mask = critic_weights_.data() + k * c;
      adam_step(critic + k * c, grads, critic_exp_avg + k * c, critic_exp_avg_sq + k * c, c, step, adam);
    };
    if (critic2_batch == critic1_batch) {
      // One batch: the target actor runs once (half the rows per lane), each critic's target
      // Q-values in its lane, then both critics regress the same targets.
      Lane& shared = lanes_[0];
      for_each_lane([&](int k) {  // the target actor's rows, half per lane (a forward pass is per row)
        const Rows rows = half_of(batch, k);
        target_input(lanes_[k], shared.next_input.data(), target_actor, critic1_batch, rows.begin, rows.count, o);
      });
      fill_critic_input(shared, critic1_batch, batch);
      for_each_lane([&](int k) { target_q(lanes_[k], target_critic + k * c, shared.next_input.data(), batch); });
      combine_targets(shared, lanes_[0].q_next.data(), lanes_[1].q_next.data(), critic1_batch, batch);
      for_each_lane([&](int k) { step_critic(k, shared); });
    } else {
      const Td3Batch<T>* batches[2] = {&critic1_batch, &critic2_batch};
      for_each_lane([&](int k) {
        Lane& lane = lanes_[k];
        target_input(lane, lane.next_input.data(), target_actor, *batches[k], 0, batch, o);
        target_q(lane, target_critic, lane.next_input.data(), batch);
        std::copy(lane.q_next.data(), lane.q_next.data() + batch, lane.q_next_other.data());
        target_q(lane, target_critic + c, lane.next_input.data(), batch);
        combine_targets(lane, lane.q_next_other.data(), lane.q_next.data(), *batches[k], batch);
        fill_critic_input(lane, *batches[k], batch);
        step_critic(k, lane);
      });
    }
    Td3Stats stats;
    stats.critic_loss = lanes_[0].loss + lanes_[1].loss;  // CleanRL sums the two critics' losses
    stats.q1_mean = lanes_[0].q_mean;
    if (!update_actor) return stats;

    // actor: minimise -mean Q1(s, mu(s)) through the updated critic. All of it but the parameter
    // gradient is per row, so the batch splits into two fixed halves, one per lane; each lane sums
    // its half's gradient and the two are added in order, the same on one thread or two.
    for_each_lane([&](int k) { actor_gradient(lanes_[k], actor, critic, actor_batch, half_of(batch, k), batch); });
    double q_sum = 0;
    for (int k = 0; k < 2; ++k)
      for (std::ptrdiff_t i = 0; i < half_of(batch, k).count; ++i) q_sum += double(lanes_[k].q_actor[i]);
    stats.actor_loss = -q_sum / double(batch);
    for (std::ptrdiff_t i = 0; i < actor_params(); ++i) actor_grads[i] = lanes_[0].actor_grads[i] + lanes_[1].actor_grads[i];
    adam_step(actor, actor_grads, actor_exp_avg, actor_exp_avg_sq, actor_params(), ++actor_step, actor_adam);
    polyak_update(actor, target_actor, actor_params(), o.tau);
    polyak_update(critic, target_critic, 2 * c, o.tau);
    return stats;
  }

 private:
  // One thread's networks and buffers: each critic's step runs in its own lane.
  struct Lane {
    Lane(const MlpSpec& actor_spec, const MlpSpec& critic_spec)
        : actor(actor_spec), critic(critic_spec), actor_grads(std::size_t(actor.num_params())) {}
    Mlp<T> actor, critic;  // workspaces: the parameters come with each call
    AlignedArray<T> input, next_input, targets, q_next, q_next_other;
    AlignedArray<T> q_actor, d_input, actor_grads;  // the actor step's half batch
    double loss = 0, q_mean = 0;
  };

  struct Rows {
    std::ptrdiff_t begin, count;
  };
  // Lane k's rows of a batch split in two fixed halves (the split never depends on the threads).
  static Rows half_of(std::ptrdiff_t batch, int k) {
    const std::ptrdiff_t first = (batch + 1) / 2;
    return k == 0 ? Rows{0, first} : Rows{first, batch - first};
  }

  // Workers spin between the two parallel phases of an update, and between updates in a burst
  // (train_from_replay), instead of sleeping through the serial work in between (~0.1 ms).
  static constexpr std::chrono::microseconds kIdleSpin{500};

  // body(0) and body(1), on two threads when the pool has them.
  template <class Body>
  void for_each_lane(Body&& body) {
    pool_.run_chunks(2, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) body(int(k));
    });
  }

  // next_input rows [begin, begin + count) = [next critic obs, clip(mu'(s') + clip(sigma * noise,
  // -c, c), -1, 1)], with the target actor in lane's workspace.
  void target_input(Lane& lane, T* next_input, const T* target_actor, const Td3Batch<T>& b, std::ptrdiff_t begin,
                    std::ptrdiff_t count, const Td3Options& o) {
    if (count == 0) return;
    const int a_dim = action_dim(), o_dim = obs_dim(), c_dim = critic_obs_dim(), width = c_dim + a_dim;
    const T* next_critic_obs = b.next_critic_obs != nullptr ? b.next_critic_obs : b.next_obs;  // symmetric
    const T* next_mu = lane.actor.forward(target_actor, b.next_obs + begin * o_dim, o_dim, count);
    for (std::ptrdiff_t r = 0; r < count; ++r) {
      const std::ptrdiff_t i = begin + r;
      T* row = next_input + i * width;
      std::copy(next_critic_obs + i * c_dim, next_critic_obs + (i + 1) * c_dim, row);
      for (int j = 0; j < a_dim; ++j) {
        const T smoothing = std::clamp(T(o.policy_noise) * b.noise[i * a_dim + j], T(-o.noise_clip), T(o.noise_clip));
        row[c_dim + j] = std::clamp(next_mu[r * lane.actor.output_ld() + j] + smoothing, T(-1), T(1));
      }
    }
  }

  // The actor's gradient -d mean Q1(s, mu(s)) / d theta over `rows` of the batch (the mean over all
  // `batch` rows) into lane.actor_grads, with Q1(s, mu(s)) of those rows in lane.q_actor.
  void actor_gradient(Lane& lane, const T* actor, const T* critic, const Td3Batch<T>& b, Rows rows,
                      std::ptrdiff_t batch) {
    std::fill(lane.actor_grads.data(), lane.actor_grads.data() + actor_params(), T(0));
    if (rows.count == 0) return;
    const int a_dim = action_dim(), o_dim = obs_dim(), c_dim = critic_obs_dim(), width = c_dim + a_dim;
    const T* obs = b.obs + rows.begin * o_dim;
    const T* critic_obs = (b.critic_obs != nullptr ? b.critic_obs : b.obs) + rows.begin * c_dim;
    Mlp<T>& pi = lane.actor;
    Mlp<T>& q1 = lane.critic;
    const T* mu = pi.forward(actor, obs, o_dim, rows.count);
    for (std::ptrdiff_t i = 0; i < rows.count; ++i) {
      T* row = lane.input.data() + i * width;
      std::copy(critic_obs + i * c_dim, critic_obs + (i + 1) * c_dim, row);
      std::copy(mu + i * pi.output_ld(), mu + i * pi.output_ld() + a_dim, row + c_dim);
    }
    const T* q = q1.forward(critic, lane.input.data(), width, rows.count);
    T* d_q = q1.output_grad(rows.count);
    for (std::ptrdiff_t i = 0; i < rows.count; ++i) {
      lane.q_actor[i] = q[i * q1.output_ld()];
      d_q[i * q1.output_ld()] = T(-1) / T(batch);
    }
    q1.backward(critic, lane.input.data(), width, rows.count, nullptr, lane.d_input.data());
    T* d_mu = pi.output_grad(rows.count);
    for (std::ptrdiff_t i = 0; i < rows.count; ++i)
      for (int j = 0; j < a_dim; ++j) d_mu[i * pi.output_ld() + j] = lane.d_input[i * q1.input_ld() + c_dim + j];
    pi.backward(actor, obs, o_dim, rows.count, lane.actor_grads.data());
  }

  // lane.q_next = Q'(next_input) for one target critic.
  void target_q(Lane& lane, const T* target_critic, const T* next_input, std::ptrdiff_t batch) {
    const T* q = lane.critic.forward(target_critic, next_input, critic_obs_dim() + action_dim(), batch);
    for (std::ptrdiff_t i = 0; i < batch; ++i) lane.q_next[i] = q[i * lane.critic.output_ld()];
  }

  // lane.targets = r + discount * min(Q1', Q2').
  static void combine_targets(Lane& lane, const T* q1_next, const T* q2_next, const Td3Batch<T>& b,
                              std::ptrdiff_t batch) {
    for (std::ptrdiff_t i = 0; i < batch; ++i)
      lane.targets[i] = b.rewards[i] + b.discounts[i] * std::min(q1_next[i], q2_next[i]);
  }

  // lane.input rows = [critic obs, action] of a batch.
  void fill_critic_input(Lane& lane, const Td3Batch<T>& b, std::ptrdiff_t batch) {
    const int a_dim = action_dim(), c_dim = critic_obs_dim(), width = c_dim + a_dim;
    const T* critic_obs = b.critic_obs != nullptr ? b.critic_obs : b.obs;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      std::copy(critic_obs + i * c_dim, critic_obs + (i + 1) * c_dim, lane.input.data() + i * width);
      std::copy(b.actions + i * a_dim, b.actions + (i + 1) * a_dim, lane.input.data() + i * width + c_dim);
    }
  }

  // Mean squared error of one critic (in `lane`'s workspace) on data.input against data.targets,
  // with its gradient into grads; returns the loss and sets lane.q_mean.
  double critic_gradient(Lane& lane, const T* params, const Lane& data, std::ptrdiff_t batch, T* grads) {
    const int width = critic_obs_dim() + action_dim();
    Mlp<T>& net = lane.critic;
    const T* q = net.forward(params, data.input.data(), width, batch);
    T* d_q = net.output_grad(batch);
    double loss = 0, q_sum = 0;
    for (std::ptrdiff_t i = 0; i < batch; ++i) {
      const T error = q[i * net.output_ld()] - data.targets[i];
      loss += double(error) * double(error);
      q_sum += double(q[i * net.output_ld()]);
      d_q[i * net.output_ld()] = T(2) * error / T(batch);
    }
    lane.q_mean = q_sum / double(batch);
    net.backward(params, data.input.data(), width, batch, grads);
    return loss / double(batch);
  }

  void reserve(std::ptrdiff_t batch) {
    if (batch <= capacity_) return;
    const std::size_t n = std::size_t(batch), width = std::size_t(lanes_[0].critic.in_features());
    for (Lane& lane : lanes_) {
      lane.input = AlignedArray<T>(n * width);
      lane.next_input = AlignedArray<T>(n * width);
      lane.targets = AlignedArray<T>(n);
      lane.q_next = AlignedArray<T>(n);
      lane.q_next_other = AlignedArray<T>(n);
      lane.q_actor = AlignedArray<T>(n);
      lane.d_input = AlignedArray<T>(n * std::size_t(lane.critic.input_ld()));
      lane.actor.reserve(batch);  // before the threads start: Mlp grows its workspaces on first use
      lane.critic.reserve(batch);
    }
    capacity_ = batch;
  }

  Lane lanes_[2];
  AlignedArray<uint8_t> actor_weights_, critic_weights_;  // weight-decay masks: 1 on weights, 0 on biases
  std::ptrdiff_t capacity_ = 0;
  ThreadPool pool_;
};

}  // namespace turborl::nn
