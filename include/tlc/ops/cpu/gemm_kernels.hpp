#pragma once
// The GEMM micro-kernels, one per instruction set, each compiled for its own instructions whatever the
// build's flags (a target region around its namespace, ops/cpu/isa_target.hpp), so that cpu::gemm picks
// one at run time (core/cpu_isa.hpp). Each namespace's Isa is simd.hpp's vector of that instruction set;
// its Kernel (gemm_micro_kernel.inl's KernelOf) names its tile, its cache blocks and run(), the
// micro-kernel for that tile.
#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/cpu/simd.hpp"

namespace tlc::cpu::gemm_detail {

namespace scalar {
template <class T>
using Isa = simd::Scalar<T>;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
template <class T>
using Kernel = KernelOf<T, Isa<T>, 4, 8, 64, 2048>;
}  // namespace scalar

#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
namespace avx2 {
using Isa = simd::Avx2;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
using Kernel = KernelOf<float, Isa, 6, 2, 120, 4096>;  // 6 x 16: 12 accumulators of 16 ymm registers
}  // namespace avx2
TLC_TARGET_END

TLC_AVX512_BEGIN
namespace avx512 {
using Isa = simd::Avx512;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
using Kernel = KernelOf<float, Isa, 8, 2, 128, 4096>;  // 8 x 32: 16 accumulators of 32 zmm registers
}  // namespace avx512
TLC_AVX512_END
#endif

}  // namespace tlc::cpu::gemm_detail
