#pragma once
// Timing helpers shared by the benchmarks.
#include <algorithm>
#include <chrono>

namespace tlc::bench {

inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Best-of-`reps` seconds of fn(), after one warm-up call.
template <class F>
double best_time(int reps, F&& fn) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    fn();
    best = std::min(best, now() - t0);
  }
  return best;
}

}  // namespace tlc::bench
