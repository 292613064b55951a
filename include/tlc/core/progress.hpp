#pragma once
// A one-line progress bar on stderr: count, rate, ETA and free-form status. Redraws at most a
// few times per second; prints plain lines instead when stderr is not a terminal.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace tlc {

class Progress {
 public:
  Progress(std::string label, long long total, std::string unit = "it")
      : label_(std::move(label)), total_(total), unit_(std::move(unit)), tty_(isatty(2) != 0),
        start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

  void update(long long done, const std::string& status = "", bool force = false) {
    const auto now = std::chrono::steady_clock::now();
    const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
    const bool finished = done >= total_;
    if (!force && !finished && since_draw < (tty_ ? 0.2 : 10.0)) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done - first_) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    const int width = 24;
    const int filled = total_ > 0 ? static_cast<int>(width * static_cast<double>(done) / static_cast<double>(total_)) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width), '.');
    std::fprintf(stderr, "%s%s [%s] %lld/%lld %.2f %s/s eta %s %s%s", tty_ ? "\r\033[K" : "", label_.c_str(), bar.c_str(),
                 done, total_, rate, unit_.c_str(), format_time(eta).c_str(), status.c_str(), tty_ ? "" : "\n");
    if (finished && tty_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }
  // Rates count from this point (e.g. after resuming at `done`).
  void rebase(long long done) {
    first_ = done;
    start_ = std::chrono::steady_clock::now();
  }
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  static std::string format_time(double s) {
    char buf[32];
    const long long t = static_cast<long long>(s + 0.5);
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t / 60) % 60);
    else std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
    return buf;
  }

 private:
  std::string label_;
  long long total_, first_ = 0;
  std::string unit_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tlc
