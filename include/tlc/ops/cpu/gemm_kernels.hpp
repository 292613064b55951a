#pragma once
// The GEMM micro-kernels, one per instruction set, each compiled for its own instructions whatever the
// build's flags (a target region around its namespace, ops/cpu/isa_target.hpp), so that cpu::gemm picks
// one at run time (core/cpu_isa.hpp, core/matmul_precision.hpp). Each namespace's Isa is simd.hpp's
// vector of that instruction set; its Kernel (gemm_micro_kernel.inl's KernelOf) names its tile, its
// cache blocks, its packing and run(), the micro-kernel for that tile.
#include <cstdint>

#include "tlc/core/config.hpp"
#include "tlc/ops/cpu/gemm_pack.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/cpu/simd.hpp"

namespace tlc::cpu::gemm_detail {

namespace scalar {
template <class T>
using Isa = simd::Scalar<T>;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
template <class T>
using Kernel = KernelOf<T, Isa<T>, FloatSteps<T, Isa<T>>, 4, 8, 64, 2048>;
}  // namespace scalar

#if TLC_CPU_X86
TLC_TARGET_BEGIN("avx2,fma")
namespace avx2 {
using Isa = simd::Avx2;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
// 6 x 16: 12 accumulators of the 16 ymm registers.
using Kernel = KernelOf<float, Isa, FloatSteps<float, Isa>, 6, 2, 120, 4096>;
}  // namespace avx2
TLC_TARGET_END

TLC_AVX512_BEGIN
namespace avx512 {
using Isa = simd::Avx512;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"
// 8 x 32: 16 accumulators of the 32 zmm registers.
using Kernel = KernelOf<float, Isa, FloatSteps<float, Isa>, 8, 2, 128, 4096>;
}  // namespace avx512
TLC_AVX512_END

// bf16 products (core/matmul_precision.hpp): A and B packed as pairs of bfloat16 (gemm_pack.hpp's
// bf16_pair), two depths per step, multiplied and summed into the fp32 accumulators by vdpbf16ps,
// which does twice the multiplies of an fp32 FMA per instruction. The same 8 x 32 tile as avx512.
TLC_TARGET_BEGIN("avx512f,avx512bw,avx512bf16")
namespace avx512_bf16 {
using Isa = simd::Avx512;
#include "tlc/ops/cpu/gemm_micro_kernel.inl"

struct Bf16Steps {
  using P = std::uint32_t;
  static constexpr int depth = 2;
  using Operand = __m512bh;
  static Operand load(const P* p) { return reinterpret_cast<Operand>(_mm512_loadu_si512(p)); }
  static Operand broadcast(P v) { return reinterpret_cast<Operand>(_mm512_set1_epi32(static_cast<int>(v))); }
  static __m512 madd(Operand a, Operand b, __m512 acc) { return _mm512_dpbf16_ps(acc, a, b); }
  // kc floats of one row as ceil(kc / 2) pairs, 32 floats at a time: the 32 rounded halves of one
  // vcvtne2ps2bf16, in row order, already are the 16 pairs.
  static void row_to_pairs(const float* src, index_t kc, P* dst) {
    index_t p = 0;
    for (; p + 32 <= kc; p += 32)
      _mm512_storeu_si512(dst + p / 2, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + p + 16),
                                                                                     _mm512_loadu_ps(src + p))));
    for (; p < kc; p += 2) dst[p / 2] = bf16_pair(src[p], p + 1 < kc ? src[p + 1] : 0.0f);
  }
  // A in place (not transposed), one panel and up to 128 pairs of depth at a time: its rows converted
  // to pairs, then laid out as the float packing lays out floats. (The weights of every 1x1 conv pass
  // here: packing them one pair at a time cost 7 % of a 256x256 NAFNet forward.)
  template <int MR>
  static void pack_a(bool trans, index_t mc, index_t kc, const float* a, index_t lda, P* out) {
    if (trans) return pack_a_bf16<MR>(trans, mc, kc, a, lda, out);
    constexpr index_t chunk = 128;
    const index_t steps = (kc + 1) / 2;
    P rows[MR * chunk];
    for (index_t i0 = 0; i0 < mc; i0 += MR, out += MR * steps) {
      const index_t n_rows = std::min<index_t>(MR, mc - i0);
      for (index_t s0 = 0; s0 < steps; s0 += chunk) {
        const index_t n = std::min(chunk, steps - s0);
        for (index_t i = 0; i < n_rows; ++i)
          row_to_pairs(a + (i0 + i) * lda + 2 * s0, std::min(2 * n, kc - 2 * s0), rows + i * n);
        gemm_detail::pack_a<P, MR>(false, n_rows, n, rows, n, out + s0 * MR);
      }
    }
  }
  // Whole panels of B in place (not transposed) 16 columns at a time: two depths' rows rounded by one
  // vcvtne2ps2bf16 and interleaved into pairs by one vpermw; the rest one pair at a time.
  template <int NR>
  static void pack_b(bool trans, index_t j0, index_t j1, index_t nc, index_t kc, const float* b, index_t ldb, P* out) {
    static_assert(NR % 16 == 0, "Bf16Steps: whole vectors of 16 pairs");
    const index_t steps = (kc + 1) / 2;
    const index_t whole_end = trans ? j0 : std::max(j0, std::min(j1, nc / NR * NR));
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                                22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (index_t jp = j0; jp < whole_end; jp += NR) {
      P* dst = out + jp * steps;
      for (index_t s = 0; s < steps; ++s) {
        const float* lower = b + 2 * s * ldb + jp;
        const bool has_upper = 2 * s + 1 < kc;
        for (int j = 0; j < NR; j += 16) {
          const __m512 lo = _mm512_loadu_ps(lower + j);
          const __m512 hi = has_upper ? _mm512_loadu_ps(lower + ldb + j) : _mm512_setzero_ps();
          const __m512i halves = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
          _mm512_storeu_si512(dst + s * NR + j, _mm512_permutexvar_epi16(interleave, halves));
        }
      }
    }
    if (whole_end < j1) pack_b_bf16<NR>(trans, whole_end, j1, nc, kc, b, ldb, out);
  }
};

using Kernel = KernelOf<float, Isa, Bf16Steps, 8, 2, 128, 4096>;
}  // namespace avx512_bf16
TLC_TARGET_END
#endif

}  // namespace tlc::cpu::gemm_detail
