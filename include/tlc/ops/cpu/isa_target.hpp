#pragma once
// CPU code compiled for instruction sets the build's flags do not assume, run where cpu_isa()
// (core/cpu_isa.hpp) chooses them, so that a portable build (TLC_NATIVE=OFF) still runs AVX2 or
// AVX-512 on a machine that has them:
// - TLC_TARGET_BEGIN / TLC_TARGET_END around hand-written kernels (the GEMM micro-kernels, the
//   vector math of vec_math.hpp), one copy per instruction set in its own namespace;
// - with_cpu_isa(body) and parallel_for_vectorised() for the plain loops the compiler vectorises by
//   itself (norms, depthwise rows, gates, element-wise arithmetic): the loop is inlined into a copy
//   compiled for AVX2 and one for AVX-512, and the copy cpu_isa() names runs.
#include "tlc/core/config.hpp"
#include "tlc/core/cpu_isa.hpp"
#include "tlc/core/thread_pool.hpp"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TLC_CPU_X86 1
#include <immintrin.h>
#else
#define TLC_CPU_X86 0
#endif

// Compile the functions up to TLC_TARGET_END for the given instruction sets (GCC's pragma; clang's
// equivalent attribute region).
#if defined(__clang__)
#define TLC_TARGET_BEGIN(isa) \
  _Pragma(TLC_TARGET_STR(clang attribute push(__attribute__((target(isa))), apply_to = function)))
#define TLC_TARGET_END _Pragma("clang attribute pop")
#else
#define TLC_TARGET_BEGIN(isa) _Pragma("GCC push_options") _Pragma(TLC_TARGET_STR(GCC target(isa)))
#define TLC_TARGET_END _Pragma("GCC pop_options")
#endif
#define TLC_TARGET_STR(x) #x

// The AVX-512 region: GCC 12 warns that the 512-bit intrinsics' undefined pass-through operand is
// used uninitialised (it never is: the mask is all ones), so those two warnings are off inside.
#if defined(__clang__)
#define TLC_AVX512_BEGIN TLC_TARGET_BEGIN("avx512f")
#define TLC_AVX512_END TLC_TARGET_END
#else
#define TLC_AVX512_BEGIN                                                                                     \
  TLC_TARGET_BEGIN("avx512f,prefer-vector-width=512")                                                        \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")                 \
      _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define TLC_AVX512_END _Pragma("GCC diagnostic pop") TLC_TARGET_END
#endif

namespace tlc::cpu {

namespace isa_detail {
#if TLC_CPU_X86
// flatten inlines everything body() calls, so the whole loop is compiled for the region's target.
TLC_TARGET_BEGIN("avx2,fma")
template <class Body>
[[gnu::flatten]] inline void run_avx2(const Body& body) {
  body();
}
TLC_TARGET_END

TLC_AVX512_BEGIN
template <class Body>
[[gnu::flatten]] inline void run_avx512(const Body& body) {
  body();
}
TLC_AVX512_END
#endif
}  // namespace isa_detail

// The widest instruction set the build's own flags assume (-march=native on this machine, say).
#if defined(__AVX512F__)
inline constexpr CpuIsa kBuildIsa = CpuIsa::Avx512;
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr CpuIsa kBuildIsa = CpuIsa::Avx2;
#else
inline constexpr CpuIsa kBuildIsa = CpuIsa::Scalar;
#endif

// Runs body() compiled for the instruction set the kernels use now. Where the build's flags already
// include it, that is the build's own copy (tuned for the build's CPU: the target copies of the depthwise
// rows were 17-20 % slower in a native build); a copy cannot go below the build's flags either. body must be a
// leaf loop over plain arrays (every call in it is inlined into each copy): no parallel_for, no GEMM.
template <class Body>
void with_cpu_isa(const Body& body) {
#if TLC_CPU_X86
  const CpuIsa isa = cpu_isa();
  if (static_cast<int>(isa) > static_cast<int>(kBuildIsa)) {
    if (isa == CpuIsa::Avx512) return isa_detail::run_avx512(body);
    return isa_detail::run_avx2(body);
  }
#endif
  body();
}

// parallel_for(begin, end, grain, fn) whose every chunk fn(lo, hi) runs through with_cpu_isa.
template <class Fn>
void parallel_for_vectorised(index_t begin, index_t end, index_t grain, const Fn& fn) {
  parallel_for(begin, end, grain, [&](index_t lo, index_t hi) { with_cpu_isa([&] { fn(lo, hi); }); });
}

}  // namespace tlc::cpu
