#pragma once
// The arithmetic the simulators use, chosen by the simulation precision `Real`:
//
// - Math<double> is the exact path. It calls the C library exactly where Gymnasium's NumPy code
//   does, so float64 simulations match Gymnasium bit for bit on glibc (NumPy's float64 sin/cos
//   are glibc's; scalar `x**2` in Python and NumPy is libm pow, which differs from x*x in the
//   last bit for ~0.1% of inputs; `%` is fmod with Python's sign rule).
// - Math<float> is the fast path: branch-free polynomial approximations that the compiler
//   vectorises across environments (a libm call would not vectorise). They are identical on the
//   CPU and the GPU, so float32 simulations agree bit for bit across devices.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "turborl/core/hd.hpp"

namespace turborl {

// Python's min(max(x, low), high), which is also np.clip for the non-NaN values simulators see.
template <class T>
TURBORL_HD TURBORL_INLINE T clip(T x, T low, T high) {
  const T at_least_low = (low > x) ? low : x;
  return (high < at_least_low) ? high : at_least_low;
}

namespace detail {

// cond ? if_true : if_false, computed on the bits. Both operands are always evaluated, so the
// compiler cannot turn the choice into a branch around an expensive operand (which it does with
// `?:`, and which stops a loop over envs from vectorising).
template <class Real>
TURBORL_HD TURBORL_INLINE Real select(bool cond, Real if_true, Real if_false) {
  using Bits = std::conditional_t<sizeof(Real) == 8, uint64_t, uint32_t>;
  Bits a, b;
  std::memcpy(&a, &if_true, sizeof(Real));
  std::memcpy(&b, &if_false, sizeof(Real));
  const Bits mask = Bits(0) - Bits(cond);
  const Bits chosen = (a & mask) | (b & ~mask);
  Real result;
  std::memcpy(&result, &chosen, sizeof(Real));
  return result;
}


// libm's pow (or powf) with the exponent hidden from the optimiser: GCC would otherwise rewrite
// pow(x, 2.0) as x*x, which is not what NumPy computes.
template <class T>
inline T libm_pow(T x, T exponent) {
#if defined(__GNUC__) && !defined(__CUDA_ARCH__)
  asm("" : "+m"(exponent));
#endif
  return std::pow(x, exponent);
}

// floor(x), exactly, in a form GCC vectorises (it leaves floorf scalar, and a float-to-int
// conversion, undefined for NaN and large values, turns into a branch). Adding and subtracting
// 2^23 with the sign of x rounds any |x| < 2^23 to an integer (floats in [2^23, 2^24) are spaced
// 1 apart); one correction turns that into floor. Larger floats are integers already; NaN stays.
TURBORL_HD TURBORL_INLINE float fast_floor(float x) {
  constexpr float kTwoTo23 = 8388608.0f;
  const float shift = x < 0.0f ? -kTwoTo23 : kTwoTo23;
  const float rounded = (x + shift) - shift;
  const float floored = rounded > x ? rounded - 1.0f : rounded;
  return (x < kTwoTo23) & (x > -kTwoTo23) ? floored : x;
}

// sin and cos of x with one Cody-Waite reduction by pi/2 and Cephes' minimax polynomials on
// [-pi/4, pi/4] (Moshier, Cephes sinf.c/cosf.c). Error within 2 ulp for |x| < 1e5. Larger
// arguments are first reduced by whole turns, as well as float32 allows; beyond 2^25, where
// floats are spaced more than 2 pi apart and carry no phase at all, the phase is taken as 0.
// Either way the results stay in [-1, 1] rather than overflowing.
TURBORL_HD TURBORL_INLINE void fast_sincos(float x, float& sin_x, float& cos_x) {
  constexpr float kTwoPi = 6.28318530717958647692f;
  const float reduced = x - fast_floor(x * (1.0f / kTwoPi)) * kTwoPi;
  const bool has_phase = (reduced > -kTwoPi) & (reduced < 2.0f * kTwoPi);
  x = select((x > 1e5f) | (x < -1e5f), select(has_phase, reduced, 0.0f), x);
  constexpr float kTwoOverPi = 0.636619772367581343f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float quadrant_f = (x * kTwoOverPi + kRoundMagic) - kRoundMagic;
  // pi/2 split into three floats whose products with the quadrant are exact (Cephes DP1-3 x 2).
  float r = x - quadrant_f * 1.5703125f;
  r = r - quadrant_f * 4.837512969970703125e-4f;
  r = r - quadrant_f * 7.54978995489188216e-8f;
  const float r2 = r * r;
  const float sin_r = ((-1.9515295891e-4f * r2 + 8.3321608736e-3f) * r2 - 1.6666654611e-1f) * r2 * r + r;
  const float cos_r =
      ((2.443315711809948e-5f * r2 - 1.388731625493765e-3f) * r2 + 4.166664568298827e-2f) * r2 * r2 - 0.5f * r2 +
      1.0f;
  const int quadrant = static_cast<int>(quadrant_f);
  const float sin_abs = (quadrant & 1) ? cos_r : sin_r;
  const float cos_abs = (quadrant & 1) ? sin_r : cos_r;
  sin_x = (quadrant & 2) ? -sin_abs : sin_abs;
  cos_x = ((quadrant + 1) & 2) ? -cos_abs : cos_abs;
}

// e^x in float32 arithmetic that vectorises (a loop calling libm's expf stays scalar): x =
// n ln2 + r with |r| <= ln2 / 2 (Cody-Waite, ln2 split in two), e^r by Cephes' minimax
// polynomial (Moshier, expf.c), times 2^n written into the exponent bits. Within 2 ulp of e^x
// for x in [-87.3, 88.3]; 0 below (where e^x is subnormal or -inf went in) and +inf above.
// NaN gives NaN. The same operations for every lane, so the result does not depend on the
// vector width.
TURBORL_HD TURBORL_INLINE float fast_exp(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  constexpr float kLow = -87.3f, kHigh = 88.3f;
  const float clamped = clip(x, kLow, kHigh);
  const float n = (clamped * kLog2e + kRoundMagic) - kRoundMagic;
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  const float poly =
      ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
         1.6666665459e-1f) *
            r +
        5.0000001201e-1f) *
           r2 +
       r) +
      1.0f;
  const uint32_t exponent_bits = uint32_t(int32_t(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &exponent_bits, sizeof(scale));
  const float result = poly * scale;
  const float outside = select(x < kLow, 0.0f, std::numeric_limits<float>::infinity());
  return select((x >= kLow) & (x <= kHigh), result, select(x != x, x, outside));
}

}  // namespace detail

template <class Real>
struct Math;

template <>
struct Math<double> {
  TURBORL_HD TURBORL_INLINE static double sin(double x) { return ::sin(x); }
  TURBORL_HD TURBORL_INLINE static double cos(double x) { return ::cos(x); }
  TURBORL_HD TURBORL_INLINE static void sincos(double x, double& sin_x, double& cos_x) {
    // glibc's sincos returns the same bits as sin and cos (checked on 5e7 inputs).
    sin_x = ::sin(x);
    cos_x = ::cos(x);
  }
  // Python's / NumPy's scalar `x**2`: libm pow for a float64 scalar, powf for a NumPy float32
  // scalar inside a float64 simulation (e.g. Pendulum's action). The GPU, which cannot match
  // glibc anyway, multiplies.
  template <class Scalar>
  TURBORL_HD TURBORL_INLINE static Scalar pow2(Scalar x) {
    static_assert(std::is_same_v<Scalar, double> || std::is_same_v<Scalar, float>);
#if defined(__CUDA_ARCH__)
    return x * x;
#else
    return detail::libm_pow(x, Scalar(2));
#endif
  }
  // Python's and NumPy's a % b: fmod, then moved to the sign of b.
  TURBORL_HD TURBORL_INLINE static double floor_mod(double a, double b) {
    double mod = ::fmod(a, b);
    if (mod != 0.0) {
      if ((b < 0) != (mod < 0)) mod += b;
    } else {
      mod = ::copysign(0.0, b);
    }
    return mod;
  }
};

template <>
struct Math<float> {
  TURBORL_HD TURBORL_INLINE static float sin(float x) {
    float s, c;
    detail::fast_sincos(x, s, c);
    return s;
  }
  TURBORL_HD TURBORL_INLINE static float cos(float x) {
    float s, c;
    detail::fast_sincos(x, s, c);
    return c;
  }
  TURBORL_HD TURBORL_INLINE static void sincos(float x, float& sin_x, float& cos_x) { detail::fast_sincos(x, sin_x, cos_x); }
  TURBORL_HD TURBORL_INLINE static float pow2(float x) { return x * x; }
  // a % b with the sign of b. Where float32 has no phase left (|a / b| beyond 2^23), the
  // difference below is not within one period; such results become 0.
  TURBORL_HD TURBORL_INLINE static float floor_mod(float a, float b) {
    const float mod = a - detail::fast_floor(a / b) * b;
    const bool in_period = b > 0.0f ? (mod >= 0.0f) & (mod < b) : (mod <= 0.0f) & (mod > b);
    return detail::select(in_period, mod, 0.0f);
  }
};

using detail::fast_exp;
using detail::select;

}  // namespace turborl
