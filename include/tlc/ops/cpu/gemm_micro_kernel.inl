// The GEMM micro-kernel, written once for every instruction set: gemm_kernels.hpp includes this file
// once per ISA, inside a namespace and under that ISA's `#pragma GCC target`, so each copy is compiled
// for its own instructions whatever the build's flags (no #pragma once: included several times).
// `Isa` is that namespace's vector type (simd.hpp): load, store, set, add, mul and fmadd.

// How the packed panels step through the depth, and how they are packed (gemm_pack.hpp). Float
// products: one float of A (broadcast) times NR floats of B per step, with the ISA's FMA. (The bf16
// kernel steps two depths at a time: gemm_kernels.hpp.)
template <class T, class Isa>
struct FloatSteps {
  using P = T;  // the packed element
  static constexpr int depth = 1;
  using Operand = typename Isa::V;
  static Operand load(const P* p) { return Isa::load(p); }
  static Operand broadcast(P v) { return Isa::set(v); }
  static typename Isa::V madd(Operand a, Operand b, typename Isa::V acc) { return Isa::fmadd(a, b, acc); }
  template <int MR>
  static void pack_a(bool trans, index_t mc, index_t kc, const T* a, index_t lda, P* out) {
    gemm_detail::pack_a<T, MR>(trans, mc, kc, a, lda, out);
  }
  template <int NR>
  static void pack_b(bool trans, index_t j0, index_t j1, index_t nc, index_t kc, const T* b, index_t ldb, P* out) {
    gemm_detail::pack_b<T, NR>(trans, j0, j1, nc, kc, b, ldb, out);
  }
};

// One MR x NR tile: acc = packed A panel * packed B panel over `steps` packed steps of the depth;
// then C = alpha*acc + bias[i] + beta*C for the valid mr x nr corner (bias may be null; beta == 0
// never reads C, so garbage or NaN in C is ignored).
//
// The accumulators are one small array of NV registers per row, each its own local variable: GCC
// keeps an aggregate in registers only up to a small size, and a single acc[MR][NV] array (384 bytes
// with AVX2) stayed in memory, every FMA result stored back to the stack in the inner loop; that held
// the GEMM to about a third of its speed. The row lambdas are forced inline for the same reason.
template <class T, class Isa, class Steps, int MR, int NV>
void micro_kernel(index_t steps, const typename Steps::P* pa, const typename Steps::P* pb, T* c, index_t ldc, T alpha,
                  T beta, const T* bias, int mr, int nr) {
  static_assert(MR >= 1 && MR <= 8, "micro_kernel: at most 8 rows");
  using reg = typename Isa::V;
  constexpr int W = static_cast<int>(Isa::lanes), NR = NV * W;
  reg r0[NV], r1[NV], r2[NV], r3[NV], r4[NV], r5[NV], r6[NV], r7[NV];
  auto each_row = [&](auto&& fn) __attribute__((always_inline)) {
    fn(r0, 0);
    if constexpr (MR > 1) fn(r1, 1);
    if constexpr (MR > 2) fn(r2, 2);
    if constexpr (MR > 3) fn(r3, 3);
    if constexpr (MR > 4) fn(r4, 4);
    if constexpr (MR > 5) fn(r5, 5);
    if constexpr (MR > 6) fn(r6, 6);
    if constexpr (MR > 7) fn(r7, 7);
  };
  each_row([](reg(&acc)[NV], int) __attribute__((always_inline)) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[j] = Isa::set(T(0));
  });
  for (index_t p = 0; p < steps; ++p, pa += MR, pb += NR) {
    typename Steps::Operand b[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) b[j] = Steps::load(pb + j * W);
    each_row([&](reg(&acc)[NV], int i) __attribute__((always_inline)) {
      const typename Steps::Operand a = Steps::broadcast(pa[i]);
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) acc[j] = Steps::madd(a, b[j], acc[j]);
    });
  }
  each_row([&](reg(&acc)[NV], int i) __attribute__((always_inline)) {
    if (i >= mr) return;
    T* cr = c + i * ldc;
    if (nr == NR) {
#pragma GCC unroll 8
      for (int j = 0; j < NV; ++j) {
        reg v = Isa::mul(acc[j], Isa::set(alpha));
        if (bias) v = Isa::add(v, Isa::set(bias[i]));
        if (beta != T(0)) v = Isa::fmadd(Isa::load(cr + j * W), Isa::set(beta), v);
        Isa::store(cr + j * W, v);
      }
      return;
    }
    alignas(64) T line[NR];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) Isa::store(line + j * W, acc[j]);
    for (int j = 0; j < nr; ++j)
      cr[j] = alpha * line[j] + (bias ? bias[i] : T(0)) + (beta != T(0) ? beta * cr[j] : T(0));
  });
}

// The kernel for T with this ISA and these steps: its tile (MR rows x NR columns), its cache blocks
// (KC deep, MC rows of A, NC columns of B), the packed element P and steps(kc), the packed steps of
// kc depths, its packing and run(), the micro-kernel above for that tile.
template <class T, class IsaT, class StepsT, int MR_, int NV_, index_t MC_, index_t NC_>
struct KernelOf {
  using Steps = StepsT;
  using P = typename Steps::P;
  static constexpr int MR = MR_, NV = NV_, NR = NV_ * static_cast<int>(IsaT::lanes);
  static constexpr index_t KC = 256, MC = MC_, NC = NC_;
  static_assert(KC % Steps::depth == 0, "KernelOf: depth blocks of whole steps");
  static constexpr index_t steps(index_t kc) { return (kc + Steps::depth - 1) / Steps::depth; }
  static void pack_a(bool trans, index_t mc, index_t kc, const T* a, index_t lda, P* out) {
    Steps::template pack_a<MR>(trans, mc, kc, a, lda, out);
  }
  static void pack_b(bool trans, index_t j0, index_t j1, index_t nc, index_t kc, const T* b, index_t ldb, P* out) {
    Steps::template pack_b<NR>(trans, j0, j1, nc, kc, b, ldb, out);
  }
  static void run(index_t steps, const P* pa, const P* pb, T* c, index_t ldc, T alpha, T beta, const T* bias, int mr,
                  int nr) {
    micro_kernel<T, IsaT, Steps, MR, NV>(steps, pa, pb, c, ldc, alpha, beta, bias, mr, nr);
  }
};
