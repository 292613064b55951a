// NAFNet on the CPU: the cases that bench/torch_baseline.py times in PyTorch and ONNX Runtime.
//   fwd256_global, fwd256_tlc, fwd720_global, fwd720_tlc: NAFNet-GoPro-width32 (enc 1,1,1,28 / mid 1 /
//     dec 1,1,1,1) forward under NoGrad on 1x3x256x256 or 1x3x720x1280; _tlc after local::convert
//     with train size 256 and scale 1.5 (at 256 every window covers its map, so it equals global).
//   train: one step of NAFNet width 16, blocks 1,1,1,1 / 1 / 1,1,1,1 on 8x3x64x64 (forward, PSNR loss,
//     backward, AdamW step, zero_grad).
// Usage: bench_nafnet CASE [reps] [threads] [cpu|cuda]. Prints one line
//   `tlc CASE threads=T reps=R median_ms=... min_ms=... cpu_median_ms=... peak_rss_mb=... setup_rss_mb=...`
// after one warm-up call; cpu_median_ms is the median of the process CPU time per call (all threads),
// which other jobs on a loaded machine disturb less than the wall time. Peak RSS is this process's
// VmHWM, so run one case per process; peak_live_mb is the most host memory tensors held at once (the
// allocator's count, which the resident set exceeds by its cache and by code and libraries). On cuda (a build with the CUDA backend) every call ends with a
// device synchronise, and the line reports the device's peak allocated memory as peak_gpu_mb.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tlc/models/registry.hpp"
#include "tlc/autograd/backward.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/ops/loss.hpp"
#include "tlc/optim/adamw.hpp"

using namespace tlc;
using bench::cpu_now;
using bench::now;
using bench::status_mb;

namespace {

models::Config gopro_width32() {
  models::Config c;
  c.set("width", "32");
  c.set("enc_blocks", "1,1,1,28");
  c.set("middle_blocks", "1");
  c.set("dec_blocks", "1,1,1,1");
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: bench_nafnet fwd256_global|fwd256_tlc|fwd720_global|fwd720_tlc|train [reps] [threads] "
                 "[cpu|cuda]\n");
    return 2;
  }
  const std::string which = argv[1];
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  if (argc > 3) set_num_threads(std::atoi(argv[3]));
  const Device device = Device::parse(argc > 4 ? argv[4] : "cpu");
  if (device.is_cuda() && cuda_device_count() <= device.index) {
    std::fprintf(stderr, "bench_nafnet: %s: no such CUDA device (this build sees %d)\n", device.str().c_str(),
                 cuda_device_count());
    return 2;
  }
  auto sync = [&] {
#if defined(TLC_WITH_CUDA)
    if (device.is_cuda()) cuda::synchronize();
#endif
  };
  Rng rng(0);
  std::vector<double> times, cpu_times;
  double setup_rss = 0;  // resident set with the model and inputs built, before the first call
  auto time_it = [&](auto&& fn) {
    setup_rss = status_mb("VmRSS:");
    fn();  // warm-up: first-touch of the caches and of the allocator's blocks (cuDNN plans on the GPU)
    sync();
#if defined(TLC_WITH_CUDA)
    if (device.is_cuda()) cuda::reset_peak_allocated_bytes();
#endif
    for (int r = 0; r < reps; ++r) {
      const double t0 = now(), c0 = cpu_now();
      fn();
      sync();
      times.push_back(now() - t0);
      cpu_times.push_back(cpu_now() - c0);
    }
  };

  if (which.rfind("fwd", 0) == 0) {
    const bool big = which.rfind("fwd720", 0) == 0;
    const bool tlc_mode = which.size() > 4 && which.substr(which.size() - 4) == "_tlc";
    if (!big && which.rfind("fwd256", 0) != 0) {
      std::fprintf(stderr, "bench_nafnet: unknown case '%s'\n", which.c_str());
      return 2;
    }
    auto model = models::make_model("nafnet", gopro_width32());
    model->to(device);
    if (tlc_mode) local::convert(*model, {256, 256, 1.5});
    const TensorF x = TensorF::uniform({1, 3, big ? 720 : 256, big ? 1280 : 256}, rng, 0.0, 1.0).to(device);
    NoGrad no_grad;
    time_it([&] { (void)model->forward(x); });
  } else if (which == "train") {
    auto model = models::make_model("nafnet", models::Config());  // width 16, blocks 1,1,1,1 / 1 / 1,1,1,1
    model->to(device);
    auto params = model->parameters();
    optim::Adam<float> opt(params, optim::AdamOptions{1e-3, 0.9, 0.9, 1e-8, 0.0, true});
    const TensorF x = TensorF::uniform({8, 3, 64, 64}, rng, 0.0, 1.0).to(device);
    const TensorF y = TensorF::uniform({8, 3, 64, 64}, rng, 0.0, 1.0).to(device);
    time_it([&] {
      TensorF loss = ops::psnr_loss(model->forward(x), y);
      autograd::backward(loss);
      opt.step();
      opt.zero_grad();
    });
  } else {
    std::fprintf(stderr, "bench_nafnet: unknown case '%s'\n", which.c_str());
    return 2;
  }
  std::vector<double> s = times, c = cpu_times;
  std::sort(s.begin(), s.end());
  std::sort(c.begin(), c.end());
  std::printf("tlc %s threads=%d reps=%d median_ms=%.1f min_ms=%.1f cpu_median_ms=%.1f peak_rss_mb=%.0f "
              "setup_rss_mb=%.0f peak_live_mb=%.0f",
              which.c_str(), num_threads(), reps, s[s.size() / 2] * 1e3, s.front() * 1e3, c[c.size() / 2] * 1e3,
              status_mb("VmHWM:"), setup_rss, double(CpuAllocator::instance().stats().peak_live_bytes) / (1 << 20));
#if defined(TLC_WITH_CUDA)
  if (device.is_cuda())
    std::printf(" device=%s peak_gpu_mb=%.0f", device.str().c_str(), double(cuda::peak_allocated_bytes()) / (1 << 20));
#endif
  std::printf("\n");
  return 0;
}
