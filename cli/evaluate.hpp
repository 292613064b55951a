#pragma once
// Evaluation data and scoring shared by `tlc eval`, `tlc sweep` and validation in `tlc train`:
// pairs of (degraded, clean) full-size images read by the library's data folders — a paired
// folder (input/ + target/) as stored, or a folder of clean images degraded by a spec, seeded per
// image name so runs repeat — and the per-mode PSNR / SSIM / time / peak memory, scored on
// uint8-rounded images as the paper does (docs/TLC.md).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/memory.hpp"
#include "tlc/models/inference.hpp"
#include "tlc/models/model_file.hpp"
#include "tlc/core/progress.hpp"
#include "tlc/data/dataset.hpp"
#include "tlc/data/degrade.hpp"
#include "tlc/io/checksum.hpp"
#include "tlc/metrics/psnr.hpp"
#include "tlc/metrics/ssim.hpp"

namespace tlc::cli {

struct EvalPair {
  std::string name;
  TensorF degraded, clean;  // [1,3,H,W] on the CPU
};

// A seed that depends only on the image name (FNV-1a), so every run degrades it identically.
inline std::uint64_t name_seed(const std::string& name, std::uint64_t salt = 0) {
  return io::fnv1a64(name, io::kFnv1aBasis ^ salt);
}

// A paired folder holds input/ and target/; anything else is a folder of clean images.
inline bool is_paired_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  return fs::is_directory(fs::path(dir) / "input") && fs::is_directory(fs::path(dir) / "target");
}

// The --degrade option of eval and sweep: the same default (auto) and help in both.
inline void add_degrade_option(Args& a) {
  a.option("degrade", "SPEC|auto",
           "degradation of a folder of clean images (docs/DATA.md); auto: the one the model records for "
           "evaluation. Not used with a paired folder",
           "auto");
}

// The degradation spec for `dir` ("" for a paired folder), checked before anything is loaded.
// `auto` is resolved later, from the model (resolve_degrade).
inline std::string degrade_arg(const Args& a, const std::string& dir) {
  const std::string spec = a.get("degrade");
  if (is_paired_folder(dir)) {
    if (a.has("degrade") && spec != "auto" && spec != "none")
      throw UsageError("--degrade " + spec + ": '" + dir +
                       "' is a paired folder (input/ + target/) whose inputs are already degraded");
    return "";
  }
  if (spec != "auto") {
    try {
      data::Degradation::parse(spec);
    } catch (const Error& e) {
      throw UsageError(std::string("--degrade: ") + e.what());
    }
  }
  return spec;
}

inline std::string resolve_degrade(const std::string& spec, const models::ModelInfo& info, const std::string& dir) {
  if (spec != "auto") return spec;
  TLC_CHECK(!info.eval_degradation.empty(), Error, "--degrade auto: the model records no evaluation degradation; '", dir,
            "' holds clean images, so give --degrade SPEC (docs/DATA.md)");
  return info.eval_degradation;
}

// The evaluation pairs of `dir` (degrade_spec: "" for a paired folder). With skip_bad, unreadable
// files are skipped and counted in *skipped.
inline std::vector<EvalPair> load_eval_pairs(const std::string& dir, const std::string& degrade_spec, bool skip_bad = false,
                                             std::size_t* skipped = nullptr) {
  data::FolderOptions fo;
  fo.skip_bad = skip_bad;
  std::unique_ptr<data::Dataset> ds;
  std::size_t bad = 0;
  if (is_paired_folder(dir)) {
    auto p = std::make_unique<data::PairedFolder>(dir, fo);
    bad = p->skipped().size();
    ds = std::move(p);
  } else {
    auto c = std::make_unique<data::CleanFolder>(dir, degrade_spec, fo);
    bad = c->skipped().size();
    ds = std::move(c);
  }
  if (skipped) *skipped = bad;
  std::vector<EvalPair> out;
  for (std::size_t i = 0; i < ds->size(); ++i) {
    Rng rng(name_seed(ds->name(i)));
    data::Pair p = ds->full(i, rng);
    out.push_back({ds->name(i), p.input, p.target});
  }
  return out;
}

struct Score {
  double psnr = 0, ssim = 0, seconds = 0, peak_mb = 0;
};

// PSNR and SSIM of `image` against `clean` (no time or memory).
inline Score quality(const TensorF& image, const TensorF& clean) {
  Score s;
  s.psnr = metrics::psnr(image, clean);
  s.ssim = metrics::ssim(image, clean);
  return s;
}

// Restores `p.degraded` with the prepared model and scores it against `p.clean`.
inline Score score_one(models::Restorer& model, const EvalPair& p, const models::InferenceOptions& opt, Device device,
                       TensorF* restored = nullptr) {
  reset_peak_memory();
  const auto t0 = std::chrono::steady_clock::now();
  TensorF y = models::restore(model, p.degraded.to(device), opt).cpu();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double peak_mb = peak_memory_mb(device);
  Score s = quality(y, p.clean);
  s.seconds = seconds;
  s.peak_mb = peak_mb;
  if (restored) *restored = y;
  return s;
}

}  // namespace tlc::cli
