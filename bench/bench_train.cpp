// One training step of any model in the registry on random patches: forward, PSNR loss, backward,
// AdamW step, zero_grad, as `tlc train` runs it. Beside the time it prints what the step costs the
// host allocator: the system allocations per step (misses, each one fresh pages to fault in) and
// the most memory tensors held at once.
// Usage: bench_train ARCH [reps] [threads] [batch] [size] [key=value ...]
//   (defaults: 3 reps, all threads, batch 8, 64 x 64 patches; key=value are model options as in
//   `tlc train --set`, e.g. bench_train unet 3 1 8 64 module=in).
// Prints one line after one warm-up step:
//   `tlc train ARCH threads=T reps=R median_ms=... min_ms=... misses_per_step=... peak_live_mb=... peak_rss_mb=...`
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tlc/models/registry.hpp"
#include "tlc/autograd/backward.hpp"
#include "tlc/ops/loss.hpp"
#include "tlc/optim/adamw.hpp"

using namespace tlc;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_train ARCH [reps] [threads] [batch] [size] [key=value ...]\n");
    return 2;
  }
  const std::string arch = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  if (argc > 3) set_num_threads(std::atoi(argv[3]));
  const index_t batch = argc > 4 ? std::atoi(argv[4]) : 8, size = argc > 5 ? std::atoi(argv[5]) : 64;
  if (reps < 1 || batch < 1 || size < 1) {
    std::fprintf(stderr, "bench_train: expected reps, batch and size >= 1\n");
    return 2;
  }
  models::Config config;
  if (!bench::model_options(argc, argv, 6, "bench_train", config)) return 2;
  try {
    auto model = models::make_model(arch, config);
    auto params = model->parameters();
    optim::Adam<float> opt(params, optim::AdamOptions{1e-3, 0.9, 0.9, 1e-8, 0.0, true});
    Rng rng(0);
    const index_t c = model->image_channels();
    const TensorF x = TensorF::uniform({batch, c, size, size}, rng, 0.0, 1.0);
    const TensorF y = TensorF::uniform({batch, c, size, size}, rng, 0.0, 1.0);
    auto step = [&] {
      TensorF loss = ops::psnr_loss(model->forward(x), y);
      autograd::backward(loss);
      opt.step();
      opt.zero_grad();
    };
    step();  // warm-up: the allocator's cache fills here
    const std::size_t misses = CpuAllocator::instance().stats().misses;
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
      const double t0 = bench::now();
      step();
      times.push_back(bench::now() - t0);
    }
    std::sort(times.begin(), times.end());
    const auto stats = CpuAllocator::instance().stats();
    std::printf("tlc train %s threads=%d reps=%d median_ms=%.1f min_ms=%.1f misses_per_step=%.1f peak_live_mb=%.0f "
                "peak_rss_mb=%.0f\n",
                arch.c_str(), num_threads(), reps, times[times.size() / 2] * 1e3, times.front() * 1e3,
                double(stats.misses - misses) / reps, double(stats.peak_live_bytes) / (1 << 20),
                bench::status_mb("VmHWM:"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
  return 0;
}
