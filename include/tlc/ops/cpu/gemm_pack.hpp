#pragma once
// Packing of the float GEMM's operands (cpu::gemm, ops/cpu/gemm.hpp): A into MR-row panels, B into
// NR-column panels, each laid out in the order the micro-kernel reads them, zero-padded to whole
// panels. Compiled with the build's own flags (packing copies; the kernels' instruction sets do not
// matter here). The bf16 kernel's pairs are packed here too where whole vectors do not fit (its
// vector path for whole B panels is in gemm_kernels.hpp).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tlc/core/config.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace tlc::cpu::gemm_detail {
#if defined(__AVX__)
// out[q * out_ld + i] = rows[i][q] for an 8 x 8 float block (row i at src + i * ld): one
// transpose in registers instead of 64 scattered stores.
inline void transpose_8x8(const float* src, index_t ld, float* out, index_t out_ld) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * out_ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * out_ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// Packs rows [0, mc) x depth [0, kc) of op(A) into MR-row panels, zero-padding the last panel.
template <class T, int MR>
void pack_a(bool trans, index_t mc, index_t kc, const T* a, index_t lda, T* out) {
  for (index_t i0 = 0; i0 < mc; i0 += MR, out += MR * kc) {
    const int rows = static_cast<int>(std::min<index_t>(MR, mc - i0));
    index_t p0 = 0;  // depth already packed
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float> && MR == 8) {
      if (!trans && rows == MR)
        for (; p0 + 8 <= kc; p0 += 8) transpose_8x8(a + i0 * lda + p0, lda, out + p0 * MR, MR);
    }
#endif
    if (!trans) {
      for (int i = 0; i < rows; ++i) {
        const T* src = a + (i0 + i) * lda;
        for (index_t p = p0; p < kc; ++p) out[p * MR + i] = src[p];
      }
    } else {
      for (index_t p = 0; p < kc; ++p) {
        const T* src = a + p * lda + i0;
        for (int i = 0; i < rows; ++i) out[p * MR + i] = src[i];
      }
    }
    for (int i = rows; i < MR; ++i)
      for (index_t p = 0; p < kc; ++p) out[p * MR + i] = T(0);
  }
}

// Packs columns [j0, j1) x depth [0, kc) of op(B) into NR-column panels (j0 a multiple of NR).
template <class T, int NR>
void pack_b(bool trans, index_t j0, index_t j1, index_t nc, index_t kc, const T* b, index_t ldb, T* out) {
  for (index_t jp = j0; jp < j1; jp += NR) {
    T* dst = out + jp * kc;
    const int cols = static_cast<int>(std::min<index_t>(NR, nc - jp));
    if (!trans && cols == NR) {  // full panel: fixed-length row copies
      for (index_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, b + p * ldb + jp, NR * sizeof(T));
    } else if (!trans) {
      for (index_t p = 0; p < kc; ++p) {
        const T* src = b + p * ldb + jp;
        T* d = dst + p * NR;
        int j = 0;
        for (; j < cols; ++j) d[j] = src[j];
        for (; j < NR; ++j) d[j] = T(0);
      }
    } else {
      // Transposing copy in depth blocks of 16: each source row is read a cache line at a time and
      // the 16 x NR destination block stays in L1 (column-at-a-time writes would stride NR apart).
      constexpr index_t PB = 16;
      for (index_t p0 = 0; p0 < kc; p0 += PB) {
        const index_t p1 = std::min(kc, p0 + PB);
#if defined(__AVX__)
        if constexpr (std::is_same_v<T, float> && NR % 8 == 0) {
          if (cols == NR && p1 - p0 == PB) {  // whole 8 x 8 blocks, transposed in registers
            for (int j = 0; j < NR; j += 8)
              for (index_t p = p0; p < p1; p += 8) transpose_8x8(b + (jp + j) * ldb + p, ldb, dst + p * NR + j, NR);
            continue;
          }
        }
#endif
        for (int j = 0; j < cols; ++j) {
          const T* src = b + (jp + j) * ldb;
          for (index_t p = p0; p < p1; ++p) dst[p * NR + j] = src[p];
        }
        for (int j = cols; j < NR; ++j)
          for (index_t p = p0; p < p1; ++p) dst[p * NR + j] = T(0);
      }
    }
  }
}

// x rounded to bfloat16 (its upper 16 bits), as vcvtneps2bf16 does: to nearest even, zero for a zero or
// denormal x (keeping the sign), a quiet NaN for a NaN.
inline std::uint16_t bf16_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0) return static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// The bf16 kernel's packed element: two consecutive depths of one row of A or one column of B, the
// lower depth in the low half (vdpbf16ps multiplies the halves pairwise and adds both products).
inline std::uint32_t bf16_pair(float lower, float upper) {
  return bf16_bits(lower) | static_cast<std::uint32_t>(bf16_bits(upper)) << 16;
}

// pack_a for the bf16 kernel: rows [0, mc) x depth [0, kc) of op(A) into MR-row panels of
// ceil(kc / 2) pairs, zero-padded to MR rows and to an even depth.
template <int MR>
void pack_a_bf16(bool trans, index_t mc, index_t kc, const float* a, index_t lda, std::uint32_t* out) {
  const index_t steps = (kc + 1) / 2;
  auto at = [&](index_t i, index_t p) {
    if (i >= mc || p >= kc) return 0.0f;
    return trans ? a[p * lda + i] : a[i * lda + p];
  };
  for (index_t i0 = 0; i0 < mc; i0 += MR, out += MR * steps)
    for (index_t s = 0; s < steps; ++s)
      for (int i = 0; i < MR; ++i) out[s * MR + i] = bf16_pair(at(i0 + i, 2 * s), at(i0 + i, 2 * s + 1));
}

// pack_b for the bf16 kernel, one pair at a time: columns [j0, j1) x depth [0, kc) of op(B) into
// NR-column panels of ceil(kc / 2) pairs (j0 a multiple of NR), zero-padded to NR columns and to an
// even depth.
template <int NR>
void pack_b_bf16(bool trans, index_t j0, index_t j1, index_t nc, index_t kc, const float* b, index_t ldb,
                 std::uint32_t* out) {
  const index_t steps = (kc + 1) / 2;
  auto at = [&](index_t p, index_t j) {
    if (j >= nc || p >= kc) return 0.0f;
    return trans ? b[j * ldb + p] : b[p * ldb + j];
  };
  for (index_t jp = j0; jp < j1; jp += NR) {
    std::uint32_t* dst = out + jp * steps;
    for (index_t s = 0; s < steps; ++s)
      for (int j = 0; j < NR; ++j) dst[s * NR + j] = bf16_pair(at(2 * s, jp + j), at(2 * s + 1, jp + j));
  }
}

}  // namespace tlc::cpu::gemm_detail
