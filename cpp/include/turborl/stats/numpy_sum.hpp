#pragma once
// Sums in NumPy's order, so that statistics computed here equal NumPy's bit for bit.
//
// np.add.reduce over a contiguous float64 array is NumPy's pairwise sum
// (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum_DOUBLE): fewer than 8 values are added
// in order to 0.0; up to 128 are spread over 8 accumulators combined as
// ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), the remainder added after; longer arrays are
// split in two at a multiple of 8 and summed recursively. (Checked against NumPy 2.4 on 6,000
// arrays of 1 to 10,007 values: all equal.)
#include <cstdint>

namespace turborl::stats {

inline double numpy_pairwise_sum(const double* a, int64_t n) {
  if (n < 8) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  int64_t half = n / 2;
  half -= half % 8;
  return numpy_pairwise_sum(a, half) + numpy_pairwise_sum(a + half, n - half);
}

// np.sum / np.add.reduce of a contiguous 1-D float64 array.
inline double numpy_sum(const double* a, int64_t n) { return numpy_pairwise_sum(a, n); }

// np.mean of a contiguous 1-D float64 array.
inline double numpy_mean(const double* a, int64_t n) { return numpy_sum(a, n) / double(n); }

}  // namespace turborl::stats
