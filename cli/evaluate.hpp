#pragma once
// Evaluation data and scoring shared by `tlc eval`, `tlc sweep` and validation in `tlc train`:
// pairs of (degraded, clean) full-size images — from a paired folder (input/ + target/) or a
// folder of clean images degraded by a spec, seeded per image name so runs repeat — and the
// per-mode PSNR / SSIM / time / peak memory exactly as spec section 8.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "tlc/core/progress.hpp"
#include "models/inference.hpp"
#include "tlc/data/degrade.hpp"
#include "tlc/data/image.hpp"
#include "tlc/metrics/psnr.hpp"
#include "tlc/metrics/ssim.hpp"

namespace tlc::cli {

struct EvalPair {
  std::string name;
  TensorF degraded, clean;  // [1,3,H,W] on the CPU
};

// A seed that depends only on the image name (FNV-1a), so every run degrades it identically.
inline std::uint64_t name_seed(const std::string& name, std::uint64_t salt = 0) {
  std::uint64_t h = 1469598103934665603ull ^ salt;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

inline std::vector<EvalPair> load_eval_pairs(const std::string& dir, const std::string& degrade_spec) {
  namespace fs = std::filesystem;
  std::vector<EvalPair> out;
  const bool paired = fs::is_directory(fs::path(dir) / "input") && fs::is_directory(fs::path(dir) / "target");
  if (paired) {
    TLC_CHECK(degrade_spec.empty() || degrade_spec == "none", Error, "eval: '", dir,
              "' is a paired folder (input/ + target/); --degrade applies only to folders of clean images");
    for (const std::string& in : list_images((fs::path(dir) / "input").string())) {
      const std::string name = fs::path(in).filename().string();
      const fs::path target = fs::path(dir) / "target" / name;
      TLC_CHECK(fs::exists(target), IoError, "eval: '", in, "' has no target '", target.string(), "'");
      EvalPair p{name, data::read_image(in).rgb, data::read_image(target.string()).rgb};
      TLC_CHECK(p.degraded.shape() == p.clean.shape(), ShapeError, "eval: '", name, "': input ",
                p.degraded.shape().str(), " and target ", p.clean.shape().str(), " differ in size");
      out.push_back(std::move(p));
    }
    return out;
  }
  TLC_CHECK(!degrade_spec.empty(), Error, "eval: '", dir,
            "' holds clean images: give --degrade SPEC (or auto for the model's recorded evaluation degradation)");
  const data::Degradation deg = data::Degradation::parse(degrade_spec);
  for (const std::string& f : list_images(dir)) {
    const std::string name = std::filesystem::path(f).filename().string();
    TensorF clean = data::read_image(f).rgb;
    Rng rng(name_seed(name));
    out.push_back({name, deg.apply(clean, rng), clean});
  }
  return out;
}

struct Score {
  double psnr = 0, ssim = 0, seconds = 0, peak_mb = 0;
};

// Peak resident memory since the last reset, in MiB (Linux: VmHWM, reset by clear_refs 5).
inline void reset_peak_memory() {
  std::ofstream f("/proc/self/clear_refs");
  if (f) f << "5";
#if defined(TLC_WITH_CUDA)
  if (cuda_device_count() > 0) cuda::reset_peak_allocated_bytes();
#endif
}
inline double peak_memory_mb(Device device) {
#if defined(TLC_WITH_CUDA)
  if (device.is_cuda()) return static_cast<double>(cuda::peak_allocated_bytes()) / (1024.0 * 1024.0);
#endif
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0.0;
}

// Restores `p.degraded` with the prepared model and scores it against `p.clean`.
inline Score score_one(models::Restorer& model, const EvalPair& p, const models::InferenceOptions& opt, Device device,
                       TensorF* restored = nullptr) {
  reset_peak_memory();
  const auto t0 = std::chrono::steady_clock::now();
  TensorF y = models::restore(model, p.degraded.to(device), opt).cpu();
  Score s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.peak_mb = peak_memory_mb(device);
  s.psnr = metrics::psnr(y, p.clean);
  s.ssim = metrics::ssim(y, p.clean);
  if (restored) *restored = y;
  return s;
}

}  // namespace tlc::cli
