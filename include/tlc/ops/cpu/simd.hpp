#pragma once
// One vector of floats per instruction set, with the operations our hand-written CPU kernels use:
// the GEMM micro-kernel (gemm_micro_kernel.inl) and the vector math (vec_math_kernels.inl) are each
// written once against such a type and compiled once per instruction set. Each x86 type lives in
// its ISA's target region (isa_target.hpp), so it compiles whatever the build's flags; Scalar<T>
// (float or double) is the one-lane fallback of the GEMM.
// Min and max keep NaN from their second operand: min(a, x) and max(a, x) return x when x is NaN.
#include <climits>

#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"

namespace tlc::cpu::simd {

template <class T>
struct Scalar {
  using V = T;
  static constexpr index_t lanes = 1;
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V set(T s) { return s; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static V fmadd(V a, V b, V c) { return a * b + c; }
};

#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
struct Avx2 {
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
TLC_TARGET_END

TLC_AVX512_BEGIN
struct Avx512 {
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
TLC_AVX512_END
#endif

}  // namespace tlc::cpu::simd
