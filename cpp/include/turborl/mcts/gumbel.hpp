#pragma once
// Gumbel MuZero's action selection (Danihelka, Guez, Schrittwieser & Silver 2022, "Policy
// improvement by planning with Gumbel"): Sequential Halving with Gumbel at the root (Section 4,
// Karnin et al. 2013 for Sequential Halving) and the deterministic selection of Section 5 at
// interior nodes, as mctx's action_selection.py and seq_halving.py, in float32.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "turborl/mcts/row_ops.hpp"
#include "turborl/mcts/tree.hpp"

namespace turborl::mcts {

// mctx's get_sequence_of_considered_visits: the visit count that the next root simulation
// must find on a considered action, for each simulation index.
inline std::vector<int32_t> considered_visit_sequence(int64_t max_num_considered, int64_t num_simulations) {
  std::vector<int32_t> sequence;
  sequence.reserve(size_t(num_simulations));
  if (max_num_considered <= 1) {
    for (int64_t i = 0; i < num_simulations; ++i) sequence.push_back(int32_t(i));
    return sequence;
  }
  int64_t log2max = 0;  // ceil(log2(max_num_considered))
  while ((int64_t(1) << log2max) < max_num_considered) ++log2max;
  std::vector<int32_t> visits(size_t(max_num_considered), 0);
  int64_t num_considered = max_num_considered;
  while (int64_t(sequence.size()) < num_simulations) {
    const int64_t extra = std::max<int64_t>(1, num_simulations / (log2max * num_considered));
    for (int64_t k = 0; k < extra; ++k) {
      sequence.insert(sequence.end(), visits.begin(), visits.begin() + num_considered);
      for (int64_t i = 0; i < num_considered; ++i) visits[size_t(i)] += 1;
    }
    num_considered = std::max<int64_t>(2, num_considered / 2);
  }
  sequence.resize(size_t(num_simulations));
  return sequence;
}

struct GumbelSelection {
  int64_t max_num_considered_actions = 16;
  QTransform qtransform{QTransformKind::kCompletedByMixValue};
  std::vector<int32_t> table;  // [min(max considered, A) + 1, num_simulations]
  int64_t num_simulations = 0;
  std::vector<float> root_gumbel;  // [B, A]

  void prepare(int64_t num_actions, int64_t simulations) {
    num_simulations = simulations;
    const int64_t rows = std::min(max_num_considered_actions, num_actions) + 1;
    table.clear();
    for (int64_t m = 0; m < rows; ++m) {
      const std::vector<int32_t> row = considered_visit_sequence(m, simulations);
      table.insert(table.end(), row.begin(), row.end());
    }
  }

  // mctx's score_considered: actions whose visit count is not the considered one are excluded.
  static void score_considered(int32_t considered_visit, const float* gumbel, const float* logits,
                               const float* qvalues, const int32_t* visits, int64_t A, float* out) {
    constexpr float kLowLogit = -1e9f;
    const float max_logit = row_max(logits, A);
    for (int64_t a = 0; a < A; ++a) {
      const float score = std::max(kLowLogit, gumbel[a] + (logits[a] - max_logit) + qvalues[a]);
      out[a] = visits[a] == considered_visit ? score : -std::numeric_limits<float>::infinity();
    }
  }

  // `work` holds 3 * A floats.
  int32_t select_root(const Tree& tree, int64_t b, float* work) const {
    const int64_t A = tree.num_actions;
    const int64_t e0 = tree.edge(b, kRootIndex, 0);
    const int32_t* visits = tree.children_visits.data() + e0;
    const uint8_t* invalid = tree.invalid_actions.data() + e0;
    float* qvalues = work;
    qtransform_node(tree, qtransform, b, kRootIndex, qvalues, work + 2 * A);
    int64_t num_valid = 0, simulation_index = 0;
    for (int64_t a = 0; a < A; ++a) {
      num_valid += invalid[a] ? 0 : 1;
      simulation_index += visits[a];  // at the root, the number of finished simulations
    }
    const int64_t num_considered = std::min(max_num_considered_actions, num_valid);
    const int32_t considered_visit = table[size_t(num_considered * num_simulations + simulation_index)];
    float* scores = work + A;
    score_considered(considered_visit, root_gumbel.data() + b * A, tree.children_prior_logits.data() + e0, qvalues,
                     visits, A, scores);
    return masked_argmax(scores, invalid, A, work + 2 * A);
  }

  // Section 5: the action whose visit share lags most behind softmax(logits + completed Q).
  int32_t select_interior(const Tree& tree, int64_t b, int32_t index, float* work) const {
    const int64_t A = tree.num_actions;
    const int64_t e0 = tree.edge(b, index, 0);
    const int32_t* visits = tree.children_visits.data() + e0;
    float* improved = work;
    qtransform_node(tree, qtransform, b, index, improved, work + 2 * A);
    for (int64_t a = 0; a < A; ++a) improved[a] += tree.children_prior_logits[e0 + a];
    float* probs = work + A;
    softmax(improved, A, probs);
    int32_t sum_visits = 0;
    for (int64_t a = 0; a < A; ++a) sum_visits += visits[a];
    for (int64_t a = 0; a < A; ++a) probs[a] = probs[a] - float(visits[a]) / (1.0f + float(sum_visits));
    return masked_argmax(probs, tree.invalid_actions.data() + e0, A, work + 2 * A);
  }
};

}  // namespace turborl::mcts
