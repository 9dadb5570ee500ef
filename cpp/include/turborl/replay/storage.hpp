#pragma once
// Ring storage for replay: a set of named fields, each stored struct-of-arrays as
// [time_capacity][num_envs][item_bytes]. One row holds one vector-env step of every env, so
// adding a step is one contiguous copy per field. Preallocated and first-touched at construction;
// nothing is allocated while adding or sampling.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"

namespace turborl::replay {

class RingStorage {
 public:
  RingStorage(int64_t time_capacity, int64_t num_envs, const std::vector<int64_t>& item_bytes)
      : time_capacity_(time_capacity), num_envs_(num_envs) {
    TURBORL_CHECK(time_capacity >= 1, "time capacity (capacity // num_envs) must be >= 1, got ", time_capacity);
    TURBORL_CHECK(num_envs >= 1, "num_envs must be >= 1, got ", num_envs);
    for (int64_t bytes : item_bytes) {
      TURBORL_CHECK(bytes >= 1, "every field must hold at least one byte per item, got ", bytes);
      item_bytes_.push_back(bytes);
      fields_.emplace_back(size_t(time_capacity) * size_t(num_envs) * size_t(bytes));
    }
  }

  int64_t time_capacity() const { return time_capacity_; }
  int64_t num_envs() const { return num_envs_; }
  int64_t num_slots() const { return time_capacity_ * num_envs_; }
  int num_fields() const { return int(fields_.size()); }
  int64_t item_bytes(int field) const { return item_bytes_[field]; }

  uint8_t* field_data(int field) { return fields_[field].data(); }
  const uint8_t* field_data(int field) const { return fields_[field].data(); }

  // The item of `field` in slot `slot` = time_slot * num_envs + env.
  const uint8_t* item(int field, int64_t slot) const {
    return fields_[field].data() + size_t(slot) * size_t(item_bytes_[field]);
  }

  // Copies one row (all envs) of `field` from `source` into time slot `time_slot`.
  void write_row(int field, int64_t time_slot, const uint8_t* source) {
    const size_t row_bytes = size_t(num_envs_) * size_t(item_bytes_[field]);
    std::memcpy(fields_[field].data() + size_t(time_slot) * row_bytes, source, row_bytes);
  }

 private:
  int64_t time_capacity_;
  int64_t num_envs_;
  std::vector<int64_t> item_bytes_;
  std::vector<AlignedArray<uint8_t>> fields_;
};

}  // namespace turborl::replay
