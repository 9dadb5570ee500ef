#pragma once
// A tabular MDP as the planning kernels read it: rows are (state, action) pairs, row s * A + a,
// and each row lists its next states with their probabilities. Two layouts share one interface:
//
//   DeterministicTransitions  next[S * A] (int32), -1 = the episode ends (the BRIDGE dataset's
//                             consolidated.npz layout); 4 bytes a row, what large MDPs need;
//   SparseTransitions         CSR: offsets[S * A + 1] (int64), next[nnz] (int32), probs[nnz]
//                             (float64); a next state of -1 is the probability of ending.
//
// Rewards are float64 [S * A] (the expected reward of the row). A state may be marked terminal
// (absorbing, value 0) by a byte mask. The arrays belong to the caller; the views only read them.
// Index validity is checked once in Python when the MDP is built, so the sweeps do not branch on it.
#include <cmath>
#include <cstdint>

#include "turborl/core/check.hpp"
#include "turborl/core/hd.hpp"

namespace turborl::planning {

struct DeterministicTransitions {
  const int32_t* next;

  // sum_{s'} P(s' | row) * value[s']; the end of the episode contributes 0.
  TURBORL_HD TURBORL_INLINE double expected(int64_t row, const double* value) const {
    const int32_t n = next[row];
    return n >= 0 ? value[n] : 0.0;
  }

  // Calls visit(s') for every next state with nonzero probability.
  template <class Visit>
  void for_each_successor(int64_t row, Visit&& visit) const {
    if (next[row] >= 0) visit(next[row]);
  }

  // Asks the CPU to fetch the values this row will read: next states are scattered over the
  // value vector, so without it each row waits for a cache miss (host only).
  void prefetch(int64_t row, const double* value) const {
    if (next[row] >= 0) __builtin_prefetch(value + next[row]);
  }
};

struct SparseTransitions {
  const int64_t* offsets;
  const int32_t* next;
  const double* probs;

  TURBORL_HD TURBORL_INLINE double expected(int64_t row, const double* value) const {
    double sum = 0.0;
    for (int64_t k = offsets[row]; k < offsets[row + 1]; ++k) {
      const int32_t n = next[k];
      sum += n >= 0 ? probs[k] * value[n] : 0.0;
    }
    return sum;
  }

  template <class Visit>
  void for_each_successor(int64_t row, Visit&& visit) const {
    for (int64_t k = offsets[row]; k < offsets[row + 1]; ++k) {
      if (next[k] >= 0 && probs[k] > 0.0) visit(next[k]);
    }
  }

  void prefetch(int64_t row, const double* value) const {
    for (int64_t k = offsets[row]; k < offsets[row + 1]; ++k) {
      if (next[k] >= 0) __builtin_prefetch(value + next[k]);
    }
  }
};

template <class Transitions>
struct TabularMdpView {
  int64_t num_states;
  int64_t num_actions;
  Transitions transitions;
  const double* rewards;    // [S * A]
  const uint8_t* terminal;  // [S] or nullptr: a terminal state is worth 0 and is never left

  TURBORL_HD TURBORL_INLINE bool is_terminal(int64_t s) const { return terminal != nullptr && terminal[s] != 0; }
};

// Checks that every index a sweep follows is inside the arrays, and that rows are distributions,
// once, before any sweep: the sweeps themselves do not branch on it. Messages use the Python
// argument names (transitions, rewards).
inline void check_deterministic(int64_t num_states, int64_t num_rows, const int32_t* next) {
  for (int64_t row = 0; row < num_rows; ++row) {
    TURBORL_CHECK(next[row] >= -1 && next[row] < num_states, "transitions[", row / (num_rows / num_states), ", ",
                  row % (num_rows / num_states), "] = ", next[row], " is outside [0, ", num_states,
                  ") (-1 ends the episode)");
  }
}

inline void check_sparse(int64_t num_states, int64_t num_rows, const int64_t* offsets, int64_t nnz,
                         const int32_t* next, const double* probs, double tolerance) {
  const int64_t num_actions = num_rows / num_states;
  TURBORL_CHECK(offsets[0] == 0, "transitions: the row offsets must start at 0, got ", offsets[0]);
  TURBORL_CHECK(offsets[num_rows] == nnz, "transitions: the row offsets must end at the number of entries ", nnz,
                ", got ", offsets[num_rows]);
  for (int64_t row = 0; row < num_rows; ++row) {
    TURBORL_CHECK(offsets[row + 1] >= offsets[row], "transitions: row offsets must not decrease, row ", row,
                  " has ", offsets[row], " then ", offsets[row + 1]);
    double total = 0.0;
    for (int64_t k = offsets[row]; k < offsets[row + 1]; ++k) {
      TURBORL_CHECK(next[k] >= -1 && next[k] < num_states, "transitions: next state ", next[k], " of state ",
                    row / num_actions, ", action ", row % num_actions, " is outside [0, ", num_states, ")");
      TURBORL_CHECK(std::isfinite(probs[k]) && probs[k] >= 0.0, "transitions: probability ", probs[k],
                    " of state ", row / num_actions, ", action ", row % num_actions, " must be finite and >= 0");
      total += probs[k];
    }
    TURBORL_CHECK(std::abs(total - 1.0) <= tolerance, "transitions: the probabilities of state ", row / num_actions,
                  ", action ", row % num_actions, " sum to ", total, ", not 1 (tolerance ", tolerance, ")");
  }
}

inline void check_rewards(int64_t num_rows, int64_t num_actions, const double* rewards) {
  for (int64_t row = 0; row < num_rows; ++row) {
    TURBORL_CHECK(std::isfinite(rewards[row]), "rewards[", row / num_actions, ", ", row % num_actions, "] must be finite, got ",
                  rewards[row]);
  }
}

}  // namespace turborl::planning
