#pragma once
// Small vectorised math loops the compiler will not vectorise by itself: without -fno-math-errno,
// GCC and Clang keep std::sqrt and std::exp scalar (they may set errno), which made the per-pixel
// 1/sqrt of the local norms, the sigmoid of per-pixel attention and Adam's sqrt slow steps (in
// float models; double is for gradient checks and stays scalar). inv_sqrt_clamped is within 2 ulp
// of the correctly rounded value; sigmoid is within 3e-7 relative of the exact value (its
// polynomial exp, then one division). 256-bit only:
// GCC 12 warns (falsely) about the undefined pass-through operand inside the 512-bit sqrt and max
// intrinsics.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "tlc/core/config.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace tlc::cpu {

// v[i] = 1 / sqrt(max(v[i], 0) + eps) for i in [0, n). (max_ps(0, x) returns x when x is NaN, as
// std::max(x, 0.0f) does, so NaN propagates on every path.) With AVX-512 the 14-bit hardware
// estimate refined by one Newton step, within 2 ulp of the correctly rounded value (a sqrt and a
// division cost several times more); where the Newton step gives NaN (at 0 and inf) the estimate
// itself is exact. With AVX only, sqrt and division (correctly rounded; AVX's 12-bit estimate
// flushes subnormals).
inline void inv_sqrt_clamped(float* v, index_t n, float eps) {
  index_t i = 0;
#if defined(__AVX__)
  const __m256 zero8 = _mm256_setzero_ps(), eps8 = _mm256_set1_ps(eps);
#if defined(__AVX512VL__)
  const __m256 half8 = _mm256_set1_ps(0.5f), three_halves8 = _mm256_set1_ps(1.5f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_add_ps(_mm256_max_ps(zero8, _mm256_loadu_ps(v + i)), eps8);
    const __m256 y0 = _mm256_rsqrt14_ps(x);
    const __m256 hxy = _mm256_mul_ps(_mm256_mul_ps(half8, x), y0);
    const __m256 y = _mm256_mul_ps(y0, _mm256_sub_ps(three_halves8, _mm256_mul_ps(hxy, y0)));
    const __m256 bad = _mm256_andnot_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
    _mm256_storeu_ps(v + i, _mm256_blendv_ps(y, y0, bad));
  }
#else
  const __m256 one8 = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_add_ps(_mm256_max_ps(zero8, _mm256_loadu_ps(v + i)), eps8);
    _mm256_storeu_ps(v + i, _mm256_div_ps(one8, _mm256_sqrt_ps(x)));
  }
#endif
#endif
  for (; i < n; ++i) v[i] = 1.0f / std::sqrt(std::max(v[i], 0.0f) + eps);
}

// v[i] = sqrt(v[i]) for i in [0, n), correctly rounded like std::sqrt (negative inputs give NaN);
// T is float or double.
template <class T>
void sqrt_in_place(T* v, index_t n) {
  index_t i = 0;
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, _mm256_sqrt_ps(_mm256_loadu_ps(v + i)));
  } else {
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(v + i, _mm256_sqrt_pd(_mm256_loadu_pd(v + i)));
  }
#endif
  for (; i < n; ++i) v[i] = std::sqrt(v[i]);
}

#if defined(__AVX2__) && defined(__FMA__)
// e^x for 8 floats: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n ln2 is exact enough),
// e^r by its degree-6 Taylor polynomial (truncation < 1.3e-7 relative), 2^n built in the exponent
// bits. x is clamped to [-87.3, 88], where 2^n stays a finite normal float; NaN propagates.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  for (float c : {1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
#endif

// y[i] = 1 / (1 + e^-x[i]) for i in [0, n).
inline void sigmoid(const float* x, float* y, index_t n) {
  index_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(zero, _mm256_loadu_ps(x + i)));
    _mm256_storeu_ps(y + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
  }
#endif
  for (; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

}  // namespace tlc::cpu
