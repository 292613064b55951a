// Cost of TLC's local aggregation on a NAFNet level-0 map (1 x 64 x 720 x 1280, float): local_mean
// forward for several windows against one plain copy of the tensor (the target is <= 3x a copy and
// flat across windows), local_max, local vs global instance norm, and the forward of the modules TLC
// converts (SE, SCA, InstanceNorm2d, MDTA) with global statistics and with the window a 256-px
// training crop gives at full resolution (384), all on the same 64-channel map, and local SCA's
// steps beside the global pool and scale.
// Usage: bench_local [threads] [reps]  (defaults: all threads, 3 reps; the best time is printed).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bench_util.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/nn/attention.hpp"
#include "tlc/nn/mdta.hpp"
#include "tlc/nn/spatial_norm.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/local_scale.hpp"
#include "tlc/ops/spatial_norm.hpp"
#include "tlc/tape/grad_mode.hpp"

using namespace tlc;
using bench::best_time;
using bench::now;

int main(int argc, char** argv) {
  if (argc > 1) set_num_threads(std::atoi(argv[1]));
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  NoGrad no_grad;
  const Shape shape{1, 64, 720, 1280};
  Rng rng(1);
  const TensorF x = TensorF::uniform(shape, rng, 0.0, 1.0);
  std::printf("threads %d, x %s float (%.0f MB), best of %d\n", num_threads(), shape.str().c_str(),
              double(x.nbytes()) / 1e6, reps);

  const double copy = best_time(reps, [&] { (void)x.clone(); });
  std::printf("%-34s %9.1f ms\n", "copy (clone)", copy * 1e3);
  for (index_t k : {8, 32, 128, 384}) {
    const double t = best_time(reps, [&] { (void)ops::local_mean(x, k, k); });
    std::printf("local_mean k=%-4lld %17s %9.1f ms  %5.2fx copy\n", static_cast<long long>(k), "", t * 1e3, t / copy);
  }
  for (index_t k : {8, 384}) {
    const double t = best_time(reps, [&] { (void)ops::local_max(x, k, k); });
    std::printf("local_max k=%-4lld %18s %9.1f ms  %5.2fx copy\n", static_cast<long long>(k), "", t * 1e3, t / copy);
  }
  const double global = best_time(reps, [&] { (void)ops::instance_norm(x); });
  std::printf("%-34s %9.1f ms  %5.2fx copy\n", "instance_norm global", global * 1e3, global / copy);
  for (index_t k : {32, 384}) {
    const double t = best_time(reps, [&] { (void)ops::instance_norm(x, TensorF(), TensorF(), 1e-5, {k, k}); });
    std::printf("instance_norm local k=%-4lld %8s %9.1f ms  %5.2fx copy  %5.2fx global\n", static_cast<long long>(k), "",
                t * 1e3, t / copy, t / global);
  }

  // Modules: global, then every aggregating layer set to a 384 x 384 window. SE and SCA are timed
  // as their callers use them, x * attention(x).
  auto time_module = [&](const char* name, nn::Module<float>& m, auto&& run) {
    const double g = best_time(reps, run);
    for (auto& [layer, agg] : local::aggregating_layers(m)) agg->set_window({384, 384});
    const double l = best_time(reps, run);
    local::to_global(m);
    std::printf("%-8s global %9.1f ms   local k=384 %9.1f ms  %5.2fx global\n", name, g * 1e3, l * 1e3, l / g);
  };
  nn::manual_seed(1);
  nn::SE<float> se(64, 16);
  nn::SCA<float> sca(64);
  nn::InstanceNorm2d<float> in(64);
  nn::MDTA<float> mdta(64, 1, false);
  time_module("SE", se, [&] { (void)se.scale(x); });
  time_module("SCA", sca, [&] { (void)sca.scale(x); });
  {  // local SCA step by step (the 1x1 conv on the valid map is the official per-pixel attention of local SCA)
    const index_t k = 384;
    TensorF valid, attention;
    const double pool = best_time(reps, [&] { valid = ops::local_mean_valid(x, k, k); });
    const double conv = best_time(reps, [&] { attention = sca[1].forward(valid); });
    const double scale = best_time(reps, [&] { (void)ops::local_expand_mul(x, attention, k, k); });
    const double mean = best_time(reps, [&] { (void)ops::mean(x, {2, 3}, true); });
    const double mean_mul = best_time(reps, [&] { (void)ops::mul(x, ops::mean(x, {2, 3}, true)); });
    std::printf("  SCA local k=384: local_mean_valid %.1f ms, 1x1 conv on %s %.1f ms, local_expand_mul %.1f ms\n",
                pool * 1e3, valid.shape().str().c_str(), conv * 1e3, scale * 1e3);
    std::printf("  SCA global: mean %.1f ms, x * mean %.1f ms\n", mean * 1e3, mean_mul * 1e3);
  }
  time_module("IN", in, [&] { (void)in(x); });
  time_module("MDTA", mdta, [&] { (void)mdta(x); });
  return 0;
}
