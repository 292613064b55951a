#pragma once
// The data of `tlc train`: the training images with a held-out split, the held-out full images
// degraded as `tlc eval` degrades them, and validation on them with global and TLC inference.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/evaluate.hpp"
#include "tlc/data/dataset.hpp"

namespace tlc::cli {

// The sample photos shipped with tlc: share/tlc/photos beside an installed binary, else
// data/photos of the source tree this binary was built from.
inline std::string sample_photos_dir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> tried;
#if defined(__linux__)
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) tried.push_back(exe.parent_path().parent_path() / "share" / "tlc" / "photos");
#endif
#if defined(TLC_SOURCE_DIR)
  tried.push_back(fs::path(TLC_SOURCE_DIR) / "data" / "photos");
#endif
  std::string list;
  for (const auto& p : tried) {
    if (fs::is_directory(p)) return p.string();
    list += (list.empty() ? "" : ", ") + p.string();
  }
  throw UsageError("no data.dir was given and the sample photos are not where tlc looks for them (" + list +
                   "): give --set data.dir=FOLDER");
}

struct TrainingData {
  std::shared_ptr<const data::Dataset> train;
  std::vector<EvalPair> val;  // held out; filled on the rank that validates
  bool paired = false;

  // The training images by name, to check that every rank sees the same data.
  std::string fingerprint() const {
    std::string s;
    for (std::size_t i = 0; i < train->size(); ++i) s += train->name(i) + "\n";
    return s;
  }
};

// with_validation: also read and degrade the held-out images (only the rank that validates needs them).
inline TrainingData load_training_data(const models::Config& c, bool with_validation) {
  TrainingData d;
  const std::string dir = c.str("data.dir", "");
  d.paired = is_paired_folder(dir);
  std::shared_ptr<data::Dataset> all;
  if (d.paired) all = std::make_shared<data::PairedFolder>(dir);
  else all = std::make_shared<data::CleanFolder>(dir, c.str("data.degrade", ""));
  const index_t k = c.integer("data.holdout_every", 5);
  d.train = all;
  if (k < 2) return d;
  const auto split = data::holdout_every(all->size(), static_cast<std::size_t>(k));
  TLC_CHECK(!split.train.empty(), Error, "train: holdout_every ", k, " leaves no training image in ", dir);
  d.train = std::make_shared<data::Subset>(all, split.train);
  if (!with_validation) return d;
  const data::Degradation eval_deg = data::Degradation::parse(d.paired ? "" : c.str("data.eval_degrade", ""));
  for (std::size_t i : split.val) {
    const TensorF& clean = all->target(i);
    Rng rng(name_seed(all->name(i)));  // the same noise `tlc eval` draws for this image
    d.val.push_back({all->name(i), d.paired ? all->full(i, rng).input : eval_deg.apply(clean, rng), clean});
  }
  return d;
}

// "val psnr global G tlc T (+D)" on the held-out images, TLC windows from the patch size; the
// model's own windows are restored afterwards.
inline std::string validation_text(models::Restorer& model, const std::vector<EvalPair>& val, index_t patch,
                                   const Device& device) {
  if (val.empty()) return "";
  NoGrad ng;
  const auto windows = local::windows(model);
  double g = 0, t = 0;
  models::InferenceOptions iopt;
  iopt.train_h = iopt.train_w = patch;
  for (auto mode : {models::Mode::Global, models::Mode::TLC}) {
    iopt.mode = mode;
    models::prepare(model, iopt);
    double& sum = mode == models::Mode::Global ? g : t;
    for (const auto& p : val) sum += score_one(model, p, iopt, device).psnr / val.size();
  }
  local::apply_windows(model, windows);
  char buf[96];
  std::snprintf(buf, sizeof buf, "val psnr global %.2f tlc %.2f (%+.2f)", g, t, t - g);
  return buf;
}

}  // namespace tlc::cli
