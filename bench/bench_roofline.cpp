// A roofline of the NAFNet block on this CPU: the machine's own peaks (FMA throughput with the GEMM's
// vector ISA, STREAM-style triad bandwidth) measured in the same run as every op of one NAFBlock at
// two levels of NAFNet-width32 at 720x1280 (level 0: 32 x 720 x 1280, level 3: 256 x 90 x 160), and the
// whole block unfused (the ops one by one) and fused (models/naf_block.hpp).
// Usage: bench_roofline [threads] [reps]. Prints a Markdown table; numbers, never a test. With
// TLC_MATMUL=bf16 the 1x1 convs multiply in bf16 and the compute roof is vdpbf16ps's.
//
// Per op: best-of-reps milliseconds, GMAC/s where the op multiplies (1x1 and depthwise convs), and
// GB/s of its compulsory traffic (every input read once, every output written once, float32). The
// roofline bound is max(2 * MACs / peak FLOP/s, bytes / triad bandwidth); "% of bound" is that
// bound over the measured time (100 % = at the machine's limit for this op; above 100 % where the
// operands came partly from the last-level cache, which the DRAM triad does not see).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/ops/cpu/gemm.hpp"

using namespace tlc;
using bench::best_time;

namespace {

// fma_chains is always inlined into the functions below, so 512-bit values never cross a call of the
// default ABI (which GCC warns about at the template).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

// Twelve independent FMA chains in registers (enough to cover the FMA latency x pipes of current x86
// cores; distinct starting values, or the compiler merges them into one). Inlined into a function
// compiled for the ISA's instructions.
template <class Isa>
[[gnu::always_inline]] inline float fma_chains(index_t iters, float seed) {
  using reg = typename Isa::V;
  float v[12];
  for (int k = 0; k < 12; ++k) v[k] = float(k) + seed;
  const float one = 1.0f, tiny = 1e-9f;
  const reg m = Isa::set(one), d = Isa::set(tiny);
  reg a0 = Isa::set(v[0]), a1 = Isa::set(v[1]), a2 = Isa::set(v[2]), a3 = Isa::set(v[3]);
  reg a4 = Isa::set(v[4]), a5 = Isa::set(v[5]), a6 = Isa::set(v[6]), a7 = Isa::set(v[7]);
  reg a8 = Isa::set(v[8]), a9 = Isa::set(v[9]), a10 = Isa::set(v[10]);
  reg a11 = Isa::set(v[11]);
  for (index_t i = 0; i < iters; ++i) {
    a0 = Isa::fmadd(a0, m, d), a1 = Isa::fmadd(a1, m, d), a2 = Isa::fmadd(a2, m, d), a3 = Isa::fmadd(a3, m, d);
    a4 = Isa::fmadd(a4, m, d), a5 = Isa::fmadd(a5, m, d), a6 = Isa::fmadd(a6, m, d), a7 = Isa::fmadd(a7, m, d);
    a8 = Isa::fmadd(a8, m, d), a9 = Isa::fmadd(a9, m, d), a10 = Isa::fmadd(a10, m, d), a11 = Isa::fmadd(a11, m, d);
  }
  const reg s = Isa::add(Isa::add(Isa::add(a0, a1), Isa::add(Isa::add(a2, a3), Isa::add(a4, a5))),
                         Isa::add(Isa::add(a6, a7), Isa::add(Isa::add(a8, a9), Isa::add(a10, a11))));
  float out[64];
  Isa::store(out, s);
  return out[0];
}

float scalar_chains(index_t iters, float seed) { return fma_chains<cpu::simd::Scalar<float>>(iters, seed); }
#if TLC_CPU_X86
__attribute__((target("avx2,fma"))) float avx2_chains(index_t iters, float seed) {
  return fma_chains<cpu::simd::Avx2>(iters, seed);
}
__attribute__((target("avx512f"))) float avx512_chains(index_t iters, float seed) {
  return fma_chains<cpu::simd::Avx512>(iters, seed);
}
// With bf16 products (TLC_MATMUL=bf16) the GEMM's multiply-add is vdpbf16ps: 16 lanes of bf16 pairs,
// 32 multiply-adds per instruction.
struct Bf16Dot : cpu::simd::Avx512 {
  __attribute__((target("avx512f,avx512bf16"))) static V fmadd(V a, V b, V c) {
    return _mm512_dpbf16_ps(a, reinterpret_cast<__m512bh>(b), reinterpret_cast<__m512bh>(c));
  }
};
__attribute__((target("avx512f,avx512bf16"))) float bf16_chains(index_t iters, float seed) {
  return fma_chains<Bf16Dot>(iters, seed);
}
#pragma GCC diagnostic pop
#endif

// The multiply-adds per instruction and the FLOP/s of every thread running chains of the GEMM
// kernel's multiply-add (its ISA's FMA, or vdpbf16ps with bf16 products).
std::pair<int, double> peak_flops(int reps) {
  float (*chains)(index_t, float) = scalar_chains;
  int width = 1;
#if TLC_CPU_X86
  if (cpu_isa() == CpuIsa::Avx512) chains = avx512_chains, width = 16;
  if (cpu_isa() == CpuIsa::Avx512 && matmul_precision() == MatmulPrecision::Bf16) chains = bf16_chains, width = 32;
  if (cpu_isa() == CpuIsa::Avx2) chains = avx2_chains, width = 8;
#endif
  const index_t iters = index_t(1) << 24, threads = num_threads();
  std::vector<float> sink(threads);
  const double t = best_time(reps, [&] {
    parallel_for(0, threads, 1, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) sink[i] = chains(iters, float(i));
    });
  });
  return {width, double(threads) * double(iters) * 12 * 2 * width / t};
}

// Bytes/s of a[i] = b[i] + s * c[i] over arrays far larger than the caches (3 arrays counted, as
// STREAM does; the write-allocate read of a is not).
double triad_bandwidth(int reps) {
  const index_t n = index_t(1) << 25;  // 128 MB per array
  const TensorF a = TensorF::zeros({n}), b = TensorF::ones({n}), c = TensorF::ones({n});  // the ops' allocator
  float* __restrict pa = a.data();
  const float* __restrict pb = b.data();
  const float* __restrict pc = c.data();
  const double t = best_time(reps, [&] {
    parallel_for(0, n, 1 << 16, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) pa[i] = pb[i] + 3.0f * pc[i];
    });
  });
  return 3.0 * 4.0 * double(n) / t;
}

struct Roof {
  double flops, bandwidth;
};

void row(const Roof& roof, const std::string& level, const std::string& op, double ms, double macs, double bytes) {
  const double bound_s = std::max(2.0 * macs / roof.flops, bytes / roof.bandwidth);
  char gmacs[32] = "-";
  if (macs > 0) std::snprintf(gmacs, sizeof gmacs, "%.1f", macs / ms / 1e6);
  std::printf("| %s | %s | %.1f | %s | %.1f | %.0f %% |\n", level.c_str(), op.c_str(), ms, gmacs, bytes / ms / 1e6,
              100.0 * bound_s * 1e3 / ms);
}

// Every op of one NAFBlock(c) on a c x h x w map, then the block unfused and fused.
void level_rows(const Roof& roof, const std::string& level, index_t c, index_t h, index_t w, int reps) {
  NoGrad ng;
  nn::manual_seed(1);
  models::NAFBlock block(c);
  for (auto& [name, p] : block.named_parameters())
    if (name == "beta" || name == "gamma") p.fill_(0.5f);
  Rng rng(2);
  const TensorF x = TensorF::uniform({1, c, h, w}, rng, -1, 1), x2 = TensorF::uniform({1, c, h, w}, rng, -1, 1);
  const double px = double(h * w), map = 4.0 * px * double(c);  // bytes of one c-channel map
  const TensorF ones = TensorF::ones({c}), zeros = TensorF::zeros({c});
  const TensorF w1 = TensorF::uniform({2 * c, c, 1, 1}, rng, -0.1, 0.1), b1 = TensorF::zeros({2 * c});
  const TensorF w2 = TensorF::uniform({2 * c, 1, 3, 3}, rng, -0.1, 0.1);
  const TensorF w3 = TensorF::uniform({c, c, 1, 1}, rng, -0.1, 0.1), b3 = TensorF::zeros({c});
  const TensorF s = TensorF::uniform({1, c, 1, 1}, rng, 0, 1);
  TensorF y;  // released before each call, so every call reuses the allocator's block (no page faults)
  auto ms = [&](auto&& fn) {
    return 1e3 * best_time(reps, [&] {
      y = TensorF();
      y = fn();
    });
  };
  row(roof, level, "LayerNorm2d", ms([&] { return ops::layer_norm2d(x, ones, zeros); }), 0, 2 * map);
  const TensorF wide = ops::conv2d(x, w1, b1);
  row(roof, level, "1x1 conv c->2c", ms([&] { return ops::conv2d(x, w1, b1); }), 2.0 * c * c * px, 3 * map);
  row(roof, level, "depthwise 3x3 (2c)", ms([&] { return ops::conv2d(wide, w2, b1, {1, 1, 1, 1, 2 * c}); }),
      18.0 * c * px, 4 * map);
  row(roof, level, "SimpleGate", ms([&] { return ops::simple_gate(wide); }), 0, 3 * map);
  nn::SCA<float> sca(c);
  row(roof, level, "SCA (pool, 1x1, scale)", ms([&] { return sca.scale(x); }), 0, 2 * map);
  row(roof, level, "1x1 conv c->c", ms([&] { return ops::conv2d(x, w3, b3); }), double(c) * c * px, 2 * map);
  row(roof, level, "residual x + beta * y", ms([&] { return ops::addcmul(x, x2, s); }), 0, 3 * map);
  const double block_macs = px * (6.0 * c * c + 18.0 * c + double(c) * c / px);
  {
    models::Unfused off;
    row(roof, level, "**NAFBlock, unfused**", ms([&] { return block.forward(x); }), block_macs, 2 * map);
  }
  row(roof, level, "**NAFBlock, fused**", ms([&] { return block.forward(x); }), block_macs, 2 * map);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2, reps = argc > 2 ? std::atoi(argv[2]) : 3;
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "usage: bench_roofline [threads >= 1] [reps >= 1]\n");
    return 2;
  }
  set_num_threads(threads);
  const auto [width, flops] = peak_flops(reps);
  const Roof roof{flops, triad_bandwidth(reps)};
  std::printf("threads %d, reps %d (best of); ISA %s, %s products (%d multiply-adds per instruction); peak %.1f "
              "GFLOP/s (%.1f GMAC/s), triad %.1f GB/s\n\n",
              threads, reps, isa_name(cpu_isa()), precision_name(matmul_precision()), width, roof.flops / 1e9,
              roof.flops / 2e9, roof.bandwidth / 1e9);
  std::printf("| level | op | ms | GMAC/s | GB/s | %% of bound |\n|---|---|---|---|---|---|\n");
  level_rows(roof, "0: 32 x 720 x 1280", 32, 720, 1280, reps);
  level_rows(roof, "3: 256 x 90 x 160", 256, 90, 160, reps);
  return 0;
}
