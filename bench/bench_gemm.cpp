// GFLOP/s of cpu::gemm (float) against a naive loop, on square sizes and NAFNet-like 1x1-conv
// shapes (m = Cout, k = Cin, n = H*W). Usage: bench_gemm [threads]  (default: all).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"
#include "tlc/core/rng.hpp"
#include "tlc/ops/cpu/gemm.hpp"

using namespace tlc;
using bench::best_time;
using bench::now;

namespace {

// The loop a newcomer would write (i-p-j order, so that the inner loop is contiguous).
void naive(index_t m, index_t n, index_t k, const float* a, const float* b, float* c) {
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) c[i * n + j] = 0;
    for (index_t p = 0; p < k; ++p)
      for (index_t j = 0; j < n; ++j) c[i * n + j] += a[i * k + p] * b[p * n + j];
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) set_num_threads(std::atoi(argv[1]));
  std::printf("threads %d\n%-28s %10s %10s %8s\n", num_threads(), "shape (m x n x k)", "ours", "naive", "ratio");
  struct Case {
    const char* name;
    index_t m, n, k;
  };
  const Case cases[] = {{"square 256", 256, 256, 256},
                        {"square 512", 512, 512, 512},
                        {"square 1024", 1024, 1024, 1024},
                        {"1x1 32->64 @128x128", 64, 16384, 32},
                        {"1x1 64->128 @128x128", 128, 16384, 64},
                        {"1x1 64->64 @256x256", 64, 65536, 64},
                        {"1x1 128->256 @64x64", 256, 4096, 128},
                        {"1x1 256->512 @32x32", 512, 1024, 256}};
  Rng rng(1);
  for (const Case& cs : cases) {
    std::vector<float> a(static_cast<size_t>(cs.m * cs.k)), b(static_cast<size_t>(cs.k * cs.n)),
        c(static_cast<size_t>(cs.m * cs.n));
    for (auto& x : a) x = static_cast<float>(rng.uniform(-1, 1));
    for (auto& x : b) x = static_cast<float>(rng.uniform(-1, 1));
    const double flop = 2.0 * double(cs.m) * double(cs.n) * double(cs.k);
    const int reps = flop > 1e9 ? 3 : 10;
    const double t_ours = best_time(reps, [&] {
      cpu::gemm<float>(false, false, cs.m, cs.n, cs.k, 1.f, a.data(), cs.k, b.data(), cs.n, 0.f, c.data(), cs.n);
    });
    const double t_naive = best_time(1, [&] { naive(cs.m, cs.n, cs.k, a.data(), b.data(), c.data()); });
    std::printf("%-28s %10.1f %10.1f %7.1fx\n", cs.name, flop / t_ours * 1e-9, flop / t_naive * 1e-9, t_naive / t_ours);
  }
  return 0;
}
