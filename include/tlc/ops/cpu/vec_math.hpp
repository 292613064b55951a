#pragma once
// Small vectorised math loops the compiler will not vectorise by itself: without -fno-math-errno,
// GCC and Clang keep std::sqrt, std::exp and std::erf scalar (they may set errno), which made the
// per-pixel 1/sqrt of the local norms, the sigmoid of per-pixel attention, Adam's sqrt and the GELU
// of Baseline and Restormer slow steps (in float models; double is for gradient checks and stays
// scalar). The vector code is vec_math_kernels.inl, compiled once for AVX2 and once for AVX-512
// (over simd.hpp's vectors) and chosen at run time by cpu_isa(); TLC_ISA=scalar runs the plain loops.
// Accuracy (tests/test_vec_math.cpp, every instruction set the CPU has): inv_sqrt_clamped within
// 2 ulp of the correctly rounded value (correctly rounded with AVX2: sqrt and division; with AVX-512
// the 14-bit estimate and one Newton step, which cost several times less); sigmoid within 3e-7
// relative of the exact value (its polynomial exp, then one division); the GELU loops within 5e-7.
#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/cpu/simd.hpp"
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
using Vec = simd::Avx2;
#include "tlc/ops/cpu/vec_math_kernels.inl"
}  // namespace avx2
TLC_TARGET_END

TLC_AVX512_BEGIN
namespace avx512 {
using Vec = simd::Avx512;
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
