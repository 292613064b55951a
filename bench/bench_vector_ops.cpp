// The CPU kernels chosen at run time (ops/cpu/isa_target.hpp, ops/cpu/vec_math.hpp), timed with every
// instruction set this CPU supports in one run: the same binary with TLC_ISA=scalar, avx2, avx512.
// In a portable build (TLC_NATIVE=OFF) "scalar" is what every kernel but the GEMM ran before the
// choice moved to run time; in a native build it is the compiler's own vectorisation for this CPU.
// Usage: bench_vector_ops [threads] [reps]. A Markdown table of best-of-reps milliseconds on one
// 32 x 256 x 256 float map (NAFNet's level-0 width at 256x256); numbers, never a test.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tlc/tlc.hpp"

using namespace tlc;
using bench::best_time;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1, reps = argc > 2 ? std::atoi(argv[2]) : 5;
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "usage: bench_vector_ops [threads >= 1] [reps >= 1]\n");
    return 2;
  }
  set_num_threads(threads);
  NoGrad no_grad;
  Rng rng(1);
  const TensorF x = TensorF::uniform({1, 32, 256, 256}, rng, -3, 3);
  const TensorF x2 = TensorF::uniform({1, 64, 256, 256}, rng, -3, 3);
  const TensorF w = TensorF::uniform({32}, rng, 0.5, 1.5), b = TensorF::uniform({32}, rng, -1, 1);
  const TensorF dw = TensorF::uniform({32, 1, 3, 3}, rng, -1, 1), scale = TensorF::uniform({1, 32, 1, 1}, rng, -1, 1);
  const std::vector<std::pair<std::string, std::function<void()>>> ops = {
      {"gelu", [&] { ops::gelu(x); }},
      {"sigmoid", [&] { ops::sigmoid(x); }},
      {"layer_norm2d", [&] { ops::layer_norm2d(x, w, b); }},
      {"instance_norm", [&] { ops::instance_norm(x, w, b); }},
      {"depthwise 3x3", [&] { ops::conv2d(x, dw, b, {1, 1, 1, 1, 32}); }},
      {"simple_gate (64 -> 32)", [&] { ops::simple_gate(x2); }},
      {"addcmul (per-channel)", [&] { ops::addcmul(x, x, scale); }},
  };
  std::vector<CpuIsa> isas;
  for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512})
    if (static_cast<int>(isa) <= static_cast<int>(cpu_isa_supported())) isas.push_back(isa);
  std::printf("threads %d, reps %d (best of); map 32 x 256 x 256 float\n\n| op |", threads, reps);
  for (CpuIsa isa : isas) std::printf(" %s ms |", isa_name(isa));
  std::printf("\n|---|");
  for (size_t i = 0; i < isas.size(); ++i) std::printf("---|");
  std::printf("\n");
  for (const auto& [name, run] : ops) {
    std::printf("| %s |", name.c_str());
    for (CpuIsa isa : isas) {
      set_cpu_isa(isa);
      std::printf(" %.2f |", best_time(reps, run) * 1e3);
    }
    std::printf("\n");
  }
}
