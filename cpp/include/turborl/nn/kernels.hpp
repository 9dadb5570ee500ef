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

inline constexpr int kPad = 16;  // elements: one 64-byte vector of float, two of double

inline constexpr std::ptrdiff_t padded(std::ptrdiff_t n) { return (n + kPad - 1) / kPad * kPad; }

template <class T>
struct Simd {
  static constexpr int kLanes = 64 / int(sizeof(T));
  typedef T Vec __attribute__((vector_size(64)));
  static Vec load(const T* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  static void store(T* p, Vec v) { std::memcpy(p, &v, sizeof(Vec)); }
  static Vec zero() { return Vec{} ; }
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
  for (; j + 4 * L <= cols; j += 4 * L)
    gemm_block<T, MR, 4>(depth, a, a_row, a_col, b + j, ldb, c + j, ldc, bias ? bias + j : nullptr, accumulate);
  const std::ptrdiff_t left = (cols - j) / L;
  const T* bias_j = bias ? bias + j : nullptr;
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
  for (; i + 4 <= rows; i += 4)
    gemm_row_block<T, 4>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate);
  for (; i < rows; ++i)
    gemm_row_block<T, 1>(cols, depth, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, bias, accumulate);
}

// tanh for float32 vectors, branch-free so that whole activation matrices vectorise:
// tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)), expm1 by Cody-Waite range reduction and a
// degree-7 Taylor polynomial on |r| <= ln2/2 (truncation error < 2e-8 relative). expm1 rather
// than exp keeps full relative accuracy near zero, where 1 - exp(-2|x|) would cancel.
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
  typedef int32_t VI __attribute__((vector_size(64)));
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
