#pragma once
// The process's memory as the CLI sees it: physical RAM (for the --max-memory default), resident
// and peak resident size (Linux /proc), and byte counts as people write them ("4G", "512M").
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "cli/args.hpp"
#include "tlc/core/cuda_allocator.hpp"
#include "tlc/core/device.hpp"

namespace tlc::cli {

inline double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

// The share of physical RAM a restore may plan for when --max-memory is not given.
constexpr double kDefaultMemoryShare = 0.5;

// A field of /proc/self/status in bytes (VmRSS, VmHWM), 0 where it cannot be read.
inline double proc_status_bytes(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) * 1024.0;
  return 0.0;
}

// Starts a new peak measurement (Linux: VmHWM, reset by clear_refs 5; CUDA: the allocator's peak).
inline void reset_peak_memory() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
#if defined(TLC_WITH_CUDA)
  if (cuda_device_count() > 0) cuda::reset_peak_allocated_bytes();
#endif
}
// Peak resident memory since the last reset (CUDA: device memory), in MiB.
inline double peak_memory_mb(Device device) {
#if defined(TLC_WITH_CUDA)
  if (device.is_cuda()) return static_cast<double>(cuda::peak_allocated_bytes()) / (1024.0 * 1024.0);
#endif
  (void)device;
  return proc_status_bytes("VmHWM") / (1024.0 * 1024.0);
}

// "123" (bytes), "512K", "300M", "4G" or "1.5G" (powers of 1024).
inline double parse_bytes(const std::string& text, const std::string& option) {
  double v = -1;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  const std::string unit = used < text.size() ? text.substr(used) : "";
  double mult = 0;
  if (unit.empty()) mult = 1;
  else if (unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "m") mult = 1024.0 * 1024.0;
  else if (unit == "G" || unit == "g") mult = 1024.0 * 1024.0 * 1024.0;
  if (!(v > 0) || mult == 0)
    throw UsageError(option + " expects a positive size such as 4G, 512M or a byte count, found '" + text + "'");
  return v * mult;
}

inline std::string gib_text(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace tlc::cli
