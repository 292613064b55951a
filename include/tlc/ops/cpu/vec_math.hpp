#pragma once
// Small vectorised math loops the compiler will not vectorise by itself: without -fno-math-errno,
// GCC and Clang keep std::sqrt, std::exp and std::erf scalar (they may set errno), which made the
// per-pixel 1/sqrt of the local norms, the sigmoid of per-pixel attention, Adam's sqrt and the GELU
// of Baseline and Restormer slow steps (in float models; double is for gradient checks and stays
// scalar). The vector code is vec_math_kernels.inl, compiled once for AVX2 and once for AVX-512
// (isa_target.hpp) and chosen at run time by cpu_isa(); TLC_ISA=scalar runs the plain loops.
// Accuracy (tests/test_vec_math.cpp, every instruction set the CPU has): inv_sqrt_clamped within
// 2 ulp of the correctly rounded value (correctly rounded with AVX2: sqrt and division; with AVX-512
// the 14-bit estimate and one Newton step, which cost several times less); sigmoid within 3e-7
// relative of the exact value (its polynomial exp, then one division); the GELU loops within 5e-7.
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <type_traits>

#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/kernels/gate.hpp"

namespace tlc::cpu {

namespace vec_detail {

// The plain loops: TLC_ISA=scalar and CPUs without AVX2 and FMA.
struct ScalarMath {
  static void inv_sqrt_clamped(float* v, index_t n, float eps) {
    for (index_t i = 0; i < n; ++i) v[i] = 1.0f / std::sqrt(std::max(v[i], 0.0f) + eps);
  }
  static void sqrt_in_place(float* v, index_t n) {
    for (index_t i = 0; i < n; ++i) v[i] = std::sqrt(v[i]);
  }
  static void sigmoid(const float* x, float* y, index_t n) {
    for (index_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
  }
  static void gelu(const float* x, float* y, index_t n) {
    for (index_t i = 0; i < n; ++i) y[i] = kernels::UnaryForward<float>{kernels::Unary::Gelu, 0.0f}(x[i]);
  }
  static void gelu_backward(const float* x, const float* gy, float* gx, index_t n) {
    const kernels::UnaryBackward<float> f{kernels::Unary::Gelu, 0.0f};
    for (index_t i = 0; i < n; ++i) gx[i] = f(x[i], 0.0f, gy[i]);
  }
  static void gelu_gate(const float* a, const float* b, float* y, index_t n) {
    for (index_t i = 0; i < n; ++i) y[i] = kernels::GateForward<float>{kernels::Gate::Gelu}(a[i], b[i]);
  }
  static void gelu_gate_backward(const float* a, const float* b, const float* gy, float* ga, float* gb, index_t n) {
    for (index_t i = 0; i < n; ++i) kernels::GateBackward<float>{kernels::Gate::Gelu}(a[i], b[i], gy[i], ga[i], gb[i]);
  }
};

#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
namespace avx2 {
struct Vec {
  using V = __m256;
  static constexpr index_t lanes = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set(float s) { return _mm256_set1_ps(s); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
  static V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
  static V fmsub(V a, V b, V c) { return _mm256_fmsub_ps(a, b, c); }    // a b - c
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V abs(V a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static V round(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127], built in the exponent bits.
  static V pow2(V n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  // v where x > limit is false (also where x is NaN), else 0.
  static V zero_where_greater(V v, V x, V limit) { return _mm256_andnot_ps(_mm256_cmp_ps(x, limit, _CMP_GT_OQ), v); }
  // if_negative where x's sign bit is set, else otherwise.
  static V select_negative(V x, V if_negative, V otherwise) { return _mm256_blendv_ps(otherwise, if_negative, x); }
  // 1 / sqrt(x) for x >= 0 or NaN, correctly rounded (AVX's 12-bit estimate flushes subnormals).
  static V inv_sqrt(V x) { return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(x)); }
};
#include "tlc/ops/cpu/vec_math_kernels.inl"
}  // namespace avx2
TLC_TARGET_END

TLC_AVX512_BEGIN
namespace avx512 {
struct Vec {
  using V = __m512;
  static constexpr index_t lanes = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set(float s) { return _mm512_set1_ps(s); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V fmsub(V a, V b, V c) { return _mm512_fmsub_ps(a, b, c); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V abs(V a) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT_MAX)));
  }
  static V round(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V pow2(V n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  static V zero_where_greater(V v, V x, V limit) {
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~_mm512_cmp_ps_mask(x, limit, _CMP_GT_OQ)), v);
  }
  static V select_negative(V x, V if_negative, V otherwise) {
    const __mmask16 negative = _mm512_test_epi32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(INT_MIN));
    return _mm512_mask_blend_ps(negative, otherwise, if_negative);
  }
  // 1 / sqrt(x) for x >= 0 or NaN: the 14-bit estimate refined by one Newton step, within 2 ulp of
  // the correctly rounded value; where the Newton step gives NaN (at 0 and inf) the estimate itself
  // is exact.
  static V inv_sqrt(V x) {
    const V y0 = _mm512_rsqrt14_ps(x);
    const V hxy = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), y0);
    const V y = _mm512_mul_ps(y0, _mm512_sub_ps(_mm512_set1_ps(1.5f), _mm512_mul_ps(hxy, y0)));
    const __mmask16 bad = _mm512_cmp_ps_mask(x, x, _CMP_ORD_Q) & _mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(bad, y, y0);
  }
};
#include "tlc/ops/cpu/vec_math_kernels.inl"
}  // namespace avx512
TLC_AVX512_END
#endif

// Calls call(math) with the Math of the instruction set the kernels use now.
template <class Call>
void with_vec_math(const Call& call) {
#if TLC_CPU_X86
  switch (cpu_isa()) {
    case CpuIsa::Avx512: return call(avx512::Math{});
    case CpuIsa::Avx2: return call(avx2::Math{});
    case CpuIsa::Scalar: break;
  }
#endif
  call(ScalarMath{});
}

}  // namespace vec_detail

// v[i] = 1 / sqrt(max(v[i], 0) + eps) for i in [0, n). (max(0, x) returns x when x is NaN, as
// std::max(x, 0.0f) does, so NaN propagates on every path.)
inline void inv_sqrt_clamped(float* v, index_t n, float eps) {
  vec_detail::with_vec_math([&](auto m) { m.inv_sqrt_clamped(v, n, eps); });
}

// v[i] = sqrt(v[i]) for i in [0, n), correctly rounded like std::sqrt (negative inputs give NaN);
// T is float or double.
template <class T>
void sqrt_in_place(T* v, index_t n) {
  if constexpr (std::is_same_v<T, float>) {
    vec_detail::with_vec_math([&](auto m) { m.sqrt_in_place(v, n); });
  } else {
    for (index_t i = 0; i < n; ++i) v[i] = std::sqrt(v[i]);
  }
}

// y[i] = 1 / (1 + e^-x[i]) for i in [0, n).
inline void sigmoid(const float* x, float* y, index_t n) {
  vec_detail::with_vec_math([&](auto m) { m.sigmoid(x, y, n); });
}

// The exact (erf) GELU of floats, x Phi(x), and its gradient gy (Phi(x) + x phi(x)).
inline void gelu(const float* x, float* y, index_t n) {
  vec_detail::with_vec_math([&](auto m) { m.gelu(x, y, n); });
}

inline void gelu_backward(const float* x, const float* gy, float* gx, index_t n) {
  vec_detail::with_vec_math([&](auto m) { m.gelu_backward(x, gy, gx, n); });
}

// Restormer's GDFN gate: y = gelu(a) b, and its gradients ga = gy b gelu'(a), gb = gy gelu(a).
inline void gelu_gate(const float* a, const float* b, float* y, index_t n) {
  vec_detail::with_vec_math([&](auto m) { m.gelu_gate(a, b, y, n); });
}

inline void gelu_gate_backward(const float* a, const float* b, const float* gy, float* ga, float* gb, index_t n) {
  vec_detail::with_vec_math([&](auto m) { m.gelu_gate_backward(a, b, gy, ga, gb, n); });
}

}  // namespace tlc::cpu
