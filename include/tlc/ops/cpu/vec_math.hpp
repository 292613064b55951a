#pragma once
// Small vectorised math loops the compiler will not vectorise by itself: without -fno-math-errno,
// GCC and Clang keep std::sqrt, std::exp and std::erf scalar (they may set errno), which made the
// per-pixel 1/sqrt of the local norms, the sigmoid of per-pixel attention, Adam's sqrt and the GELU
// of Baseline and Restormer slow steps (in float models; double is for gradient checks and stays
// scalar). inv_sqrt_clamped is within 2 ulp of the correctly rounded value; sigmoid is within 3e-7
// relative of the exact value (its polynomial exp, then one division); the GELU loops within 5e-7
// (tests/test_vec_math.cpp). 256-bit only:
// GCC 12 warns (falsely) about the undefined pass-through operand inside the 512-bit sqrt and max
// intrinsics.
#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/gate.hpp"

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
// e^r by its degree-7 Taylor polynomial (truncation < 6e-9 relative), 2^n built in the exponent
// bits. x is clamped to [-87.3, 88], where 2^n stays a finite normal float; NaN propagates.
inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}
#endif

#if defined(__AVX2__) && defined(__FMA__)
// The standard normal CDF Phi(x) of 8 floats and, when pdf is given, the density phi(x) there.
// Phi(-|x|) = erfc(z) / 2 with z = |x| / sqrt(2), and erfc(z) = t e^(-z^2) e^P(t - 1/2),
// t = 2 / (2 + z), P a degree-10 polynomial fitted by least squares to log(erfc(z) / t) + z^2 on z
// in [0, 10] (scripts/fit_erfc.py; relative error 2.4e-8 in double, 1.2e-7 evaluated in float).
// e^(-z^2) = e^(-x^2/2) takes x^2 as an exact float pair: rounding x^2 alone would cost
// |x|^2 * 6e-8 relative (1e-5 at x = -12).
// Phi(x) = 1 - Phi(-x) for x >= 0. Below x = -13 Phi is under 1e-38 and returned as 0; NaN
// propagates.
inline __m256 normal_cdf8(__m256 x, __m256* pdf = nullptr) {
  const __m256 z = _mm256_mul_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), x), _mm256_set1_ps(0.70710678f));
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(_mm256_set1_ps(2.0f), z));
  const __m256 u = _mm256_sub_ps(t, _mm256_set1_ps(0.5f));
  __m256 p = _mm256_set1_ps(-1.321883590e-01f);
  for (float c : {2.575329671e-01f, -1.416724453e-02f, -2.917039447e-01f, 1.097603732e-01f, 2.820050204e-01f,
                  -1.578338892e-01f, -3.751564706e-01f, 1.893711949e-01f, 1.345286385e+00f, -6.717940791e-01f})
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(c));
  const __m256 x2 = _mm256_mul_ps(x, x), x2_low = _mm256_fmsub_ps(x, x, x2);  // x^2 = x2 + x2_low exactly
  const __m256 minus_half = _mm256_set1_ps(-0.5f);
  const __m256 gauss = _mm256_mul_ps(exp8(_mm256_mul_ps(minus_half, x2)),  // e^(-x^2/2)
                                     _mm256_fmadd_ps(minus_half, x2_low, _mm256_set1_ps(1.0f)));
  if (pdf) *pdf = _mm256_mul_ps(gauss, _mm256_set1_ps(0.39894228f));
  __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), t), gauss), exp8(p));  // Phi(-|x|)
  half_erfc = _mm256_andnot_ps(_mm256_cmp_ps(z, _mm256_set1_ps(9.2f), _CMP_GT_OQ), half_erfc);
  // x >= 0 (sign bit clear): 1 - Phi(-x).
  return _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, x);
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

#if defined(__AVX2__) && defined(__FMA__)
// Runs block(in, out) over [0, n) eight floats at a time: `in` and `out` hold In and Out pointers
// advanced to the block. A last partial block runs on zero-padded copies, so every element takes
// the same arithmetic however a parallel loop splits the range.
template <size_t In, size_t Out, class Block>
void in_blocks_of_8(index_t n, std::array<const float*, In> in, std::array<float*, Out> out, Block&& block) {
  index_t i = 0;
  for (; i + 8 <= n; i += 8) {
    block(in, out);
    for (auto& p : in) p += 8;
    for (auto& p : out) p += 8;
  }
  if (i == n) return;
  float in_copy[In][8] = {}, out_copy[Out][8];
  std::array<const float*, In> pin;
  std::array<float*, Out> pout;
  for (size_t k = 0; k < In; ++k) std::copy(in[k], in[k] + (n - i), in_copy[k]), pin[k] = in_copy[k];
  for (size_t k = 0; k < Out; ++k) pout[k] = out_copy[k];
  block(pin, pout);
  for (size_t k = 0; k < Out; ++k) std::copy(out_copy[k], out_copy[k] + (n - i), out[k]);
}
#endif

// The exact (erf) GELU of floats, x Phi(x), and its gradient gy (Phi(x) + x phi(x)); with AVX2
// through normal_cdf8 (within 5e-7 relative of the exact value), else the scalar kernels.
inline void gelu(const float* x, float* y, index_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  in_blocks_of_8<1, 1>(n, {x}, {y}, [](const auto& in, const auto& out) {
    const __m256 v = _mm256_loadu_ps(in[0]);
    _mm256_storeu_ps(out[0], _mm256_mul_ps(v, normal_cdf8(v)));
  });
#else
  for (index_t i = 0; i < n; ++i) y[i] = kernels::UnaryForward<float>{kernels::Unary::Gelu, 0.0f}(x[i]);
#endif
}

inline void gelu_backward(const float* x, const float* gy, float* gx, index_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  in_blocks_of_8<2, 1>(n, {x, gy}, {gx}, [](const auto& in, const auto& out) {
    const __m256 v = _mm256_loadu_ps(in[0]);
    __m256 pdf;
    const __m256 cdf = normal_cdf8(v, &pdf);
    _mm256_storeu_ps(out[0], _mm256_mul_ps(_mm256_loadu_ps(in[1]), _mm256_fmadd_ps(v, pdf, cdf)));
  });
#else
  for (index_t i = 0; i < n; ++i) gx[i] = kernels::UnaryBackward<float>{kernels::Unary::Gelu, 0.0f}(x[i], 0.0f, gy[i]);
#endif
}

// Restormer's GDFN gate: y = gelu(a) b, and its gradients ga = gy b gelu'(a), gb = gy gelu(a).
inline void gelu_gate(const float* a, const float* b, float* y, index_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  in_blocks_of_8<2, 1>(n, {a, b}, {y}, [](const auto& in, const auto& out) {
    const __m256 v = _mm256_loadu_ps(in[0]);
    _mm256_storeu_ps(out[0], _mm256_mul_ps(_mm256_mul_ps(v, normal_cdf8(v)), _mm256_loadu_ps(in[1])));
  });
#else
  for (index_t i = 0; i < n; ++i) y[i] = kernels::GateForward<float>{kernels::Gate::Gelu}(a[i], b[i]);
#endif
}

inline void gelu_gate_backward(const float* a, const float* b, const float* gy, float* ga, float* gb, index_t n) {
#if defined(__AVX2__) && defined(__FMA__)
  in_blocks_of_8<3, 2>(n, {a, b, gy}, {ga, gb}, [](const auto& in, const auto& out) {
    const __m256 v = _mm256_loadu_ps(in[0]), g = _mm256_loadu_ps(in[2]);
    __m256 pdf;
    const __m256 cdf = normal_cdf8(v, &pdf);
    _mm256_storeu_ps(out[0], _mm256_mul_ps(_mm256_mul_ps(g, _mm256_loadu_ps(in[1])), _mm256_fmadd_ps(v, pdf, cdf)));
    _mm256_storeu_ps(out[1], _mm256_mul_ps(g, _mm256_mul_ps(v, cdf)));
  });
#else
  for (index_t i = 0; i < n; ++i) kernels::GateBackward<float>{kernels::Gate::Gelu}(a[i], b[i], gy[i], ga[i], gb[i]);
#endif
}

}  // namespace tlc::cpu
