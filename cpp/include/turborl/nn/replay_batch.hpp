#pragma once
// Off-policy updates that sample turborl's replay inside C++: one Python call runs k gradient
// steps, each drawing its batch from a ReplayCore (the same draws as ReplayBuffer.sample, which
// calls the same core) and, for prioritized replay, writing the new priorities back.
//
// A ReplayBatch converts one sample (fields of any numeric dtype, rewards in float32 or float64)
// into the engine's arrays: observations in T, discrete actions as int64.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/dqn.hpp"
#include "turborl/replay/replay_buffer.hpp"

namespace turborl::nn {

enum class ElementType : int { kFloat32 = 0, kFloat64 = 1, kInt64 = 2, kInt32 = 3, kUint8 = 4, kInt8 = 5, kBool = 6 };

// Where the engine's inputs live in a replay buffer's fields.
struct ReplayLayout {
  int obs_field = 0, action_field = 1;
  ElementType obs_type = ElementType::kFloat32, action_type = ElementType::kInt64;
  bool reward_is_float64 = false;
  int obs_dim = 1;
};

template <class Out>
void convert(const uint8_t* bytes, ElementType type, std::ptrdiff_t n, Out* out) {
  auto copy = [&](auto tag) {
    using In = decltype(tag);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      In value;
      std::memcpy(&value, bytes + i * std::ptrdiff_t(sizeof(In)), sizeof(In));
      out[i] = Out(value);
    }
  };
  switch (type) {
    case ElementType::kFloat32: copy(float{}); break;
    case ElementType::kFloat64: copy(double{}); break;
    case ElementType::kInt64: copy(int64_t{}); break;
    case ElementType::kInt32: copy(int32_t{}); break;
    case ElementType::kUint8: copy(uint8_t{}); break;
    case ElementType::kInt8: copy(int8_t{}); break;
    case ElementType::kBool: copy(uint8_t{}); break;
  }
}

template <class T>
class ReplayBatch {
 public:
  std::ptrdiff_t size = 0;
  AlignedArray<T> obs, next_obs, rewards, discounts, weights, td_errors;
  AlignedArray<int64_t> actions;
  AlignedArray<double> priorities;

  // Samples `batch` transitions from `core` and converts them.
  void draw(replay::ReplayCore& core, const ReplayLayout& layout, std::ptrdiff_t batch, int n_step, double gamma,
            double beta) {
    reserve(batch, layout.obs_dim);
    core.sample(batch, n_step, gamma, beta);
    replay::SampleOutputs& out = core.outputs(batch);
    const std::ptrdiff_t obs_values = batch * layout.obs_dim;
    convert(out.fields[size_t(layout.obs_field)].data(), layout.obs_type, obs_values, obs.data());
    convert(out.next_obs.data(), layout.obs_type, obs_values, next_obs.data());
    convert(out.fields[size_t(layout.action_field)].data(), layout.action_type, batch, actions.data());
    const ElementType reward_type = layout.reward_is_float64 ? ElementType::kFloat64 : ElementType::kFloat32;
    convert(out.reward.data(), reward_type, batch, rewards.data());
    convert(out.discount.data(), reward_type, batch, discounts.data());
    convert(out.weights.data(), reward_type, batch, weights.data());
    indices_ = out.indices.data();
  }
  const int64_t* indices() const { return indices_; }

 private:
  void reserve(std::ptrdiff_t batch, int obs_dim) {
    if (batch == size && std::ptrdiff_t(obs.size()) == batch * obs_dim) return;
    const std::size_t n = std::size_t(batch);
    obs = AlignedArray<T>(n * std::size_t(obs_dim));
    next_obs = AlignedArray<T>(n * std::size_t(obs_dim));
    rewards = AlignedArray<T>(n);
    discounts = AlignedArray<T>(n);
    weights = AlignedArray<T>(n);
    td_errors = AlignedArray<T>(n);
    actions = AlignedArray<int64_t>(n);
    priorities = AlignedArray<double>(n);
    size = batch;
  }
  const int64_t* indices_ = nullptr;
};

// `steps` DQN gradient steps on batches drawn from `core`; prioritized replay (when the core is)
// gets |TD error| as new priorities after each step, as turborl.algos.dqn does. Returns the mean
// loss and mean chosen Q over the steps.
template <class T>
DqnStats dqn_train_from_replay(DqnEngine<T>& engine, replay::ReplayCore& core, const ReplayLayout& layout,
                               ReplayBatch<T>& batch, T* params, const T* target_params, T* grads, T* exp_avg,
                               T* exp_avg_sq, int64_t& step, int64_t steps, std::ptrdiff_t batch_size, int n_step,
                               double gamma, double beta, bool prioritized, const DqnOptions& o) {
  DqnStats total;
  for (int64_t k = 0; k < steps; ++k) {
    batch.draw(core, layout, batch_size, n_step, gamma, beta);
    for (std::ptrdiff_t i = 0; i < batch_size; ++i)
      TURBORL_CHECK(batch.actions[std::size_t(i)] >= 0 && batch.actions[std::size_t(i)] < engine.num_actions(),
                    "a stored action (", batch.actions[std::size_t(i)], ") is outside [0, ", engine.num_actions(), ")");
    const DqnStats stats = engine.update(params, target_params, grads, exp_avg, exp_avg_sq, ++step, batch.obs.data(),
                                         batch.actions.data(), batch.rewards.data(), batch.discounts.data(),
                                         batch.next_obs.data(), prioritized ? batch.weights.data() : nullptr,
                                         batch_size, o, batch.td_errors.data());
    if (prioritized) {
      for (std::ptrdiff_t i = 0; i < batch_size; ++i)
        batch.priorities[std::size_t(i)] = double(batch.td_errors[std::size_t(i)]);
      core.update_priorities(batch.indices(), batch.priorities.data(), batch_size);
    }
    total.loss += stats.loss / double(steps);
    total.q_mean += stats.q_mean / double(steps);
  }
  return total;
}

}  // namespace turborl::nn
