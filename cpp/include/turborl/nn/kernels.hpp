#pragma once
// Matrix and activation kernels for small dense networks (2-3 layers of 4-256 units, batches of
// 1-1024 rows). At these sizes a call into BLAS costs as much as the arithmetic, so the engine uses
// one register-blocked kernel written with GCC/Clang vector extensions (64-byte vectors: one
// AVX-512 register, or two AVX2 registers where AVX-512 is absent), called with no dispatch
// overhead. bench/bench_nn.py measures it against OpenBLAS's sgemm on the same shapes.
//
// Layout rules that keep the kernel free of edge cases: every activation matrix has a leading
// dimension padded to a multiple of kPad elements and its padding columns hold zeros; the
// reduction dimension is never padded. Reductions run in a fixed order on one thread, so results
// never depend on thread counts.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace turborl::nn {

inline constexpr int kPad = 16;  // elements: a whole number of vectors for float and double on every ISA

inline constexpr std::ptrdiff_t padded(std::ptrdiff_t n) { return (n + kPad - 1) / kPad * kPad; }

// Vectors are one machine register wide (wider GCC vectors than the ISA's registers are split
// through memory: measured 50x slower), and the kernel keeps a kBlockRows x kBlockVectors block of
// accumulators in registers. With AVX-512's 32 registers a 6 x 4 block measured fastest
// (bench/native/bench_gemm.cpp: it matched or beat OpenBLAS on every MLP shape; 4 x 4 was 13%
// slower, 8 x 4 spilled); AVX2 and SSE have 16 registers, so 3 x 4 leaves room for B's row.
#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64, kBlockRows = 6, kBlockVectors = 4;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32, kBlockRows = 3, kBlockVectors = 4;
#else
inline constexpr int kVectorBytes = 16, kBlockRows = 3, kBlockVectors = 4;
#endif

template <class T>
struct Simd {
  static constexpr int kLanes = kVectorBytes / int(sizeof(T));
  static_assert(kPad % kLanes == 0, "padding must hold whole vectors");
  typedef T Vec __attribute__((vector_size(kVectorBytes)));
  [[gnu::always_inline]] static inline Vec load(const T* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  [[gnu::always_inline]] static inline void store(T* p, Vec v) { std::memcpy(p, &v, sizeof(Vec)); }
  [[gnu::always_inline]] static inline Vec zero() { return Vec{}; }
};

// C[MR rows, NR vectors] = init + sum_q A(r, q) * B[q, :], where A(r, q) = a[r * a_row + q * a_col]
// (so A may be read transposed) and init is C itself, a bias row, or zero; with relu, max(0, C) is
// stored instead (a forward pass's ReLU, applied in registers rather than in a second pass).
template <class T, int MR, int NR>
inline void gemm_block(std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const T* b,
                       std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, const T* bias, bool accumulate, bool relu) {
  using S = Simd<T>;
  using V = typename S::Vec;
  V acc[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j)
      acc[r][j] = accumulate ? S::load(c + r * ldc + j * S::kLanes)
                             : (bias != nullptr ? S::load(bias + j * S::kLanes) : S::zero());
  for (std::ptrdiff_t q = 0; q < depth; ++q) {
    V bq[NR];
    for (int j = 0; j < NR; ++j) bq[j] = S::load(b + q * ldb + j * S::kLanes);
    for (int r = 0; r < MR; ++r) {
      const T arq = a[r * a_row + q * a_col];
      for (int j = 0; j < NR; ++j) acc[r][j] += arq * bq[j];
    }
  }
  if (relu)
    for (int r = 0; r < MR; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] = acc[r][j] > T(0) ? acc[r][j] : S::zero();
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) S::store(c + r * ldc + j * S::kLanes, acc[r][j]);
}

template <class T, int MR>
inline void gemm_row_block(std::ptrdiff_t cols, std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row,
                           std::ptrdiff_t a_col, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc,
                           const T* bias, bool accumulate, bool relu) {
  constexpr int L = Simd<T>::kLanes;
  std::ptrdiff_t j = 0;
  for (; j + kBlockVectors * L <= cols; j += kBlockVectors * L)
    gemm_block<T, MR, kBlockVectors>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias ? bias + j : nullptr,
                                     accumulate, relu);
  const std::ptrdiff_t left = (cols - j) / L;  // fewer than kBlockVectors vectors
  const T* bias_j = bias ? bias + j : nullptr;
  static_assert(kBlockVectors <= 4, "the remainder below handles up to 3 vectors");
  if (left == 3) gemm_block<T, MR, 3>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate, relu);
  if (left == 2) gemm_block<T, MR, 2>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate, relu);
  if (left == 1) gemm_block<T, MR, 1>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate, relu);
}

// C[rows, cols] = init + A[rows, depth] * B[depth, cols], or its ReLU; cols is a multiple of kPad
// and B, C and bias are padded to it. A(i, q) = a[i * a_row + q * a_col].
template <class T>
inline void gemm(std::ptrdiff_t rows, std::ptrdiff_t cols, std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row,
                 std::ptrdiff_t a_col, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, const T* bias,
                 bool accumulate, bool relu = false) {
  std::ptrdiff_t i = 0;
  for (; i + kBlockRows <= rows; i += kBlockRows)
    gemm_row_block<T, kBlockRows>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate, relu);
  for (; i + 2 <= rows; i += 2)
    gemm_row_block<T, 2>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate, relu);
  for (; i < rows; ++i)
    gemm_row_block<T, 1>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate, relu);
}

// Sum of a vector's lanes, pairwise in a fixed order: halves added until two lanes are left.
template <class T, int Bytes, class V>
[[gnu::always_inline]] inline T lane_sum(V v) {
  if constexpr (Bytes == 2 * int(sizeof(T))) {
    return v[0] + v[1];
  } else {
    typedef T Half __attribute__((vector_size(Bytes / 2)));
    Half low, high;
    std::memcpy(&low, &v, Bytes / 2);
    std::memcpy(&high, reinterpret_cast<const char*>(&v) + Bytes / 2, Bytes / 2);
    return lane_sum<T, Bytes / 2>(low + high);
  }
}
template <class T>
[[gnu::always_inline]] inline T horizontal_sum(typename Simd<T>::Vec v) {
  return lane_sum<T, kVectorBytes>(v);
}

// Layers with at most kNarrow outputs (value heads, Q-values, small action spaces) leave 12-15 of
// a padded vector's 16 lanes idle in the register-blocked gemm, which then does 4-16x the useful
// arithmetic: 13% of a TD3 update at batch 512 with 64-unit layers went to the one-output layers.
// The kernels below work on the NO real outputs only. Both need inputs whose rows are padded
// (depth a multiple of kPad, padding zero): the activations of a hidden layer.
inline constexpr int kNarrow = 4;
static_assert(kNarrow <= kPad);

// C[r, o] = bias[o] + A[r, :] . W[o, :] for o < NO, and C[r, NO:kPad] = 0 (NO <= kNarrow, so
// ldc is kPad); W holds rows [NO, ldw].
template <class T, int NO>
inline void gemm_narrow_out(std::ptrdiff_t rows, std::ptrdiff_t depth, const T* a, std::ptrdiff_t lda,
                            const T* w_rows, std::ptrdiff_t ldw, const T* bias, T* c, std::ptrdiff_t ldc) {
  using S = Simd<T>;
  using V = typename S::Vec;
  for (std::ptrdiff_t r = 0; r < rows; ++r) {
    V acc[NO] = {};
    for (std::ptrdiff_t q = 0; q < depth; q += S::kLanes) {
      const V x = S::load(a + r * lda + q);
      for (int o = 0; o < NO; ++o) acc[o] += x * S::load(w_rows + o * ldw + q);
    }
    // The padded row is built in registers (a row written as scalars and read back as vectors
    // stalls); with 16-byte vectors a float64 row of 3-4 outputs spans two of them.
    V values[kPad / S::kLanes] = {};
    for (int o = 0; o < NO; ++o) values[o / S::kLanes][o % S::kLanes] = bias[o] + horizontal_sum<T>(acc[o]);
    for (int j = 0; j < kPad / S::kLanes; ++j) S::store(c + r * ldc + j * S::kLanes, values[j]);
  }
}

// G[i, o] += sum_r A[r, i] * D[r, o] for i < cols, o < NO (a weight gradient W^T [cols, ldg] of a
// layer with NO outputs), summed over r in order. Accumulators: NV vectors of A's columns for each
// output, kept in registers across all rows.
template <class T, int NO, int NV>
inline void gemm_narrow_grad_block(std::ptrdiff_t rows, std::ptrdiff_t col0, std::ptrdiff_t cols, const T* a,
                                   std::ptrdiff_t lda, const T* d, std::ptrdiff_t ldd, T* g, std::ptrdiff_t ldg) {
  using S = Simd<T>;
  using V = typename S::Vec;
  V acc[NO][NV] = {};
  for (std::ptrdiff_t r = 0; r < rows; ++r) {
    V x[NV];
    for (int v = 0; v < NV; ++v) x[v] = S::load(a + r * lda + col0 + v * S::kLanes);
    for (int o = 0; o < NO; ++o) {
      const T dro = d[r * ldd + o];
      for (int v = 0; v < NV; ++v) acc[o][v] += x[v] * dro;
    }
  }
  for (int o = 0; o < NO; ++o)
    for (int v = 0; v < NV; ++v)
      for (int j = 0; j < S::kLanes; ++j) {
        const std::ptrdiff_t i = col0 + v * S::kLanes + j;
        if (i < cols) g[i * ldg + o] += acc[o][v][j];
      }
}

template <class T, int NO>
inline void gemm_narrow_grad(std::ptrdiff_t rows, std::ptrdiff_t cols, const T* a, std::ptrdiff_t lda, const T* d,
                             std::ptrdiff_t ldd, T* g, std::ptrdiff_t ldg) {
  constexpr int L = Simd<T>::kLanes;
  // As many column vectors per pass as the registers hold: NO accumulators and one loaded vector
  // per column vector, plus the broadcast (32 vector registers with AVX-512, 16 otherwise).
  constexpr int kRegisters = kVectorBytes == 64 ? 32 : 16;
  constexpr int kVectors = std::max(1, std::min(4, (kRegisters - 2) / (NO + 1)));
  std::ptrdiff_t i = 0;
  for (; i + kVectors * L <= cols; i += kVectors * L)
    gemm_narrow_grad_block<T, NO, kVectors>(rows, i, cols, a, lda, d, ldd, g, ldg);
  for (; i < cols; i += L) gemm_narrow_grad_block<T, NO, 1>(rows, i, cols, a, lda, d, ldd, g, ldg);
}

// out[j] += sum_r D[r, j] for j < cols (a multiple of the vector width), summed over r in order,
// in registers (a bias gradient; adding into memory row by row waited on the store each time).
template <class T, int NV>
inline void add_column_sums_block(std::ptrdiff_t rows, const T* d, std::ptrdiff_t ldd, T* out) {
  using S = Simd<T>;
  typename S::Vec acc[NV] = {};
  for (std::ptrdiff_t r = 0; r < rows; ++r)
    for (int v = 0; v < NV; ++v) acc[v] += S::load(d + r * ldd + v * S::kLanes);
  for (int v = 0; v < NV; ++v) S::store(out + v * S::kLanes, S::load(out + v * S::kLanes) + acc[v]);
}

template <class T>
inline void add_column_sums(std::ptrdiff_t rows, std::ptrdiff_t cols, const T* d, std::ptrdiff_t ldd, T* out) {
  constexpr int L = Simd<T>::kLanes;
  std::ptrdiff_t j = 0;
  for (; j + kBlockVectors * L <= cols; j += kBlockVectors * L)
    add_column_sums_block<T, kBlockVectors>(rows, d + j, ldd, out + j);
  for (; j < cols; j += L) add_column_sums_block<T, 1>(rows, d + j, ldd, out + j);
}

// sum_i a[i] * b[i] for n a multiple of kPad, in kLanes fixed lanes (deterministic order).
template <class T>
inline T dot_padded(const T* a, const T* b, std::ptrdiff_t n) {
  using S = Simd<T>;
  typename S::Vec acc0 = S::zero(), acc1 = S::zero();
  std::ptrdiff_t i = 0;
  for (; i + 2 * S::kLanes <= n; i += 2 * S::kLanes) {
    acc0 += S::load(a + i) * S::load(b + i);
    acc1 += S::load(a + i + S::kLanes) * S::load(b + i + S::kLanes);
  }
  for (; i < n; i += S::kLanes) acc0 += S::load(a + i) * S::load(b + i);
  acc0 += acc1;
  T sum = 0;
  for (int j = 0; j < S::kLanes; ++j) sum += acc0[j];
  return sum;
}

template <class To, class From>
inline To bit_cast_vector(const From& from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

// tanh for float32 vectors, branch-free so that whole activation matrices vectorise:
// tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), expm1 by Cody-Waite range reduction and a
// degree-7 Taylor polynomial on |r| <= ln2/2 (truncation error < 2e-8 relative). expm1 rather
// than exp keeps full relative accuracy near zero, where 1 - exp(-2|x|) would cancel.
inline void tanh_inplace(float* x, std::ptrdiff_t n) {
  using S = Simd<float>;
  using V = S::Vec;
  typedef int32_t VI __attribute__((vector_size(kVectorBytes)));
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860682030941723e-6f;
  const VI sign_mask = VI{} + int32_t(0x80000000u);
  std::ptrdiff_t i = 0;
  for (; i + S::kLanes <= n; i += S::kLanes) {
    const VI bits = bit_cast_vector<VI>(S::load(x + i));
    const VI sign = bits & sign_mask;
    V ax = bit_cast_vector<V>(bits & ~sign_mask);
    ax = ax > 9.0f ? V{} + 9.0f : ax;  // tanh(9) == 1 in float32; NaN stays NaN (a diverged net must show)
    const V u = -2.0f * ax;                                        // in [-18, 0]
    const VI m = __builtin_convertvector(-u * kLog2e + 0.5f, VI);  // round(-u / ln 2) >= 0
    const V mf = __builtin_convertvector(m, V);
    const V r = (u + mf * kLn2Hi) + mf * kLn2Lo;  // u = -m ln2 + r
    V p = V{} + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = (p * r) * r + r;  // expm1(r)
    const V scale = bit_cast_vector<V>((127 - m) << 23);  // 2^-m
    const V em1 = scale * p + (scale - 1.0f);              // expm1(u)
    const V t = -em1 / (2.0f + em1);
    S::store(x + i, bit_cast_vector<V>(bit_cast_vector<VI>(t) | sign));
  }
  for (; i < n; ++i) x[i] = std::tanh(x[i]);
}
inline void tanh_inplace(double* x, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

}  // namespace turborl::nn
