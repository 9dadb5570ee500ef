#pragma once
// Operations on one node's row of A actions, as mctx applies them to [B, A] arrays: softmax,
// the invalid-action mask, masked argmax and reductions. A selection step is a dozen of these
// on 16-64 floats, so their dependency chains, not their arithmetic, set its cost: a
// left-to-right float sum or max waits on each addition in turn (the compiler may not reorder
// float additions). The reductions here run kLanes independent partial results instead, lane k
// taking actions k, k + kLanes, ..., combined by halves at the end. The order depends only on A,
// never on the instruction set or the thread, so results stay deterministic; they differ from
// a left-to-right sum only by rounding (XLA sums in an order of its own too).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "turborl/core/math.hpp"

namespace turborl::mcts {

inline constexpr int kLanes = 16;
// kLanes floats as one GCC/Clang vector: the compiler maps its operations to whatever vector
// width the target has (one AVX-512 register, two AVX2 ones, ...) with the same per-lane results.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// op over lane k's actions k, k + kLanes, ... (loaded kLanes at a time; the last partial load
// padded with `init`, which must be op's identity: 0 for +, -inf for max), then the lanes
// combined by halves: 16 -> 8 -> 4 -> 2 -> 1.
template <class Op>
inline float reduce_lanes(const float* x, int64_t n, float init, Op op) {
  const Lanes identity = Lanes{} + init;
  Lanes acc = identity;
  int64_t a = 0;
  for (; a + kLanes <= n; a += kLanes) {
    Lanes v;
    std::memcpy(&v, x + a, sizeof(v));
    acc = op(acc, v);
  }
  if (a < n) {
    Lanes v = identity;
    for (int k = 0; a + k < n; ++k) v[k] = x[a + k];
    acc = op(acc, v);
  }
  acc = op(acc, __builtin_shufflevector(acc, acc, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15));
  acc = op(acc, __builtin_shufflevector(acc, acc, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7, 4, 5, 6, 7));
  acc = op(acc, __builtin_shufflevector(acc, acc, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3));
  acc = op(acc, __builtin_shufflevector(acc, acc, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
  return acc[0];
}

inline float row_sum(const float* x, int64_t n) {
  return reduce_lanes(x, n, 0.0f, [](Lanes a, Lanes b) { return a + b; });
}
inline float row_max(const float* x, int64_t n) {
  return reduce_lanes(x, n, -std::numeric_limits<float>::infinity(), [](Lanes a, Lanes b) { return a < b ? b : a; });
}
inline float row_min(const float* x, int64_t n) {
  return reduce_lanes(x, n, std::numeric_limits<float>::infinity(), [](Lanes a, Lanes b) { return b < a ? b : a; });
}

// softmax over n logits in float32, with the max subtracted as jax.nn.softmax does. The
// exponentials are fast_exp (core/math.hpp, within 2 ulp), which vectorises: libm's expf, a
// call per action, was half of the softmax's time. XLA's exp is an approximation too, so
// neither is bit-identical to mctx; the trees agree within the tests' 1e-5.
inline void softmax(const float* logits, int64_t n, float* out) {
  const float m = row_max(logits, n);
  for (int64_t a = 0; a < n; ++a) out[a] = fast_exp(logits[a] - m);
  const float sum = row_sum(out, n);
  for (int64_t a = 0; a < n; ++a) out[a] /= sum;
}

// mctx's _mask_invalid_actions for one node: logits - max(logits), then the lowest finite float
// where invalid (not -inf, so that a softmax over a fully masked row stays finite).
inline void mask_invalid_actions(const float* logits, const uint8_t* invalid, int64_t n, float* out) {
  const float m = row_max(logits, n);
  for (int64_t a = 0; a < n; ++a) out[a] = invalid[a] ? std::numeric_limits<float>::lowest() : logits[a] - m;
}

// mctx's masked_argmax: the first valid action with the largest score; action 0 when every
// action is invalid (jnp.argmax over all -inf). `masked` is scratch for n floats.
inline int32_t masked_argmax(const float* scores, const uint8_t* invalid, int64_t n, float* masked) {
  for (int64_t a = 0; a < n; ++a) masked[a] = invalid[a] ? -std::numeric_limits<float>::infinity() : scores[a];
  const float best = row_max(masked, n);
  for (int64_t a = 0; a < n; ++a)
    if (masked[a] == best) return int32_t(a);
  return 0;  // unreachable for non-NaN scores
}

}  // namespace turborl::mcts
