#pragma once
// Batched Bellman targets for fitted-Q iteration and DQN-style learners on large datasets:
//
//   target_i = r_i + discount_i * (1 - terminated_i) * Q_next(s'_i, a*_i)
//   a*_i = argmax_a Q_next(s'_i, a)          (plain fitted-Q / DQN)
//   a*_i = argmax_a Q_select(s'_i, a)        (double Q-learning: one network picks, the other rates)
//
// discount_i is gamma for one-step data or gamma^n_i for n-step returns (r_i then holds the
// discounted n-step reward sum). Ties in the argmax go to the lowest action, as numpy and torch.
// Each target is computed independently, so the result does not depend on the thread count.
#include <cstdint>

#include "turborl/core/thread_pool.hpp"

namespace turborl::planning {

template <class Real>
struct BellmanTargetArgs {
  int64_t num_samples;
  int64_t num_actions;
  const Real* rewards;        // [N]
  const uint8_t* terminated;  // [N]: no bootstrap after a true end (not a truncation)
  const Real* next_q;         // [N, A]
  const Real* next_q_select;  // [N, A] or null (then next_q selects)
  const Real* discounts;      // [N] or null (then gamma for all)
  Real gamma;
  Real* out;                  // [N]
};

template <class Real>
void bellman_targets(const BellmanTargetArgs<Real>& args, ThreadPool& pool) {
  const int64_t A = args.num_actions;
  pool.run_chunks(
      args.num_samples,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const Real* select = (args.next_q_select != nullptr ? args.next_q_select : args.next_q) + i * A;
          int64_t best = 0;
          for (int64_t a = 1; a < A; ++a) best = select[a] > select[best] ? a : best;
          const Real discount = args.discounts != nullptr ? args.discounts[i] : args.gamma;
          const Real bootstrap = args.terminated[i] != 0 ? Real(0) : discount * args.next_q[i * A + best];
          args.out[i] = args.rewards[i] + bootstrap;
        }
      },
      16384);
}

}  // namespace turborl::planning
