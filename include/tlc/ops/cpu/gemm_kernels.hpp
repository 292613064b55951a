#pragma once
// The GEMM micro-kernels, one per instruction set, each compiled for its own instructions whatever the
// build's flags (a target region around its namespace), so that cpu::gemm picks one at run time
// (core/cpu_isa.hpp). Each namespace's Kernel (gemm_micro_kernel.inl's KernelOf) names its tile, its
// cache blocks and run(), the micro-kernel for that tile. Target regions: ops/cpu/isa_target.hpp.
#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"

namespace tlc::cpu::gemm_detail {

namespace scalar {
template <class T>
struct Isa {
  using reg = T;
  static constexpr int width = 1;
  static reg zero() { return T(0); }
  static reg load(const T* p) { return *p; }
  static reg broadcast(const T* p) { return *p; }
  static reg fma(reg a, reg b, reg c) { return a * b + c; }
  static reg scale(reg a, T s) { return a * s; }
  static reg add(reg a, reg b) { return a + b; }
  static void store(T* p, reg v) { *p = v; }
};
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
template <class T>
using Kernel = KernelOf<T, Isa<T>, 4, 8, 64, 2048>;
}  // namespace scalar

#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
namespace avx2 {
struct Isa {
  using reg = __m256;
  static constexpr int width = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg scale(reg a, float s) { return _mm256_mul_ps(a, _mm256_set1_ps(s)); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
};
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
using Kernel = KernelOf<float, Isa, 6, 2, 120, 4096>;  // 6 x 16: 12 accumulators of 16 ymm registers
}  // namespace avx2
TLC_TARGET_END

TLC_AVX512_BEGIN
namespace avx512 {
struct Isa {
  using reg = __m512;
  static constexpr int width = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg scale(reg a, float s) { return _mm512_mul_ps(a, _mm512_set1_ps(s)); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
};
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
using Kernel = KernelOf<float, Isa, 8, 2, 128, 4096>;  // 8 x 32: 16 accumulators of 32 zmm registers
}  // namespace avx512
TLC_AVX512_END
#endif

}  // namespace tlc::cpu::gemm_detail
