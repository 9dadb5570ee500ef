#pragma once
// Permutation statistics for AdaStop (Mathieu et al., "AdaStop: adaptive statistical testing for
// sound comparisons of Deep RL agents", 2023; adastop's compare_agents.py): the group assignments
// of one interim's n1 + n2 evaluations, and for each assignment the mean of the first group and
// of the rest, computed as np.mean(z[mask]) and np.mean(z[~mask]) are.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/stats/numpy_sum.hpp"

namespace turborl::stats {

// C(n, k) if it is at most `limit`, else limit + 1.
inline int64_t binomial_capped(int64_t n, int64_t k, int64_t limit) {
  if (k < 0 || k > n) return 0;
  k = std::min(k, n - k);
  // C(n, i) = C(n, i - 1) * (n - k + i) / i stays integral; stop once it passes the limit.
  __int128 value = 1;
  for (int64_t i = 1; i <= k; ++i) {
    value = value * (n - k + i) / i;
    if (value > limit) return limit + 1;
  }
  return int64_t(value);
}

// Every k-subset of {0, ..., n-1} as masks [count][n], in itertools.combinations order.
inline std::vector<uint8_t> all_subsets(int64_t n, int64_t k, int64_t count) {
  std::vector<uint8_t> masks(size_t(count * n), 0);
  std::vector<int64_t> chosen(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) chosen[size_t(i)] = i;
  for (int64_t row = 0; row < count; ++row) {
    for (int64_t i = 0; i < k; ++i) masks[size_t(row * n + chosen[size_t(i)])] = 1;
    // Next combination: advance the rightmost index that can move, reset those after it.
    int64_t i = k - 1;
    while (i >= 0 && chosen[size_t(i)] == n - k + i) --i;
    if (i < 0) break;
    chosen[size_t(i)] += 1;
    for (int64_t j = i + 1; j < k; ++j) chosen[size_t(j)] = chosen[size_t(j - 1)] + 1;
  }
  return masks;
}

// `count` uniformly random k-subsets (partial Fisher-Yates) from the Philox stream of `seed` and
// `stream`; the first row is the identity assignment {0, ..., k-1}, as adastop's.
inline std::vector<uint8_t> random_subsets(int64_t n, int64_t k, int64_t count, uint64_t seed, uint64_t stream) {
  std::vector<uint8_t> masks(size_t(count * n), 0);
  CounterRng rng(seed, uint32_t(stream), uint32_t(stream >> 32), static_cast<uint32_t>(StreamPurpose::kPermutationTest));
  std::vector<int64_t> items(static_cast<size_t>(n));
  for (int64_t row = 0; row < count; ++row) {
    for (int64_t i = 0; i < n; ++i) items[size_t(i)] = i;
    if (row > 0) {
      for (int64_t i = 0; i < k; ++i) {
        const int64_t j = i + int64_t((unsigned __int128)rng.next_u64() * uint64_t(n - i) >> 64);
        std::swap(items[size_t(i)], items[size_t(j)]);
      }
    }
    for (int64_t i = 0; i < k; ++i) masks[size_t(row * n + items[size_t(i)])] = 1;
  }
  return masks;
}

// For each mask row: np.mean(z[mask]) and np.mean(z[~mask]) (selected values in index order).
inline void subset_means(const double* z, int64_t n, const uint8_t* masks, int64_t count, double* mean_in,
                         double* mean_out) {
  std::vector<double> in(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  for (int64_t row = 0; row < count; ++row) {
    int64_t a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (masks[size_t(row * n + i)]) in[size_t(a++)] = z[i];
      else out[size_t(b++)] = z[i];
    }
    TURBORL_CHECK(a >= 1 && b >= 1, "a group assignment must leave both groups non-empty");
    mean_in[row] = numpy_mean(in.data(), a);
    mean_out[row] = numpy_mean(out.data(), b);
  }
}

}  // namespace turborl::stats
