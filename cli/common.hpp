#pragma once
// Pieces shared by several commands: device and thread options, model loading, image listing.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "models/inference.hpp"
#include "models/model_file.hpp"
#include "tlc/core/cuda_runtime.hpp"
#include "tlc/core/thread_pool.hpp"

namespace tlc::cli {

inline void add_runtime_options(Args& a) {
  a.option("device", "cpu|cuda[:N]", "where to run", "cpu");
  a.option("threads", "N", "CPU threads (default: TLC_NUM_THREADS or all cores)");
}

// Applies --threads and returns the --device (checked to exist).
inline Device apply_runtime_options(const Args& a) {
  if (a.has("threads")) {
    int n = 0;
    try {
      n = std::stoi(a.get("threads"));
    } catch (const std::exception&) {
    }
    if (n < 1) throw UsageError("--threads expects a positive integer, found '" + a.get("threads") + "'");
    set_num_threads(n);
  }
  const Device d = Device::parse(a.get("device"));
  if (d.is_cuda()) {
    TLC_CHECK(built_with_cuda(), DeviceError, "--device ", d.str(), ": this tlc was built without the CUDA backend");
    TLC_CHECK(d.index < cuda_device_count(), DeviceError, "--device ", d.str(), ": expected a CUDA device, found ",
              cuda_device_count());
  }
  return d;
}

inline bool is_image_file(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".bmp" || e == ".tga";
}

// The image files of a folder, sorted by name (or the file itself).
inline std::vector<std::string> list_images(const std::string& path) {
  namespace fs = std::filesystem;
  TLC_CHECK(fs::exists(path), IoError, "'", path, "': no such file or folder");
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path))
    if (e.is_regular_file() && is_image_file(e.path())) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  TLC_CHECK(!out.empty(), IoError, "'", path, "': expected image files (png, jpg, bmp, tga), found none");
  return out;
}

// The inference flags shared by restore and eval (--mode, --scale, --train-size, --tile, --overlap).
inline void add_inference_options(Args& a) {
  a.option("mode", "global|tlc|tile", "inference mode", "tlc");
  a.option("scale", "S", "TLC window = S x the training-time map size", "1.5");
  a.option("train-size", "N|HxW", "override the training patch size the TLC windows are calibrated at");
  a.option("tile", "N", "tile side for --mode tile (default: the training size)");
  a.option("overlap", "N", "tile overlap in pixels", "32");
}

// --scale, checked positive.
inline double scale_option(const Args& a) {
  const double scale = std::stod(a.get("scale"));
  if (!(scale > 0)) throw UsageError("--scale expects a positive number, found " + a.get("scale"));
  return scale;
}

inline models::InferenceOptions inference_options(const Args& a, const models::ModelInfo& info) {
  models::InferenceOptions o = models::inference_options(info);
  o.mode = models::parse_mode(a.get("mode"));
  o.scale = scale_option(a);
  if (a.has("train-size")) std::tie(o.train_h, o.train_w) = models::parse_size(a.get("train-size"), "--train-size");
  if (a.has("tile")) o.tile = models::parse_size(a.get("tile"), "--tile").first;
  o.overlap = std::stoll(a.get("overlap"));
  return o;
}

}  // namespace tlc::cli
