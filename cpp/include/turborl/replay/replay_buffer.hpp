#pragma once
// The replay buffer core: ring storage of vector-env steps, which rows are transitions, uniform
// and proportional prioritized sampling, n-step targets, and priority updates. Python wraps it in
// turborl.replay.ReplayBuffer / PrioritizedReplayBuffer.
//
// Rows and transitions. Row u (absolute time, counting every added step) holds what env e
// produced at step u: obs, action, reward, terminated, truncated and any extra fields. Without a
// `next_obs` field, the transition starting at row u takes its next observation from row u + 1.
// With Gymnasium's next_step autoreset the row after an episode's last step is the autoreset step:
// its obs is the episode's true final observation (so a truncated episode bootstraps from it) and
// it is itself no transition (the env only reset). Such rows are marked when written and never
// sampled, and nothing is stored twice. With a `next_obs` field (any autoreset mode, e.g.
// same_step with info["final_obs"]) each row carries its own next observation.
//
// Thread safety: every public method takes one mutex, so concurrent adds and samples behave as
// some serial order of the calls.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/replay/nstep.hpp"
#include "turborl/replay/storage.hpp"
#include "turborl/replay/sum_tree.hpp"

namespace turborl::replay {

struct FieldRoles {
  int obs = -1, reward = -1, terminated = -1, truncated = -1;
  int next_obs = -1;              // -1: next observations come from the following row
  bool reward_is_float64 = false;  // else float32
};

struct PriorityConfig {
  bool enabled = false;
  double alpha = 0.6;  // priority exponent
  double eps = 1e-6;   // added to every priority so that no transition starves
};

// Output buffers of one batch size; their addresses never change once created.
struct SampleOutputs {
  std::vector<AlignedArray<uint8_t>> fields;  // one per stored field, [batch][item]
  AlignedArray<uint8_t> next_obs;             // [batch][obs item]
  AlignedArray<uint8_t> reward;               // n-step return, the reward field's dtype
  AlignedArray<uint8_t> discount;             // gamma^k or 0, the reward field's dtype
  AlignedArray<uint8_t> weights;              // importance weights, the reward field's dtype
  AlignedArray<int64_t> indices;              // slots, for update_priorities
};

class ReplayCore {
 public:
  static constexpr uint32_t kSampleStream = static_cast<uint32_t>(StreamPurpose::kReplaySample);

  ReplayCore(int64_t time_capacity, int64_t num_envs, const std::vector<int64_t>& item_bytes, FieldRoles roles,
             bool same_step, uint64_t seed, PriorityConfig priority)
      : storage_(time_capacity, num_envs, item_bytes),
        roles_(roles),
        same_step_(same_step),
        seed_(seed),
        priority_(priority),
        autoreset_(size_t(time_capacity * num_envs)),
        sampleable_(size_t(time_capacity * num_envs)),
        last_done_(size_t(num_envs)),
        tree_(priority.enabled ? time_capacity * num_envs : 1),
        leaf_indices_(size_t(2 * num_envs)),
        leaf_values_(size_t(2 * num_envs)),
        tree_scratch_(size_t(2 * num_envs)) {
    const int num_fields = int(item_bytes.size());
    for (int role : {roles.obs, roles.reward, roles.terminated, roles.truncated}) {
      TURBORL_CHECK(role >= 0 && role < num_fields, "field roles must name stored fields");
    }
    TURBORL_CHECK(roles.next_obs < num_fields, "field roles must name stored fields");
    TURBORL_CHECK(item_bytes[roles.reward] == (roles.reward_is_float64 ? 8 : 4), "reward must be one float per env");
    TURBORL_CHECK(item_bytes[roles.terminated] == 1 && item_bytes[roles.truncated] == 1,
                  "terminated and truncated must be one bool per env");
    TURBORL_CHECK(!same_step || roles.next_obs >= 0,
                  "autoreset_mode='same_step' needs a 'next_obs' field: the row after an episode's end holds the "
                  "next episode's first observation");
    TURBORL_CHECK(roles.next_obs >= 0 || time_capacity >= 2, "capacity must hold at least 2 steps of every env (",
                  2 * num_envs, " transitions) when next observations come from the following row, got ",
                  time_capacity * num_envs);
    if (priority.enabled) {
      TURBORL_CHECK(priority.alpha >= 0.0 && std::isfinite(priority.alpha), "alpha must be >= 0, got ", priority.alpha);
      TURBORL_CHECK(priority.eps >= 0.0 && std::isfinite(priority.eps), "eps must be >= 0, got ", priority.eps);
      max_leaf_value_ = leaf_value(max_priority_);
    }
  }

  // ---- facts ------------------------------------------------------------------------------------
  int64_t time_capacity() const { return storage_.time_capacity(); }
  int64_t num_envs() const { return storage_.num_envs(); }
  int64_t num_slots() const { return storage_.num_slots(); }
  int num_fields() const { return storage_.num_fields(); }
  int64_t item_bytes(int field) const { return storage_.item_bytes(field); }
  uint64_t rows_written() const { return rows_written_; }
  int64_t stored_rows() const { return int64_t(std::min<uint64_t>(rows_written_, uint64_t(time_capacity()))); }
  int64_t num_sampleable() const { return num_sampleable_; }
  uint64_t seed() const { return seed_; }
  uint64_t sample_calls() const { return sample_calls_; }
  double max_priority() const { return max_priority_; }
  bool prioritized() const { return priority_.enabled; }
  const FieldRoles& roles() const { return roles_; }

  // ---- adding -----------------------------------------------------------------------------------

  // Appends `rows` steps; fields[f] holds rows * num_envs items of field f, row after row.
  void add(const std::vector<const uint8_t*>& fields, int64_t rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t n = num_envs();
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t u = int64_t(rows_written_);
      const int64_t time_slot = u % time_capacity();
      int64_t changed = 0;
      if (u >= time_capacity()) {  // this row overwrites row u - time_capacity
        for (int64_t e = 0; e < n; ++e) changed += mark_unsampleable(time_slot * n + e, changed);
      }
      for (int f = 0; f < storage_.num_fields(); ++f) {
        storage_.write_row(f, time_slot, fields[f] + size_t(r) * size_t(n) * size_t(storage_.item_bytes(f)));
      }
      const uint8_t* terminated = storage_.item(roles_.terminated, time_slot * n);
      const uint8_t* truncated = storage_.item(roles_.truncated, time_slot * n);
      for (int64_t e = 0; e < n; ++e) {
        const int64_t slot = time_slot * n + e;
        autoreset_[size_t(slot)] = same_step_ ? 0 : last_done_[size_t(e)];
        last_done_[size_t(e)] = uint8_t((terminated[e] != 0) | (truncated[e] != 0));
        if (roles_.next_obs >= 0) {
          if (!autoreset_[size_t(slot)]) changed += mark_sampleable(slot, changed);
        } else if (u >= 1) {
          // Row u - 1 now has its next observation: it becomes a transition unless it only reset.
          const int64_t previous = ((u - 1) % time_capacity()) * n + e;
          if (!autoreset_[size_t(previous)]) changed += mark_sampleable(previous, changed);
        }
      }
      if (priority_.enabled && changed > 0) {
        tree_.set(leaf_indices_.data(), leaf_values_.data(), changed, tree_scratch_.data());
      }
      rows_written_ += 1;
    }
  }

  // ---- sampling -----------------------------------------------------------------------------------

  SampleOutputs& outputs(int64_t batch_size) {
    std::lock_guard<std::mutex> lock(mutex_);
    return outputs_for(batch_size);
  }

  // Samples `batch_size` transitions into outputs(batch_size). beta is used when prioritized.
  void sample(int64_t batch_size, int n_step, double gamma, double beta) {
    std::lock_guard<std::mutex> lock(mutex_);
    TURBORL_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
    TURBORL_CHECK(n_step >= 1, "n_step must be >= 1, got ", n_step);
    TURBORL_CHECK(gamma >= 0.0 && gamma <= 1.0, "gamma must be in [0, 1], got ", gamma);
    TURBORL_CHECK(!priority_.enabled || (beta >= 0.0 && std::isfinite(beta)), "beta must be >= 0, got ", beta);
    TURBORL_CHECK(num_sampleable_ > 0, "the buffer holds no complete transition yet: add more steps before sampling");
    TURBORL_CHECK(batch_size <= num_sampleable_, "batch_size (", batch_size,
                  ") is larger than the number of stored transitions (", num_sampleable_, ")");
    SampleOutputs& out = outputs_for(batch_size);
    CounterRng rng(seed_, uint32_t(sample_calls_), uint32_t(sample_calls_ >> 32), kSampleStream);
    sample_calls_ += 1;
    last_sample_rows_ = rows_written_;

    int64_t* slots = out.indices.data();
    if (priority_.enabled) {
      choose_prioritized(rng, batch_size, slots);
    } else {
      choose_uniform(rng, batch_size, slots);
    }
    gather(out, batch_size, n_step, gamma);
    if (priority_.enabled) write_weights(out, batch_size, beta);
  }

  // Sets the priorities of sampled slots. Slots written since the last sample(), and slots that
  // are not (or no longer) transitions, are left alone (cpprb's check_for_update). With repeated
  // indices the last priority wins.
  void update_priorities(const int64_t* indices, const double* priorities, int64_t n) {
    std::lock_guard<std::mutex> lock(mutex_);
    TURBORL_CHECK_STATE(priority_.enabled, "update_priorities needs a PrioritizedReplayBuffer");
    for (int64_t j = 0; j < n; ++j) {
      TURBORL_CHECK_INDEX(indices[j] >= 0 && indices[j] < num_slots(), "indices[", j, "] = ", indices[j],
                          " is outside [0, ", num_slots(), ")");
      TURBORL_CHECK(std::isfinite(priorities[j]) && priorities[j] >= 0.0, "priorities[", j, "] = ", priorities[j],
                    " must be a finite number >= 0");
    }
    update_indices_.clear();
    update_values_.clear();
    for (int64_t j = 0; j < n; ++j) {
      const int64_t slot = indices[j];
      // A positive leaf means "is a transition" and lies on a line set() touches anyway; only a
      // zero leaf (priority 0 with eps 0) needs the flag array, a likely cache miss.
      const bool transition = tree_.leaf(slot) > 0.0 || sampleable_[size_t(slot)];
      if (!transition || row_time(slot / num_envs()) >= int64_t(last_sample_rows_)) continue;
      update_indices_.push_back(slot);
      update_values_.push_back(leaf_value(priorities[j]));
      if (priorities[j] > max_priority_) {
        max_priority_ = priorities[j];
        max_leaf_value_ = leaf_value(max_priority_);
      }
    }
    update_scratch_.resize(update_indices_.size());
    tree_.set(update_indices_.data(), update_values_.data(), int64_t(update_indices_.size()), update_scratch_.data());
  }

  // ---- persistence ----------------------------------------------------------------------------------
  // Python saves and restores the storage through these views while holding lock().

  void lock() { mutex_.lock(); }
  void unlock() { mutex_.unlock(); }
  uint8_t* field_data(int field) { return storage_.field_data(field); }
  uint8_t* autoreset_flags() { return autoreset_.data(); }
  uint8_t* sampleable_flags() { return sampleable_.data(); }
  uint8_t* last_done() { return last_done_.data(); }
  // Priority leaves p^alpha in slot order (num_slots values).
  void copy_priority_leaves(double* out) const {
    std::vector<double> all(size_t(tree_.num_leaves()));
    tree_.copy_leaves(all.data());
    std::copy_n(all.data(), num_slots(), out);
  }

  // After the views were filled from a file: the counters, and the tree from its leaves.
  void restore(uint64_t rows_written, uint64_t sample_calls, uint64_t last_sample_rows, double max_priority,
               const double* priority_leaves) {
    rows_written_ = rows_written;
    sample_calls_ = sample_calls;
    last_sample_rows_ = last_sample_rows;
    max_priority_ = max_priority;
    max_leaf_value_ = priority_.enabled ? leaf_value(max_priority) : 1.0;
    num_sampleable_ = 0;
    for (int64_t slot = 0; slot < num_slots(); ++slot) num_sampleable_ += sampleable_[size_t(slot)] != 0;
    if (priority_.enabled) {
      std::vector<double> all(size_t(tree_.num_leaves()), 0.0);
      std::copy_n(priority_leaves, num_slots(), all.data());
      tree_.assign_leaves(all.data());
    }
  }
  uint64_t last_sample_rows() const { return last_sample_rows_; }

 private:
  // The absolute time of the row now stored in time slot `time_slot` (valid when stored).
  int64_t row_time(int64_t time_slot) const {
    const int64_t newest = int64_t(rows_written_) - 1;
    const int64_t newest_slot = newest % time_capacity();
    return newest - (newest_slot - time_slot + time_capacity()) % time_capacity();
  }

  double leaf_value(double priority) const { return std::pow(priority + priority_.eps, priority_.alpha); }

  // Record a sampleability change; returns 1 if a tree leaf must change (entry `at`).
  int64_t mark_sampleable(int64_t slot, int64_t at) {
    sampleable_[size_t(slot)] = 1;
    num_sampleable_ += 1;
    if (!priority_.enabled) return 0;
    leaf_indices_[size_t(at)] = slot;
    leaf_values_[size_t(at)] = max_leaf_value_;  // new transitions get the largest priority so far
    return 1;
  }

  int64_t mark_unsampleable(int64_t slot, int64_t at) {
    if (!sampleable_[size_t(slot)]) return 0;
    sampleable_[size_t(slot)] = 0;
    num_sampleable_ -= 1;
    if (!priority_.enabled) return 0;
    leaf_indices_[size_t(at)] = slot;
    leaf_values_[size_t(at)] = 0.0;
    return 1;
  }

  SampleOutputs& outputs_for(int64_t batch_size) {
    auto found = outputs_.find(batch_size);
    if (found != outputs_.end()) return found->second;
    SampleOutputs& out = outputs_[batch_size];
    for (int f = 0; f < storage_.num_fields(); ++f) {
      out.fields.emplace_back(size_t(batch_size) * size_t(storage_.item_bytes(f)));
    }
    const size_t reward_bytes = roles_.reward_is_float64 ? 8 : 4;
    out.next_obs = AlignedArray<uint8_t>(size_t(batch_size) * size_t(storage_.item_bytes(roles_.obs)));
    out.reward = AlignedArray<uint8_t>(size_t(batch_size) * reward_bytes);
    out.discount = AlignedArray<uint8_t>(size_t(batch_size) * reward_bytes);
    out.weights = AlignedArray<uint8_t>(size_t(batch_size) * reward_bytes);
    out.indices = AlignedArray<int64_t>(size_t(batch_size));
    return out;
  }

  // Uniform over transitions: uniform over stored slots, redrawing the few that are not
  // transitions (at most about half are, so this ends quickly).
  void choose_uniform(CounterRng& rng, int64_t batch_size, int64_t* slots) {
    const uint64_t stored_slots = uint64_t(stored_rows() * num_envs());
    for (int64_t b = 0; b < batch_size; ++b) {
      int64_t slot;
      do {
        slot = int64_t((unsigned __int128)rng.next_u64() * stored_slots >> 64);
      } while (!sampleable_[size_t(slot)]);
      slots[b] = slot;
    }
  }

  // Proportional, stratified: one draw in each of batch_size equal segments of the total.
  void choose_prioritized(CounterRng& rng, int64_t batch_size, int64_t* slots) {
    targets_.resize(size_t(batch_size));
    residual_.resize(size_t(batch_size));
    const double total = tree_.total();
    const double segment = total / double(batch_size);
    for (int64_t b = 0; b < batch_size; ++b) targets_[size_t(b)] = std::min((double(b) + rng.uniform()) * segment, total);
    tree_.find(targets_.data(), batch_size, slots, residual_.data());
    for (int64_t b = 0; b < batch_size; ++b) {
      // Rounding can land a target on an empty leaf at a segment's edge: draw it again.
      while (tree_.leaf(slots[b]) <= 0.0 || slots[b] >= num_slots()) {
        const double target = rng.uniform() * total;
        tree_.find(&target, 1, &slots[b], residual_.data());
      }
    }
  }

  // IS weights (N P(i))^-beta normalised by the largest possible weight, (N P_min)^-beta:
  // N cancels, leaving (p_min / p_i)^beta.
  void write_weights(SampleOutputs& out, int64_t batch_size, double beta) {
    const double p_min = tree_.min_positive();
    if (roles_.reward_is_float64) {
      double* weights = reinterpret_cast<double*>(out.weights.data());
      for (int64_t b = 0; b < batch_size; ++b) weights[b] = std::pow(p_min / tree_.leaf(out.indices[b]), beta);
    } else {  // float32 weights: powf is precise enough and twice as fast
      float* weights = reinterpret_cast<float*>(out.weights.data());
      for (int64_t b = 0; b < batch_size; ++b) {
        weights[b] = std::pow(float(p_min / tree_.leaf(out.indices[b])), float(beta));
      }
    }
  }

  struct Lane {
    const ReplayCore* core;
    int64_t env;
    int64_t slot(int64_t u) const { return (u % core->time_capacity()) * core->num_envs() + env; }
    double reward(int64_t u) const {
      const uint8_t* item = core->storage_.item(core->roles_.reward, slot(u));
      if (core->roles_.reward_is_float64) {
        double r;
        std::memcpy(&r, item, 8);
        return r;
      }
      float r;
      std::memcpy(&r, item, 4);
      return r;
    }
    bool terminated(int64_t u) const { return *core->storage_.item(core->roles_.terminated, slot(u)) != 0; }
    bool truncated(int64_t u) const { return *core->storage_.item(core->roles_.truncated, slot(u)) != 0; }
  };

  // Copies the item of each slot into out[b]. Items are small and scattered over a large
  // buffer, so the cost is memory latency: prefetching a few samples ahead keeps several misses
  // in flight, and a copy whose size is known at compile time avoids a memcpy call per item.
  template <int64_t kBytes>
  static void gather_items(uint8_t* __restrict out, const uint8_t* __restrict base, const int64_t* slots,
                           int64_t count, int64_t bytes) {
    constexpr int64_t kAhead = 8;
    const int64_t size = kBytes > 0 ? kBytes : bytes;
    for (int64_t b = 0; b < count; ++b) {
      if (b + kAhead < count) __builtin_prefetch(base + slots[b + kAhead] * size);
      std::memcpy(out + b * size, base + slots[b] * size, size_t(size));
    }
  }

  static void gather_field(uint8_t* out, const uint8_t* base, const int64_t* slots, int64_t count, int64_t bytes) {
    switch (bytes) {
      case 1: return gather_items<1>(out, base, slots, count, bytes);
      case 2: return gather_items<2>(out, base, slots, count, bytes);
      case 4: return gather_items<4>(out, base, slots, count, bytes);
      case 8: return gather_items<8>(out, base, slots, count, bytes);
      case 16: return gather_items<16>(out, base, slots, count, bytes);
      case 32: return gather_items<32>(out, base, slots, count, bytes);
      case 64: return gather_items<64>(out, base, slots, count, bytes);
      default: return gather_items<0>(out, base, slots, count, bytes);
    }
  }

  void gather(SampleOutputs& out, int64_t batch_size, int n_step, double gamma) {
    const int64_t n = num_envs();
    const bool implicit_next = roles_.next_obs < 0;
    // The newest row a reward may come from: its next observation must be stored.
    const int64_t last_time = int64_t(rows_written_) - 1 - (implicit_next ? 1 : 0);
    const int64_t* slots = out.indices.data();
    next_slots_.resize(size_t(batch_size));
    for (int64_t b = 0; b < batch_size; ++b) {
      constexpr int64_t kAhead = 8;
      if (b + kAhead < batch_size) {
        const int64_t ahead = slots[b + kAhead];
        __builtin_prefetch(storage_.item(roles_.reward, ahead));
        __builtin_prefetch(storage_.item(roles_.terminated, ahead));
        __builtin_prefetch(storage_.item(roles_.truncated, ahead));
      }
      const int64_t slot = slots[b];
      const Lane lane{this, slot % n};
      const NStepTarget target = n_step_target(lane, row_time(slot / n), n_step, gamma, last_time);
      next_slots_[size_t(b)] = implicit_next ? lane.slot(target.last_time + 1) : lane.slot(target.last_time);
      if (roles_.reward_is_float64) {
        reinterpret_cast<double*>(out.reward.data())[b] = target.discounted_return;
        reinterpret_cast<double*>(out.discount.data())[b] = target.discount;
      } else {
        reinterpret_cast<float*>(out.reward.data())[b] = float(target.discounted_return);
        reinterpret_cast<float*>(out.discount.data())[b] = float(target.discount);
      }
    }
    for (int f = 0; f < storage_.num_fields(); ++f) {
      gather_field(out.fields[size_t(f)].data(), storage_.field_data(f), slots, batch_size, storage_.item_bytes(f));
    }
    const int next_field = implicit_next ? roles_.obs : roles_.next_obs;
    gather_field(out.next_obs.data(), storage_.field_data(next_field), next_slots_.data(), batch_size,
                 storage_.item_bytes(roles_.obs));
  }

  std::mutex mutex_;
  RingStorage storage_;
  FieldRoles roles_;
  bool same_step_;
  uint64_t seed_;
  PriorityConfig priority_;

  uint64_t rows_written_ = 0;
  uint64_t sample_calls_ = 0;
  uint64_t last_sample_rows_ = 0;
  int64_t num_sampleable_ = 0;
  double max_priority_ = 1.0;
  double max_leaf_value_ = 1.0;  // leaf_value(max_priority_), cached: add() needs it per transition

  AlignedArray<uint8_t> autoreset_;   // per slot: the row only reset its env (never a transition)
  AlignedArray<uint8_t> sampleable_;  // per slot: a transition starts here
  AlignedArray<uint8_t> last_done_;   // per env: the newest row ended an episode

  SumMinTree tree_;
  std::vector<int64_t> leaf_indices_;
  std::vector<double> leaf_values_;
  std::vector<int64_t> tree_scratch_;
  std::vector<int64_t> update_indices_, update_scratch_;
  std::vector<double> update_values_;
  std::vector<double> targets_, residual_;
  std::vector<int64_t> next_slots_;
  std::map<int64_t, SampleOutputs> outputs_;
};

}  // namespace turborl::replay
