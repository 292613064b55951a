#pragma once
// Learning-rate schedules. Iterations are 1-based as in the official BasicSR recipes of NAFNet/TLC: at
// iteration t the cosine schedule has been stepped t-1 times.
#include <algorithm>
#include <cmath>

namespace tlc::optim {

struct CosineSchedule {
  double lr0 = 1e-3;
  double eta_min = 1e-7;
  long long t_max = 1;          // cosine period in iterations
  long long warmup_iters = 0;   // linear warm-up (BasicSR style: lr0 * t / warmup for t < warmup)

  double at(long long t) const {
    if (warmup_iters > 0 && t < warmup_iters) return lr0 * static_cast<double>(t) / static_cast<double>(warmup_iters);
    const double progress = static_cast<double>(std::min(std::max(t - 1, 0LL), t_max)) / static_cast<double>(std::max(t_max, 1LL));
    return eta_min + (lr0 - eta_min) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
  }
};

}  // namespace tlc::optim
