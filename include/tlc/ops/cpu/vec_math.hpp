#pragma once
// Small vectorised math loops the compiler will not vectorise by itself: without -fno-math-errno,
// GCC and Clang keep std::sqrt scalar (it may set errno), which made the per-pixel 1/sqrt of the
// local norms their slowest step. IEEE sqrt and division are correctly rounded, so every path gives
// bit-identical results to the scalar loop. 256-bit only: GCC 12 warns (falsely) about the
// undefined pass-through operand inside the 512-bit sqrt and max intrinsics.
#include <algorithm>
#include <cmath>

#include "tlc/core/config.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace tlc::cpu {

// v[i] = 1 / sqrt(max(v[i], 0) + eps) for i in [0, n). (max_pd(0, x) returns x when x is NaN, as
// std::max(x, 0.0) does, so NaN propagates on every path.)
inline void inv_sqrt_clamped(double* v, index_t n, double eps) {
  index_t i = 0;
#if defined(__AVX__)
  const __m256d zero4 = _mm256_setzero_pd(), eps4 = _mm256_set1_pd(eps), one4 = _mm256_set1_pd(1.0);
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_add_pd(_mm256_max_pd(zero4, _mm256_loadu_pd(v + i)), eps4);
    _mm256_storeu_pd(v + i, _mm256_div_pd(one4, _mm256_sqrt_pd(x)));
  }
#endif
  for (; i < n; ++i) v[i] = 1.0 / std::sqrt(std::max(v[i], 0.0) + eps);
}

// The float version (twice the lanes, and float sqrt/div are several times faster than double).
inline void inv_sqrt_clamped(float* v, index_t n, float eps) {
  index_t i = 0;
#if defined(__AVX__)
  const __m256 zero8 = _mm256_setzero_ps(), eps8 = _mm256_set1_ps(eps), one8 = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_add_ps(_mm256_max_ps(zero8, _mm256_loadu_ps(v + i)), eps8);
    _mm256_storeu_ps(v + i, _mm256_div_ps(one8, _mm256_sqrt_ps(x)));
  }
#endif
  for (; i < n; ++i) v[i] = 1.0f / std::sqrt(std::max(v[i], 0.0f) + eps);
}

}  // namespace tlc::cpu
