#pragma once
// Timing helpers shared by the benchmarks.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <cstdio>
#include <string>

#include "tlc/models/config.hpp"

namespace tlc::bench {

inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// CPU time of the whole process (all threads), in seconds.
inline double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// A field of /proc/self/status in MB (VmHWM: peak resident set; VmRSS: current; both in kB).
inline double status_mb(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::size_t len = std::strlen(field);
  while (std::getline(f, line))
    if (line.compare(0, len, field) == 0) return std::atof(line.c_str() + len) / 1024.0;
  return -1;
}

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

// Model options from the arguments argv[first..], each key=value as in `tlc train --set model.KEY=...`.
// False, with a message naming `who`, on a malformed one.
inline bool model_options(int argc, char** argv, int first, const char* who, models::Config& out) {
  for (int i = first; i < argc; ++i) {
    const std::string kv = argv[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "%s: expected key=value, found '%s'\n", who, argv[i]);
      return false;
    }
    out.set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return true;
}

}  // namespace tlc::bench
