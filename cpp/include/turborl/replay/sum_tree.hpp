#pragma once
// Sum and min trees over priorities in float64, for proportional prioritized replay (Schaul et
// al., "Prioritized Experience Replay", ICLR 2016).
//
// Layout, chosen for memory latency (a batch of 256 random queries or updates at 2^20 leaves
// touches a few thousand cache lines; the top levels stay cached, the bottom ones do not):
// - 8-ary: the eight child sums of a node fill one 64-byte line, so 2^20 leaves need 7 levels
//   instead of a binary tree's 20;
// - each inner node keeps its children's 8 sums and 8 mins in one 128-byte block (a pair of lines
//   the hardware fetches together), so an update touches one block per level;
// - the leaves are stored once: a leaf's "min" is the leaf itself (zero meaning empty);
// - whole batches advance level by level, so their independent misses overlap.
// Measured for 256 queries plus 256 updates at 2^20 leaves on the project machine: a binary
// heap layout took 23 + 13 us; see bench/RESULTS.md for this one.
//
// Level l (0 = the root's block) holds one block per node at depth l; the children of node i
// at depth l are nodes 8i..8i+7 at depth l + 1. The last level holds the leaves, 8 per node.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"

namespace turborl::replay {

class SumMinTree {
 public:
  static constexpr int64_t kArity = 8;
  static constexpr int64_t kBlock = 2 * kArity;  // inner node: 8 child sums, then 8 child mins

  explicit SumMinTree(int64_t capacity) {
    TURBORL_CHECK(capacity >= 1, "tree capacity must be >= 1, got ", capacity);
    int64_t nodes = 1;  // nodes at the current depth
    while (nodes * kArity < capacity) {
      inner_.emplace_back(size_t(nodes * kBlock));
      double* block = inner_.back().data();
      for (int64_t i = 0; i < nodes; ++i) std::fill_n(block + i * kBlock + kArity, kArity, kEmpty);
      nodes *= kArity;
    }
    num_leaves_ = nodes * kArity;
    leaves_ = AlignedArray<double>(size_t(num_leaves_));
  }

  int64_t num_leaves() const { return num_leaves_; }
  int depth() const { return int(inner_.size()) + 1; }

  double total() const { return inner_.empty() ? sum8(leaves_.data()) : sum8(inner_[0].data()); }
  // The smallest positive leaf (+inf when every leaf is zero).
  double min_positive() const {
    return inner_.empty() ? min8_of_leaves(leaves_.data()) : min8(inner_[0].data() + kArity);
  }
  double leaf(int64_t i) const { return leaves_[size_t(i)]; }
  void copy_leaves(double* out) const { std::copy_n(leaves_.data(), num_leaves_, out); }

  // Sets leaves[indices[j]] = values[j] (values >= 0; zero removes the leaf from sampling).
  // With repeated indices the last value wins. `scratch` holds at least n int64 values.
  void set(const int64_t* indices, const double* values, int64_t n, int64_t* scratch) {
    for (int64_t j = 0; j < n; ++j) {
      leaves_[size_t(indices[j])] = values[j];
      scratch[j] = indices[j] / kArity;  // the leaf's parent
    }
    if (inner_.empty()) return;
    const int bottom = int(inner_.size()) - 1;
    for (int64_t j = 0; j < n; ++j) {  // the bottom inner level: sums and mins of 8 leaves
      const int64_t node = scratch[j];
      const double* leaves = leaves_.data() + node * kArity;
      write_child(bottom, node, sum8(leaves), min8_of_leaves(leaves));
      scratch[j] = node / kArity;
    }
    for (int level = bottom - 1; level >= 0; --level) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t node = scratch[j];  // a node at depth `level` + 1 whose block changed
        const double* block = inner_[size_t(level + 1)].data() + node * kBlock;
        write_child(level, node, sum8(block), min8(block + kArity));
        scratch[j] = node / kArity;
        if (level > 0) __builtin_prefetch(inner_[size_t(level - 1)].data() + (scratch[j] / kArity) * kBlock);
      }
    }
  }

  // Sets every leaf from `values` (num_leaves of them) and recomputes the inner levels.
  void assign_leaves(const double* values) {
    std::copy_n(values, num_leaves_, leaves_.data());
    if (inner_.empty()) return;
    const int bottom = int(inner_.size()) - 1;
    for (int64_t node = 0; node < num_leaves_ / kArity; ++node) {
      const double* leaves = leaves_.data() + node * kArity;
      write_child(bottom, node, sum8(leaves), min8_of_leaves(leaves));
    }
    for (int level = bottom - 1; level >= 0; --level) {
      const int64_t nodes = int64_t(inner_[size_t(level + 1)].size()) / kBlock;
      for (int64_t node = 0; node < nodes; ++node) {
        const double* block = inner_[size_t(level + 1)].data() + node * kBlock;
        write_child(level, node, sum8(block), min8(block + kArity));
      }
    }
  }

  // For each target in [0, total()), the leaf whose prefix-sum interval contains it: children
  // are passed over while the target is at or beyond their running sum, and the target becomes
  // relative to the chosen child. Writes leaf indices to `leaves`; `residual` is scratch.
  void find(const double* targets, int64_t n, int64_t* leaves, double* residual) const {
    for (int64_t j = 0; j < n; ++j) {
      leaves[j] = 0;
      residual[j] = targets[j];
    }
    for (int level = 0; level < depth(); ++level) {
      const bool at_leaves = level == int(inner_.size());
      const double* base = at_leaves ? leaves_.data() : inner_[size_t(level)].data();
      const int64_t stride = at_leaves ? kArity : kBlock;
      for (int64_t j = 0; j < n; ++j) {
        const double* children = base + leaves[j] * stride;
        double through = 0.0;  // the sum of children 0..k
        double before = 0.0;   // the sum of the children passed over
        int64_t child = 0;
        for (int64_t k = 0; k < kArity - 1; ++k) {
          through += children[k];
          const bool beyond = residual[j] >= through;
          child += beyond;
          before = beyond ? through : before;
        }
        residual[j] -= before;
        leaves[j] = leaves[j] * kArity + child;
        if (level + 1 < int(inner_.size())) {
          __builtin_prefetch(inner_[size_t(level + 1)].data() + leaves[j] * kBlock);
        } else if (level + 1 == int(inner_.size())) {
          __builtin_prefetch(leaves_.data() + leaves[j] * kArity);
        }
      }
    }
  }

 private:
  static constexpr double kEmpty = std::numeric_limits<double>::infinity();

  // Stores child `node`'s sum and min in its parent's block, at depth-level `level`.
  void write_child(int level, int64_t node, double sum, double min) {
    double* block = inner_[size_t(level)].data() + (node / kArity) * kBlock;
    block[node % kArity] = sum;
    block[kArity + node % kArity] = min;
  }

  static double sum8(const double* c) { return ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7])); }

  static double min8(const double* c) {
    return std::min(std::min(std::min(c[0], c[1]), std::min(c[2], c[3])),
                    std::min(std::min(c[4], c[5]), std::min(c[6], c[7])));
  }

  static double min8_of_leaves(const double* c) {
    double m = kEmpty;
    for (int k = 0; k < kArity; ++k) m = std::min(m, c[k] > 0.0 ? c[k] : kEmpty);
    return m;
  }

  int64_t num_leaves_ = kArity;
  std::vector<AlignedArray<double>> inner_;  // inner_[l]: blocks of the nodes at depth l
  AlignedArray<double> leaves_;
};

}  // namespace turborl::replay
