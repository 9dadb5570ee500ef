#pragma once
// Bellman backups on tabular MDPs (tabular_mdp.hpp): discounted value iteration to a tolerance,
// finite-horizon backward induction, policy evaluation, the worst policy, and the forward pass
// that finds the states reachable at each timestep.
//
// Every sweep is Jacobi (it reads the previous sweep's values and writes new ones), so the result
// is the same for any number of threads: each state's value is computed by one thread in a fixed
// order, and the residual is a maximum, which does not depend on the order it is taken in.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/planning/tabular_mdp.hpp"

namespace turborl::planning {

// How a state's value follows from its action values Q(s, .).
enum class StateValue : int {
  kMax = 0,     // the optimal (greedy) policy
  kMin = 1,     // the worst policy
  kMean = 2,    // the uniformly random policy
  kPolicy = 3,  // a given stochastic policy pi[s * A + a]
};

// Chunks below this many states stay on one thread: a hand-off costs more than the work.
inline constexpr int64_t kMinStatesPerChunk = 4096;

// Folds action a's value q into the state value v so far (ignored at a == 0); then
// finish_state_value. The one definition of each reduction and of its order of operations: the
// CPU sweep (backup_state, with the kind a compile-time constant) and the CUDA kernel both use
// it, so both reduce in the same order.
TURBORL_HD TURBORL_INLINE double fold_action_value(StateValue kind, double v, double q, int64_t a,
                                                   const double* policy_row) {
  switch (kind) {
    case StateValue::kMax: return a == 0 || q > v ? q : v;
    case StateValue::kMin: return a == 0 || q < v ? q : v;
    case StateValue::kMean: return a == 0 ? q : v + q;
    case StateValue::kPolicy: return a == 0 ? policy_row[0] * q : v + policy_row[a] * q;
  }
  return v;
}

TURBORL_HD TURBORL_INLINE double finish_state_value(StateValue kind, double v, int64_t num_actions) {
  return kind == StateValue::kMean ? v / double(num_actions) : v;
}

// Rows ahead whose next-state values are prefetched: enough misses in flight to cover memory
// latency (measured best among 16-256 on random MDPs with S = 10^6 and 10^7).
inline constexpr int64_t kPrefetchRows = 64;

// One state's backup with the reduction fixed at compile time (the switch in fold_action_value
// folds away).
template <StateValue kKind, class Transitions>
TURBORL_INLINE double backup_state(const TabularMdpView<Transitions>& mdp, double gamma, const double* v_next,
                                   const double* policy, int64_t s, int64_t last_row, double* q_row) {
  const int64_t A = mdp.num_actions;
  const int64_t base = s * A;
  const double* policy_row = policy != nullptr ? policy + base : nullptr;
  double v = 0.0;
  for (int64_t a = 0; a < A; ++a) {
    const int64_t row = base + a;
    if (row + kPrefetchRows < last_row) mdp.transitions.prefetch(row + kPrefetchRows, v_next);
    const double q = mdp.rewards[row] + gamma * mdp.transitions.expected(row, v_next);
    if (q_row != nullptr) q_row[a] = q;
    v = fold_action_value(kKind, v, q, a, policy_row);
  }
  return finish_state_value(kKind, v, A);
}

template <StateValue kKind, class Transitions>
void backup_range(const TabularMdpView<Transitions>& mdp, double gamma, const double* v_next, const double* policy,
                  const uint8_t* active, int64_t begin, int64_t end, double* q_out, double* v_out) {
  const int64_t A = mdp.num_actions;
  const int64_t last_row = end * A;
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (int64_t s = begin; s < end; ++s) {
    double* q_row = q_out != nullptr ? q_out + s * A : nullptr;
    if ((active != nullptr && active[s] == 0) || mdp.is_terminal(s)) {
      const double value = active != nullptr && active[s] == 0 ? kNaN : 0.0;
      if (q_row != nullptr) std::fill(q_row, q_row + A, value);
      if (v_out != nullptr) v_out[s] = value;
      continue;
    }
    const double v = backup_state<kKind>(mdp, gamma, v_next, policy, s, last_row, q_row);
    if (v_out != nullptr) v_out[s] = v;
  }
}

// The one-step backup of states [begin, end): Q(s, a) = R(s, a) + gamma * E[V_next(s')] and
// V(s) = the chosen reduction of Q(s, .). Terminal states get Q = V = 0. States outside `active`
// (when given) get NaN: they are not reachable at this timestep and nothing may read them.
// q_out ([S * A]) and v_out ([S]) may each be null.
template <class Transitions>
void backup_states(const TabularMdpView<Transitions>& mdp, double gamma, const double* v_next, StateValue kind,
                   const double* policy, const uint8_t* active, int64_t begin, int64_t end, double* q_out,
                   double* v_out) {
  switch (kind) {
    case StateValue::kMax:
      return backup_range<StateValue::kMax>(mdp, gamma, v_next, policy, active, begin, end, q_out, v_out);
    case StateValue::kMin:
      return backup_range<StateValue::kMin>(mdp, gamma, v_next, policy, active, begin, end, q_out, v_out);
    case StateValue::kMean:
      return backup_range<StateValue::kMean>(mdp, gamma, v_next, policy, active, begin, end, q_out, v_out);
    case StateValue::kPolicy:
      return backup_range<StateValue::kPolicy>(mdp, gamma, v_next, policy, active, begin, end, q_out, v_out);
  }
}

template <class Transitions>
void backup(const TabularMdpView<Transitions>& mdp, double gamma, const double* v_next, StateValue kind,
            const double* policy, const uint8_t* active, double* q_out, double* v_out, ThreadPool& pool) {
  pool.run_chunks(
      mdp.num_states,
      [&](int64_t begin, int64_t end) { backup_states(mdp, gamma, v_next, kind, policy, active, begin, end, q_out, v_out); },
      kMinStatesPerChunk);
}

struct SweepReport {
  int64_t sweeps;   // sweeps run
  double residual;  // max_s |V_k(s) - V_{k-1}(s)| of the last sweep
};

// Discounted value iteration (kind kMax), policy evaluation (kPolicy, kMean) or the worst policy
// (kMin): V <- backup(V) from the V given until the residual is <= tol or max_sweeps ran; then
// q_out = backup of the final V. `v` [S] holds the initial values and receives the result.
template <class Transitions>
SweepReport iterate_discounted(const TabularMdpView<Transitions>& mdp, double gamma, double tol, int64_t max_sweeps,
                               StateValue kind, const double* policy, double* v, double* q_out, ThreadPool& pool) {
  TURBORL_CHECK(gamma >= 0.0 && gamma < 1.0, "gamma must be in [0, 1) without a horizon, got ", gamma);
  TURBORL_CHECK(tol > 0.0, "tol must be > 0, got ", tol);
  TURBORL_CHECK(max_sweeps >= 1, "max_sweeps must be >= 1, got ", max_sweeps);
  const int64_t S = mdp.num_states;
  // The sweeps gather from these at random: AlignedArray puts large ones on 2 MiB pages, since
  // with 4 KiB pages nearly every gather from a vector larger than the TLB's reach also misses
  // the TLB (measured: 1.6x more sweeps per second at S = 10^7 with random next states).
  AlignedArray<double> first{size_t(S)}, second{size_t(S)};
  double* current = first.data();
  double* next = second.data();
  std::copy(v, v + S, current);
  SweepReport report{0, std::numeric_limits<double>::infinity()};
  std::mutex residual_mutex;
  while (report.sweeps < max_sweeps && !(report.residual <= tol)) {
    double residual = 0.0;
    pool.run_chunks(
        S,
        [&](int64_t begin, int64_t end) {
          backup_states(mdp, gamma, current, kind, policy, nullptr, begin, end, nullptr, next);
          double chunk_residual = 0.0;
          for (int64_t s = begin; s < end; ++s) chunk_residual = std::max(chunk_residual, std::abs(next[s] - current[s]));
          std::lock_guard<std::mutex> lock(residual_mutex);
          residual = std::max(residual, chunk_residual);
        },
        kMinStatesPerChunk);
    std::swap(current, next);
    report.sweeps += 1;
    report.residual = residual;
  }
  std::copy(current, current + S, v);
  backup(mdp, gamma, current, kind, policy, nullptr, q_out, nullptr, pool);
  return report;
}

// Finite-horizon backward induction over timesteps t = T-1, ..., 0 with V_T = 0:
// Q_t = R + gamma * P V_{t+1}, V_t = the reduction of Q_t. q_out is [T, S, A], v_out [T, S].
// `policy` (kPolicy only) is [S, A] for all timesteps, or [T, S, A] when policy_per_step;
// `reachable` ([T, S] or null) restricts step t to the states reachable at t (others are NaN).
template <class Transitions>
void finite_horizon(const TabularMdpView<Transitions>& mdp, int64_t horizon, double gamma, StateValue kind,
                    const double* policy, bool policy_per_step, const uint8_t* reachable, double* q_out,
                    double* v_out, ThreadPool& pool) {
  TURBORL_CHECK(horizon >= 1, "horizon must be >= 1, got ", horizon);
  TURBORL_CHECK(gamma >= 0.0 && gamma <= 1.0, "gamma must be in [0, 1], got ", gamma);
  const int64_t S = mdp.num_states;
  const int64_t SA = S * mdp.num_actions;
  const std::vector<double> zeros(size_t(S), 0.0);
  const double* v_next = zeros.data();
  for (int64_t t = horizon - 1; t >= 0; --t) {
    const double* step_policy = policy != nullptr && policy_per_step ? policy + t * SA : policy;
    const uint8_t* active = reachable != nullptr ? reachable + t * S : nullptr;
    backup(mdp, gamma, v_next, kind, step_policy, active, q_out + t * SA, v_out + t * S, pool);
    v_next = v_out + t * S;
  }
}

// reachable[t * S + s] = 1 if state s can be occupied at timestep t (t = 0 .. T-1) starting from
// the states marked in `initial` [S], under some sequence of actions. Terminal states are never
// left. Writes of 1 from several threads to the same byte are relaxed atomic stores.
template <class Transitions>
void reachable_states(const TabularMdpView<Transitions>& mdp, int64_t horizon, const uint8_t* initial,
                      uint8_t* reachable, ThreadPool& pool) {
  TURBORL_CHECK(horizon >= 1, "horizon must be >= 1, got ", horizon);
  const int64_t S = mdp.num_states;
  const int64_t A = mdp.num_actions;
  std::copy(initial, initial + S, reachable);
  std::fill(reachable + S, reachable + horizon * S, uint8_t(0));
  for (int64_t t = 0; t + 1 < horizon; ++t) {
    const uint8_t* now = reachable + t * S;
    uint8_t* after = reachable + (t + 1) * S;
    pool.run_chunks(
        S,
        [&](int64_t begin, int64_t end) {
          for (int64_t s = begin; s < end; ++s) {
            if (now[s] == 0 || mdp.is_terminal(s)) continue;
            for (int64_t a = 0; a < A; ++a) {
              mdp.transitions.for_each_successor(
                  s * A + a, [&](int32_t n) { std::atomic_ref<uint8_t>(after[n]).store(1, std::memory_order_relaxed); });
            }
          }
        },
        kMinStatesPerChunk);
  }
}

}  // namespace turborl::planning
