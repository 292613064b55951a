// One data-parallel training step, run under mpirun -np N (or alone, N = 1): each rank takes
// batch/N of the global batch, gradients are averaged in buckets while backward runs, then AdamW.
// Steps alternate between overlapped averaging (buckets start inside backward, as `tlc train`
// does) and averaging after backward, behind a barrier so that the ranks' skew is not counted:
// the first gives the wait left after backward (communication not hidden, plus any skew between
// the ranks), the second the whole all-reduce time; hidden = 1 - wait(overlapped) / wait(after).
// Usage: [mpirun -np N] bench_dist ARCH [steps] [threads] [batch] [size] [bucket_kib] [key=value ...]
//   (defaults: 6 steps of each kind, all threads, global batch 8, 64 x 64 patches, 1024 KiB buckets)
// Rank 0 prints one line:
//   `tlc dist ARCH ranks=N threads=T batch=B median_step_ms=... mb_reduced_per_step=... buckets=K
//    wait_overlapped_ms=... wait_after_ms=... hidden_pct=...`
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "tlc/models/registry.hpp"
#include "tlc/dist/gradient_averager.hpp"
#include "tlc/dist/launch.hpp"
#include "tlc/ops/loss.hpp"
#include "tlc/optim/adamw.hpp"

using namespace tlc;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: [mpirun -np N] bench_dist ARCH [steps] [threads] [batch] [size] [bucket_kib] "
                         "[key=value ...]\n");
    return 2;
  }
  const std::string arch = argv[1];
  const int steps = argc > 2 ? std::atoi(argv[2]) : 6;
  if (argc > 3) set_num_threads(std::atoi(argv[3]));
  const index_t batch = argc > 4 ? std::atoi(argv[4]) : 8, size = argc > 5 ? std::atoi(argv[5]) : 64;
  const std::size_t bucket = static_cast<std::size_t>(argc > 6 ? std::atoi(argv[6]) : 1024) << 10;
  models::Config config;
  if (!bench::model_options(argc, argv, 7, "bench_dist", config)) return 2;
  auto comm = dist::communicator_from_environment();
  return dist::run_or_abort(*comm, "bench_dist", [&] {
    const int ranks = comm->size();
    if (steps < 1 || size < 1 || bucket == 0 || batch % ranks != 0)
      throw Error("expected steps, size, bucket >= 1 and a batch divisible by the " + std::to_string(ranks) + " ranks");
    nn::manual_seed(1);
    auto model = models::make_model(arch, config);
    auto params = model->parameters();
    optim::Adam<float> opt(params, optim::AdamOptions{1e-3, 0.9, 0.9, 1e-8, 0.0, true});
    dist::GradientAverager<float> overlapped(*comm, params, bucket, true), after(*comm, params, bucket, false);
    Rng rng(100 + static_cast<std::uint64_t>(comm->rank()));
    const index_t share = batch / ranks, c = model->image_channels();
    const TensorF x = TensorF::uniform({share, c, size, size}, rng, 0.0, 1.0);
    const TensorF y = TensorF::uniform({share, c, size, size}, rng, 0.0, 1.0);
    auto step = [&](dist::GradientAverager<float>& avg) {
      TensorF loss = ops::psnr_loss(model->forward(x), y);
      if (ranks > 1) {
        autograd::backward(loss, TensorF(), false, avg.hook());
        if (&avg == &after) comm->barrier();
        avg.finish();
      } else {
        autograd::backward(loss);
      }
      opt.step();
      opt.zero_grad();
    };
    step(overlapped);  // warm-up: caches fill here
    step(after);
    std::vector<double> step_s, wait_on, wait_off;
    for (int s = 0; s < steps; ++s) {
      comm->barrier();  // every rank starts the timed step together
      const double t0 = bench::now();
      step(overlapped);
      step_s.push_back(bench::now() - t0);
      wait_on.push_back(overlapped.stats().exposed_seconds);
      comm->barrier();
      step(after);
      wait_off.push_back(after.stats().exposed_seconds);
    }
    if (comm->rank() == 0) {
      const double on = median(wait_on), off = median(wait_off);
      std::printf("tlc dist %s ranks=%d threads=%d batch=%lld median_step_ms=%.1f mb_reduced_per_step=%.2f buckets=%zu "
                  "wait_overlapped_ms=%.2f wait_after_ms=%.2f hidden_pct=%.0f\n",
                  arch.c_str(), ranks, num_threads(), static_cast<long long>(batch), median(step_s) * 1e3,
                  ranks > 1 ? overlapped.stats().bytes / (1 << 20) : 0.0, overlapped.bucket_count(), on * 1e3,
                  off * 1e3, off > 0 ? 100 * (1 - on / off) : 0.0);
    }
    return 0;
  });
}
