#pragma once
// Row-major GEMM on the CPU: C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C.
// BLIS-style: B is packed into kc x NR column panels and A into MR x kc row panels (both shared by
// all threads), and a register-tiled micro-kernel multiplies one MR x NR tile. The same
// micro-kernel source serves AVX-512, AVX2/FMA and a portable scalar ISA (gemm_kernels.hpp), chosen at
// run time by what the CPU supports, and bf16 products where asked for (core/matmul_precision.hpp: the
// operands packed as bf16 pairs); pack buffers are thread-local and only grow, so no allocation
// happens in the loops.
#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <new>
#include <type_traits>
#include <vector>

#include "tlc/core/config.hpp"
#include "tlc/core/cpu_isa.hpp"
#include "tlc/core/matmul_precision.hpp"
#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/cpu/fused_activation.hpp"
#include "tlc/ops/cpu/gemm_kernels.hpp"

namespace tlc::cpu {

// Thread-local scratch buffers (64-byte aligned, grow only). One slot per role so that a caller
// holding one buffer (the conv im2col columns, the fused block's bands) can call gemm, which uses
// the pack slots.
enum class Scratch { PackA = 0, PackB = 1, Columns = 2, BlockWide = 3, BlockNorm = 4, BlockRows = 5, Count = 6 };

template <class T>
T* thread_scratch(Scratch slot, index_t count) {
  struct Buffer {
    void* ptr = nullptr;
    std::size_t bytes = 0;
    ~Buffer() { std::free(ptr); }
  };
  thread_local Buffer buffers[static_cast<int>(Scratch::Count)];
  Buffer& b = buffers[static_cast<int>(slot)];
  const std::size_t need = (static_cast<std::size_t>(std::max<index_t>(count, 1)) * sizeof(T) + 63) / 64 * 64;
  if (b.bytes < need) {
    std::free(b.ptr);
    b.ptr = std::aligned_alloc(64, need);
    b.bytes = b.ptr ? need : 0;
    if (!b.ptr) throw std::bad_alloc();
  }
  return static_cast<T*>(b.ptr);
}

namespace gemm_detail {

template <class T>
void scale_c(index_t m, index_t n, T beta, T* c, index_t ldc) {
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
}

// Rows [0, m) x depth [0, kc) of op(A) (a at the block's first row and depth) packed by K into
// ceil(m / MR) panels of MR x steps(kc) at out, the row panels in parallel.
template <class K, class T>
void pack_a_rows(bool trans, index_t m, index_t kc, const T* a, index_t lda, typename K::P* out) {
  constexpr int MR = K::MR;
  parallel_for(0, (m + MR - 1) / MR, std::max<index_t>(1, 4096 / kc), [&](index_t lo, index_t hi) {
    const index_t i0 = lo * MR;
    K::pack_a(trans, std::min(m, hi * MR) - i0, kc, trans ? a + i0 : a + i0 * lda, lda, out + i0 * K::steps(kc));
  });
}

// op(B) stored as a matrix (n x k when trans): the usual operand, packed by the kernel's pack_b.
// A B source packs columns [j0, j1) of the NC block at column jc, depths [pc, pc + kc), into K's panels
// (j0 a multiple of K::NR; nc the block's width); conv_cpu.hpp's ConvColumns is another source.
template <class T>
struct MatrixB {
  bool trans;
  const T* b;
  index_t ldb;
  template <class K>
  void pack(index_t jc, index_t pc, index_t j0, index_t j1, index_t nc, index_t kc, typename K::P* out) const {
    K::pack_b(trans, j0, j1, nc, kc, trans ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, out);
  }
};

// The blocked GEMM of cpu::gemm with kernel K (gemm_kernels.hpp), B from a source (MatrixB above).
// packed_a, when given, holds A already packed by pack_gemm_a for this K (and a is not read). Packed
// panels hold K::steps(kc) elements of type P per row or column for kc depths. `act` is applied to
// each tile after its last depth block, while the tile is in L1.
template <class T, class K, class Source>
void blocked(bool trans_a, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda, const Source& b, T beta,
             T* c, index_t ldc, const T* row_bias, FusedActivation act, const typename K::P* packed_a = nullptr) {
  using P = typename K::P;
  constexpr int MR = K::MR, NR = K::NR;
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == T(0)) {
    scale_c(m, n, beta, c, ldc);
    if (row_bias)
      for (index_t i = 0; i < m; ++i)
        for (index_t j = 0; j < n; ++j) c[i * ldc + j] += row_bias[i];
    act.apply(c, ldc, m, n);
    return;
  }
  const index_t threads = num_threads();
  // Even m blocks (multiples of MR) so that the last block is not a sliver.
  const index_t m_blocks = (m + K::MC - 1) / K::MC;
  const index_t mc_step = ((m + m_blocks - 1) / m_blocks + MR - 1) / MR * MR;
  const index_t m_panels = (m + MR - 1) / MR;

  for (index_t jc = 0; jc < n; jc += K::NC) {
    const index_t nc = std::min(K::NC, n - jc);
    const index_t n_panels = (nc + NR - 1) / NR;
    // Column chunks per m block: enough tasks to keep every thread busy, at least 4 panels each.
    const index_t want = std::max<index_t>(1, (4 * threads + m_blocks - 1) / m_blocks);
    const index_t chunk_panels = std::max<index_t>(std::min<index_t>(4, n_panels), (n_panels + want - 1) / want);
    const index_t n_chunks = (n_panels + chunk_panels - 1) / chunk_panels;
    for (index_t pc = 0; pc < k; pc += K::KC) {
      const index_t kc = std::min(K::KC, k - pc), steps = K::steps(kc);
      const T beta_k = pc == 0 ? beta : T(1);
      const T* bias_k = pc == 0 ? row_bias : nullptr;
      const bool last_depth = pc + kc == k;
      // With one block of rows every B panel is used once, right after it is packed: each task packs
      // its own chunk into its thread's buffer, where the micro-kernel finds it in L2 (packed up front,
      // a block of B is megabytes, written out to L3 and read back: bench_conv's 1x1 32->64 forward at
      // 256x256 ran 103 GFLOP/s that way, 130-138 this way).
      // Otherwise the block is packed once and shared.
      const bool pack_in_task = m_blocks == 1;
      P* pb = pack_in_task ? nullptr : thread_scratch<P>(Scratch::PackB, n_panels * NR * steps);
      if (!pack_in_task)
        parallel_for(0, n_panels, std::max<index_t>(1, 4096 / kc), [&](index_t lo, index_t hi) {
          b.template pack<K>(jc, pc, lo * NR, std::min(nc, hi * NR), nc, kc, pb);
        });
      // All of A's rows at this depth, packed once and shared by the tasks (unless packed_a has them):
      // each task packing its own rows re-packed every row once per column chunk, 5 % of a 256x256
      // NAFNet forward (the packing copies one float at a time, the micro-kernel multiplies 16 per
      // instruction).
      auto pack_depth_block = [&] {
        P* out = thread_scratch<P>(Scratch::PackA, m_panels * MR * steps);
        pack_a_rows<K>(trans_a, m, kc, trans_a ? a + pc * lda : a + pc, lda, out);
        return static_cast<const P*>(out);
      };
      const P* pa = packed_a ? packed_a + m_panels * MR * K::steps(pc) : pack_depth_block();
      parallel_for(0, m_blocks * n_chunks, 1, [&](index_t lo, index_t hi) {
        for (index_t task = lo; task < hi; ++task) {
          const index_t ic = (task / n_chunks) * mc_step, chunk = task % n_chunks;
          if (ic >= m) continue;
          const index_t mc = std::min(mc_step, m - ic);
          const P* pa_block = pa + ic * steps;  // ic is a multiple of MR: its panel starts there
          const index_t p_begin = chunk * chunk_panels, p_end = std::min(n_panels, p_begin + chunk_panels);
          auto pack_chunk = [&] {
            const index_t j0 = p_begin * NR, width = std::min(nc, p_end * NR) - j0;
            P* own = thread_scratch<P>(Scratch::PackB, (p_end - p_begin) * NR * steps);
            b.template pack<K>(jc + j0, pc, 0, width, nc - j0, kc, own);
            return static_cast<const P*>(own);
          };
          const P* pb_chunk = pack_in_task ? pack_chunk() : pb + p_begin * NR * steps;  // the chunk's first panel
          // Row panels outer: C is written along rows, which matters when ldc is a large power of 2.
          for (index_t i = 0; i < mc; i += MR) {
            const int mr = static_cast<int>(std::min<index_t>(MR, mc - i));
            for (index_t jp = p_begin; jp < p_end; ++jp) {
              const index_t j = jp * NR;
              const int nr = static_cast<int>(std::min<index_t>(NR, nc - j));
              T* tile = c + (ic + i) * ldc + jc + j;
              K::run(steps, pa_block + i * steps, pb_chunk + (jp - p_begin) * NR * steps, tile, ldc, alpha, beta_k,
                     bias_k ? bias_k + ic + i : nullptr, mr, nr);
              if (last_depth) act.apply(tile, ldc, mr, nr);
            }
          }
        }
      });
    }
  }
}

// Calls fn(K{}) with the kernel K for `isa` and `precision` (float; double always runs the scalar
// kernel; bf16 products only with AVX-512).
template <class T, class Fn>
void with_kernel(CpuIsa isa, MatmulPrecision precision, Fn&& fn) {
#if TLC_CPU_X86
  if constexpr (std::is_same_v<T, float>) {
    if (isa == CpuIsa::Avx512 && precision == MatmulPrecision::Bf16) return fn(avx512_bf16::Kernel{});
    if (isa == CpuIsa::Avx512) return fn(avx512::Kernel{});
    if (isa == CpuIsa::Avx2) return fn(avx2::Kernel{});
  }
#endif
  fn(scalar::Kernel<T>{});
}

}  // namespace gemm_detail

// C = act(alpha * op(A) * op(B) + row_bias[i] + beta * C), row-major; op(A) is m x k (A stored k x m
// when trans_a), op(B) is k x n (B stored n x k when trans_b); row_bias (m values) may be null. beta
// == 0 overwrites C without reading it; the bias is added in the kernel's store and the activation
// (none by default) to each finished tile, saving passes over C. Runs on the thread pool (serially
// when called from inside a parallel region).
template <class T>
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* b,
          index_t ldb, T beta, T* c, index_t ldc, const T* row_bias = nullptr, FusedActivation act = {}) {
  gemm_detail::with_kernel<T>(cpu_isa(), matmul_precision(), [&](auto kernel) {
    gemm_detail::blocked<T, decltype(kernel)>(trans_a, m, n, k, alpha, a, lda, gemm_detail::MatrixB<T>{trans_b, b, ldb},
                                              beta, c, ldc, row_bias, act);
  });
}

// C = act(A * B + row_bias[i] + beta * C) (A m x k row-major) where B (k x n) is never stored:
// `source` packs its panels as the GEMM needs them (gemm_detail::MatrixB's interface), e.g. the
// im2col columns of a convolution straight from the image.
template <class T, class Source>
void gemm_b_source(index_t m, index_t n, index_t k, const T* a, index_t lda, const Source& source, T* c, index_t ldc,
                   const T* row_bias = nullptr, T beta = T(0), FusedActivation act = {}) {
  gemm_detail::with_kernel<T>(cpu_isa(), matmul_precision(), [&](auto kernel) {
    gemm_detail::blocked<T, decltype(kernel)>(false, m, n, k, T(1), a, lda, source, beta, c, ldc, row_bias, act);
  });
}

// An m x k row-major A packed for the kernel of the instruction set and precision in use when it was
// packed, for many gemm_packed calls with the same A: the fused NAFNet block multiplies every band of
// rows by the same 1x1 weights, and packing them per band cost 3 % of a 256x256 forward.
template <class T>
struct PackedA {
  CpuIsa isa = CpuIsa::Scalar;
  MatmulPrecision precision = MatmulPrecision::Fp32;
  index_t m = 0, k = 0;
  // Per depth block of KC: ceil(m / MR) panels of MR x steps(kc); floats for the fp32 kernels, bf16
  // pairs for the bf16 one.
  std::vector<T> panels;
  std::vector<std::uint32_t> pair_panels;

  template <class P>
  std::vector<P>& storage() {
    if constexpr (std::is_same_v<P, std::uint32_t>) return pair_panels;
    else return panels;
  }
  template <class P>
  const P* data() const {
    if constexpr (std::is_same_v<P, std::uint32_t>) return pair_panels.data();
    else return panels.data();
  }
};

template <class T>
PackedA<T> pack_gemm_a(index_t m, index_t k, const T* a, index_t lda) {
  PackedA<T> out{cpu_isa(), matmul_precision(), m, k, {}, {}};
  gemm_detail::with_kernel<T>(out.isa, out.precision, [&](auto kernel) {
    using K = decltype(kernel);
    const index_t m_panels = (m + K::MR - 1) / K::MR;
    auto& panels = out.template storage<typename K::P>();
    panels.resize(static_cast<std::size_t>(m_panels * K::MR * std::max<index_t>(K::steps(k), 1)));
    // Row panels in parallel (the bf16 pairs are rounded as they are packed: 3 % of a 256x256 NAFNet
    // forward on one thread).
    for (index_t pc = 0; pc < k; pc += K::KC)
      gemm_detail::pack_a_rows<K>(false, m, std::min(K::KC, k - pc), a + pc, lda,
                                  panels.data() + m_panels * K::MR * K::steps(pc));
  });
  return out;
}

// C = A * B + row_bias[i] + beta * C with A packed by pack_gemm_a (B k x n row-major), as gemm(false,
// false, ...) computes it.
template <class T>
void gemm_packed(const PackedA<T>& a, index_t n, const T* b, index_t ldb, T beta, T* c, index_t ldc,
                 const T* row_bias = nullptr) {
  gemm_detail::with_kernel<T>(a.isa, a.precision, [&](auto kernel) {
    using K = decltype(kernel);
    gemm_detail::blocked<T, K>(false, a.m, n, a.k, T(1), nullptr, a.k, gemm_detail::MatrixB<T>{false, b, ldb}, beta, c,
                               ldc, row_bias, FusedActivation{}, a.template data<typename K::P>());
  });
}

// `batch` independent GEMMs whose operands start `stride_*` elements apart. Large problems
// parallelise inside each GEMM; many small ones run one per thread.
template <class T>
void gemm_batched(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
                  index_t stride_a, const T* b, index_t ldb, index_t stride_b, T beta, T* c, index_t ldc,
                  index_t stride_c, index_t batch) {
  auto one = [&](index_t i) {
    gemm<T>(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c,
            ldc);
  };
  if (batch >= num_threads() && batch > 1) {
    parallel_for(0, batch, 1, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) one(i);
    });
  } else {
    for (index_t i = 0; i < batch; ++i) one(i);
  }
}

}  // namespace tlc::cpu
