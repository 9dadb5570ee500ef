#pragma once
// A batch of MCTS trees in mctx's layout (mctx/_src/tree.py): struct-of-arrays [B, N] per node
// and [B, N, A] per (node, action), where node i is created at simulation i and node 0 is the
// root. The storage is allocated once per search; a simulation allocates nothing.
//
// Expansion and backup follow mctx/_src/search.py (`update_tree_node`, `expand`, `backward`)
// operation by operation in float32, so that the trees agree with mctx's to rounding.
// Beyond mctx, every node keeps an invalid-action mask (row 0 is the root's), so that illegal
// moves can be masked at every depth, not only at the root (mctx issues #29 and #89).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "turborl/core/check.hpp"
#include "turborl/core/recycled_buffer.hpp"
#include "turborl/mcts/row_ops.hpp"

namespace turborl::mcts {

inline constexpr int32_t kRootIndex = 0;
inline constexpr int32_t kNoParent = -1;
inline constexpr int32_t kUnvisited = -1;

// One array of a Tree: a typed view of part of the tree's buffer.
template <class T>
struct Column {
  T* ptr = nullptr;
  size_t count = 0;
  T* data() { return ptr; }
  const T* data() const { return ptr; }
  T* begin() { return ptr; }
  const T* begin() const { return ptr; }
  size_t size() const { return count; }
  T& operator[](int64_t i) { return ptr[i]; }
  const T& operator[](int64_t i) const { return ptr[i]; }
};

struct Tree {
  int64_t batch_size = 0, num_nodes = 0, num_actions = 0;
  Column<int32_t> node_visits;           // [B, N]
  Column<float> raw_values;              // [B, N]
  Column<float> node_values;             // [B, N]
  Column<int32_t> parents;               // [B, N]
  Column<int32_t> action_from_parent;    // [B, N]
  Column<int32_t> children_index;        // [B, N, A]
  Column<float> children_prior_logits;   // [B, N, A]
  Column<int32_t> children_visits;       // [B, N, A]
  Column<float> children_rewards;        // [B, N, A]
  Column<float> children_discounts;      // [B, N, A]
  Column<float> children_values;         // [B, N, A]
  Column<uint8_t> invalid_actions;       // [B, N, A]; 1 marks an invalid action

  // Beyond mctx's arrays, internal: softmax(children_prior_logits) per node, computed once when
  // the node is evaluated instead of at every visit (the pUCT rule and the mixed value of
  // qtransform_completed_by_mix_value both read it); the same float32 operations, so the same
  // values.
  Column<float> children_prior_probs;    // [B, N, A]
  // Also internal: children_rewards + children_discounts * children_values (mctx's
  // tree.qvalues), kept up to date by backup, so that a selection step reads one array for
  // the Q-values instead of three (each a cache miss on a node not visited lately).
  Column<float> children_qvalues;        // [B, N, A]

  Tree(int64_t batch, int64_t nodes, int64_t actions) : batch_size(batch), num_nodes(nodes), num_actions(actions) {
    TURBORL_CHECK(batch >= 1, "batch size must be >= 1, got ", batch);
    // Node indices are int32, as in mctx.
    TURBORL_CHECK(nodes >= 1 && nodes <= std::numeric_limits<int32_t>::max(),
                  "number of nodes (num_simulations + 1) must be in [1, 2**31 - 1], got ", nodes);
    TURBORL_CHECK(actions >= 1, "num_actions must be >= 1, got ", actions);
    // All arrays in one buffer, recycled from the last search of about this size
    // (core/recycled_buffer.hpp says why). reset_nodes overwrites every element.
    const size_t bn = size_t(batch * nodes), bna = size_t(batch * nodes * actions);
    size_t bytes = 0;
    layout(bn, bna, bytes);
    buffer_ = RecycledBuffers::take(bytes);
    bytes = 0;
    layout(bn, bna, bytes, buffer_.data());
    for (int64_t b = 0; b < batch; ++b) reset_nodes(b, 0);
  }

  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;
  ~Tree() { RecycledBuffers::give(buffer_); }

  // Returns nodes [first, N) of tree b to the state of a new search's storage.
  void reset_nodes(int64_t b, int64_t first) {
    const int64_t n0 = node(b, first), n1 = node(b, num_nodes);
    const int64_t e0 = edge(b, first, 0), e1 = edge(b, num_nodes, 0);
    std::fill(node_visits.begin() + n0, node_visits.begin() + n1, 0);
    std::fill(raw_values.begin() + n0, raw_values.begin() + n1, 0.0f);
    std::fill(node_values.begin() + n0, node_values.begin() + n1, 0.0f);
    std::fill(parents.begin() + n0, parents.begin() + n1, kNoParent);
    std::fill(action_from_parent.begin() + n0, action_from_parent.begin() + n1, kNoParent);
    std::fill(children_index.begin() + e0, children_index.begin() + e1, kUnvisited);
    std::fill(children_prior_logits.begin() + e0, children_prior_logits.begin() + e1, 0.0f);
    std::fill(children_prior_probs.begin() + e0, children_prior_probs.begin() + e1, 0.0f);
    std::fill(children_qvalues.begin() + e0, children_qvalues.begin() + e1, 0.0f);
    std::fill(children_visits.begin() + e0, children_visits.begin() + e1, 0);
    std::fill(children_rewards.begin() + e0, children_rewards.begin() + e1, 0.0f);
    std::fill(children_discounts.begin() + e0, children_discounts.begin() + e1, 0.0f);
    std::fill(children_values.begin() + e0, children_values.begin() + e1, 0.0f);
    std::fill(invalid_actions.begin() + e0, invalid_actions.begin() + e1, uint8_t(0));
  }

  int64_t node(int64_t b, int64_t n) const { return b * num_nodes + n; }
  int64_t edge(int64_t b, int64_t n, int64_t a) const { return (b * num_nodes + n) * num_actions + a; }

  // Asks the caches for the arrays that selecting at node `index` of tree b reads. Trees lie
  // apart in memory (a search's storage is larger than L2), so a descent waits on a miss for
  // each array it touches; prefetching the next trees' roots overlaps those waits.
  void prefetch_node(int64_t b, int32_t index) const {
    const int64_t e0 = edge(b, index, 0);
    for (int64_t offset = 0; offset < num_actions; offset += 16) {  // 16 floats per cache line
      __builtin_prefetch(children_qvalues.data() + e0 + offset);
      __builtin_prefetch(children_visits.data() + e0 + offset);
      __builtin_prefetch(children_prior_probs.data() + e0 + offset);
      __builtin_prefetch(children_prior_logits.data() + e0 + offset);
      __builtin_prefetch(children_index.data() + e0 + offset);
    }
    for (int64_t offset = 0; offset < num_actions; offset += 64) __builtin_prefetch(invalid_actions.data() + e0 + offset);
    __builtin_prefetch(node_values.data() + node(b, index));
    __builtin_prefetch(raw_values.data() + node(b, index));
    __builtin_prefetch(node_visits.data() + node(b, index));
  }

  // mctx's update_tree_node: a (re-)evaluated node takes the new logits and value and one more
  // visit. With max_depth a leaf can be evaluated again, which resets its value as in mctx.
  void update_node(int64_t b, int32_t index, const float* prior_logits, float value, const uint8_t* invalid) {
    const int64_t i = node(b, index);
    node_visits[i] += 1;
    raw_values[i] = value;
    node_values[i] = value;
    std::copy(prior_logits, prior_logits + num_actions, children_prior_logits.begin() + edge(b, index, 0));
    refresh_prior_probs(b, index);
    uint8_t* mask = invalid_actions.data() + edge(b, index, 0);
    if (invalid != nullptr) {
      std::copy(invalid, invalid + num_actions, mask);
    } else {
      std::fill(mask, mask + num_actions, uint8_t(0));
    }
  }

  // children_prior_probs of a node from its children_prior_logits (after they are written).
  void refresh_prior_probs(int64_t b, int32_t index) {
    const int64_t e0 = edge(b, index, 0);
    softmax(children_prior_logits.data() + e0, num_actions, children_prior_probs.data() + e0);
  }

  // The internal arrays of a node whose mctx arrays were written from outside (a kept subtree).
  void refresh_internal(int64_t b, int32_t index) {
    refresh_prior_probs(b, index);
    const int64_t e0 = edge(b, index, 0);
    for (int64_t e = e0; e < e0 + num_actions; ++e) refresh_qvalue(e);
  }

  void refresh_qvalue(int64_t e) { children_qvalues[e] = children_rewards[e] + children_discounts[e] * children_values[e]; }

  // mctx's expand (bookkeeping after recurrent_fn) followed by its backward.
  void expand_and_backup(int64_t b, int32_t parent, int32_t action, int32_t next, float reward, float discount,
                         const float* prior_logits, float value, const uint8_t* invalid) {
    update_node(b, next, prior_logits, value, invalid);
    const int64_t e = edge(b, parent, action);
    children_index[e] = next;
    children_rewards[e] = reward;
    children_discounts[e] = discount;
    parents[node(b, next)] = parent;
    action_from_parent[node(b, next)] = action;
    backup(b, next);
  }

  // mctx's backward: the discounted return of the leaf's value is averaged into every ancestor.
  void backup(int64_t b, int32_t leaf) {
    float leaf_value = node_values[node(b, leaf)];
    for (int32_t index = leaf; index != kRootIndex;) {
      const int32_t parent = parents[node(b, index)];
      const int32_t count = node_visits[node(b, parent)];
      const int32_t action = action_from_parent[node(b, index)];
      const int64_t e = edge(b, parent, action);
      leaf_value = children_rewards[e] + children_discounts[e] * leaf_value;
      const float parent_value = (node_values[node(b, parent)] * float(count) + leaf_value) / (float(count) + 1.0f);
      children_values[e] = node_values[node(b, index)];
      refresh_qvalue(e);
      children_visits[e] += 1;
      node_values[node(b, parent)] = parent_value;
      node_visits[node(b, parent)] = count + 1;
      index = parent;
    }
  }

 private:
  // Places each array at the next 64-byte boundary from `offset` (in `base` when given; with
  // no base it only sums the sizes).
  template <class T>
  static void place(Column<T>& column, size_t count, size_t& offset, uint8_t* base) {
    offset = (offset + 63) / 64 * 64;
    if (base != nullptr) column = Column<T>{reinterpret_cast<T*>(base + offset), count};
    offset += count * sizeof(T);
  }

  void layout(size_t bn, size_t bna, size_t& offset, uint8_t* base = nullptr) {
    for (auto* per_node : {&node_visits, &parents, &action_from_parent}) place(*per_node, bn, offset, base);
    for (auto* per_node : {&raw_values, &node_values}) place(*per_node, bn, offset, base);
    for (auto* per_edge : {&children_index, &children_visits}) place(*per_edge, bna, offset, base);
    for (auto* per_edge : {&children_prior_logits, &children_prior_probs, &children_qvalues, &children_rewards,
                           &children_discounts, &children_values})
      place(*per_edge, bna, offset, base);
    place(invalid_actions, bna, offset, base);
  }

  RecycledBuffers::Buffer buffer_;
};

// ---- Q-value transforms (mctx/_src/qtransforms.py) -----------------------------------------

enum class QTransformKind : int { kByMinMax = 0, kByParentAndSiblings = 1, kCompletedByMixValue = 2 };

struct QTransform {
  QTransformKind kind = QTransformKind::kByParentAndSiblings;
  float min_value = 0.0f, max_value = 1.0f;             // by_min_max
  float epsilon = 1e-8f;                                // by_parent_and_siblings, completed_by_mix_value
  float value_scale = 0.1f, maxvisit_init = 50.0f;      // completed_by_mix_value (Danihelka et al. 2022, App. D)
  bool rescale_values = true, use_mixed_value = true;   // completed_by_mix_value
};

// The transformed Q-values of the children of one node, written to out[A]; `scratch` holds A
// floats. Unvisited children are completed as each transform prescribes.
inline void qtransform_node(const Tree& tree, const QTransform& q, int64_t b, int32_t index, float* out,
                            float* scratch) {
  const int64_t A = tree.num_actions;
  const int64_t e0 = tree.edge(b, index, 0);
  const int32_t* visits = tree.children_visits.data() + e0;
  // Q(s, a) = r(s, a) + gamma(s, a) * v(s'), tree.qvalues in mctx, kept by backup.
  const float* qvalues = tree.children_qvalues.data() + e0;

  switch (q.kind) {
    case QTransformKind::kByMinMax: {
      for (int64_t a = 0; a < A; ++a) {
        const float score = visits[a] > 0 ? qvalues[a] : q.min_value;
        out[a] = (score - q.min_value) / (q.max_value - q.min_value);
      }
      return;
    }
    case QTransformKind::kByParentAndSiblings: {
      const float node_value = tree.node_values[tree.node(b, index)];
      float lo = node_value, hi = node_value;
      for (int64_t a = 0; a < A; ++a) {
        const float safe = visits[a] > 0 ? qvalues[a] : node_value;
        lo = std::min(lo, safe);
        hi = std::max(hi, safe);
      }
      const float denominator = std::max(hi - lo, q.epsilon);
      for (int64_t a = 0; a < A; ++a) out[a] = ((visits[a] > 0 ? qvalues[a] : lo) - lo) / denominator;
      return;
    }
    case QTransformKind::kCompletedByMixValue: {
      float value = tree.raw_values[tree.node(b, index)];
      int32_t max_visit = 0;
      for (int64_t a = 0; a < A; ++a) max_visit = std::max(max_visit, visits[a]);
      if (q.use_mixed_value) {
        // _compute_mixed_value: the raw value interpolated with the prior-weighted Q of the
        // visited children; probabilities are floored at the smallest normal float so that the
        // weights stay finite when visited children have zero prior (as mctx).
        float* probs = scratch;
        const float* prior_probs = tree.children_prior_probs.data() + e0;
        int32_t sum_visits = 0;
        // Unvisited children's terms are 0 (mctx's jnp.where), which changes no sum.
        for (int64_t a = 0; a < A; ++a) {
          probs[a] = visits[a] > 0 ? std::max(std::numeric_limits<float>::min(), prior_probs[a]) : 0.0f;
          sum_visits += visits[a];
        }
        const float sum_probs = row_sum(probs, A);
        const float safe_sum = sum_probs > 0.0f ? sum_probs : 1.0f;  // no child visited: every term is 0
        for (int64_t a = 0; a < A; ++a) probs[a] = probs[a] * qvalues[a] / safe_sum;
        const float weighted_q = row_sum(probs, A);
        value = (value + float(sum_visits) * weighted_q) / (float(sum_visits) + 1.0f);
      }
      for (int64_t a = 0; a < A; ++a) out[a] = visits[a] == 0 ? value : qvalues[a];
      if (q.rescale_values) {
        const float lo = row_min(out, A), hi = row_max(out, A);
        const float denominator = std::max(hi - lo, q.epsilon);
        for (int64_t a = 0; a < A; ++a) out[a] = (out[a] - lo) / denominator;
      }
      const float scale = (q.maxvisit_init + float(max_visit)) * q.value_scale;
      for (int64_t a = 0; a < A; ++a) out[a] = scale * out[a];
      return;
    }
  }
}

}  // namespace turborl::mcts
