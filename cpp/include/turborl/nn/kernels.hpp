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
// (so A may be read transposed) and init is C itself, a bias row, or zero.
template <class T, int MR, int NR>
inline void gemm_block(std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row, std::ptrdiff_t a_col, const T* b,
                       std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, const T* bias, bool accumulate) {
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
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < NR; ++j) S::store(c + r * ldc + j * S::kLanes, acc[r][j]);
}

template <class T, int MR>
inline void gemm_row_block(std::ptrdiff_t cols, std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row,
                           std::ptrdiff_t a_col, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc,
                           const T* bias, bool accumulate) {
  constexpr int L = Simd<T>::kLanes;
  std::ptrdiff_t j = 0;
  for (; j + kBlockVectors * L <= cols; j += kBlockVectors * L)
    gemm_block<T, MR, kBlockVectors>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias ? bias + j : nullptr,
                                     accumulate);
  const std::ptrdiff_t left = (cols - j) / L;  // fewer than kBlockVectors vectors
  const T* bias_j = bias ? bias + j : nullptr;
  static_assert(kBlockVectors <= 4, "the remainder below handles up to 3 vectors");
  if (left == 3) gemm_block<T, MR, 3>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate);
  if (left == 2) gemm_block<T, MR, 2>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate);
  if (left == 1) gemm_block<T, MR, 1>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias_j, accumulate);
}

// C[rows, cols] = init + A[rows, depth] * B[depth, cols]; cols is a multiple of kPad and B, C and
// bias are padded to it. A(i, q) = a[i * a_row + q * a_col].
template <class T>
inline void gemm(std::ptrdiff_t rows, std::ptrdiff_t cols, std::ptrdiff_t depth, const T* a, std::ptrdiff_t a_row,
                 std::ptrdiff_t a_col, const T* b, std::ptrdiff_t ldb, T* c, std::ptrdiff_t ldc, const T* bias,
                 bool accumulate) {
  std::ptrdiff_t i = 0;
  for (; i + kBlockRows <= rows; i += kBlockRows)
    gemm_row_block<T, kBlockRows>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate);
  for (; i + 2 <= rows; i += 2)
    gemm_row_block<T, 2>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate);
  for (; i < rows; ++i)
    gemm_row_block<T, 1>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate);
}

// tanh for float32 vectors, branch-free so that whole activation matrices vectorise:
// tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), expm1 by Cody-Waite range reduction and a
// degree-7 Taylor polynomial on |r| <= ln2/2 (truncation error < 2e-8 relative). expm1 rather
// than exp keeps full relative accuracy near zero, where 1 - exp(-2|x|) would cancel.
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
    ax = ax < 9.0f ? ax : V{} + 9.0f;  // tanh(9) == 1 in float32
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
