#pragma once
// n-step targets computed at sample time along one env's lane of rows (Sutton & Barto, ch. 7;
// Hessel et al., "Rainbow", 2018): from row t, sum up to n discounted rewards, stopping at the
// first termination (no bootstrap: discount 0), at the first truncation (bootstrap from the
// episode's true final observation) or at the newest row whose next observation is stored.
// Because nothing is precomputed when adding, n and gamma can change from one sample to the next.
#include <cstdint>

#include "turborl/core/hd.hpp"

namespace turborl::replay {

struct NStepTarget {
  double discounted_return;  // sum_{j<k} gamma^j r_{t+j}
  double discount;           // gamma^k, or 0 when the episode terminated within the k steps
  int64_t last_time;         // t + k - 1: the last row whose reward is included
};

// `lane` gives reward(u), terminated(u) and truncated(u) for absolute times u of one env;
// rows t..last_time may be read.
template <class Lane>
TURBORL_INLINE NStepTarget n_step_target(const Lane& lane, int64_t t, int n, double gamma, int64_t last_time) {
  double discounted_return = 0.0;
  double scale = 1.0;
  int64_t u = t;
  for (int k = 1;; ++k, ++u) {
    discounted_return += scale * lane.reward(u);
    scale *= gamma;
    if (lane.terminated(u)) return {discounted_return, 0.0, u};
    if (lane.truncated(u) || k == n || u >= last_time) return {discounted_return, scale, u};
  }
}

}  // namespace turborl::replay
