#pragma once
// Options shared by several commands (device, threads, inference mode, sizes) and the image
// listing of restore. Every value is checked here, before a model or an image is loaded; a bad
// one is a UsageError (exit status 2).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.hpp"
#include "tlc/core/cpu_isa.hpp"
#include "tlc/core/matmul_precision.hpp"
#include "tlc/models/defaults.hpp"
#include "tlc/models/inference.hpp"
#include "tlc/models/model_file.hpp"
#include "tlc/models/size.hpp"
#include "tlc/core/cuda_runtime.hpp"
#include "tlc/core/thread_pool.hpp"
#include "tlc/data/dataset.hpp"

namespace tlc::cli {

inline void add_runtime_options(Args& a) {
  a.option("device", "cpu|cuda[:N]", "where to run (cuda: see docs/CUDA.md; not yet run on a GPU)", "cpu");
  a.option("threads", "N", "CPU threads, 1 to 4x the hardware threads (default: TLC_NUM_THREADS or all cores)");
}

// --precision, for the commands that only infer (training multiplies in fp32).
inline void add_precision_option(Args& a) {
  a.option("precision", "fp32|bf16",
           "CPU matrix products: bf16 rounds their operands to 8 significant bits, for speed on CPUs with "
           "AVX512-BF16 (PSNR cost: docs/BENCHMARKS.md) (default: TLC_MATMUL or fp32)");
}

// More threads than this only adds switching (1000 threads ran 30x slower than 2 on 2 cores).
inline int max_threads() { return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// " (bf16)" when the CPU's products are bf16 on this device, for the progress lines.
inline std::string precision_note(const Device& d) {
  return d.is_cpu() && matmul_precision() == MatmulPrecision::Bf16 ? " (bf16)" : "";
}

// For commands that train: bf16 products (TLC_MATMUL) are refused, as is a bad TLC_MATMUL.
inline void require_fp32_products(const std::string& command) {
  try {
    if (matmul_precision() == MatmulPrecision::Fp32) return;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  throw UsageError("TLC_MATMUL=bf16 is for inference (restore, eval, sweep); " + command +
                   " multiplies in fp32: unset it");
}

// Checks --threads, --device, --precision and the TLC_ISA and TLC_MATMUL environment variables;
// applies --threads and --precision and returns the device.
inline Device apply_runtime_options(const Args& a) {
  try {
    cpu_isa();  // a bad TLC_ISA or TLC_MATMUL fails here, before any work
    matmul_precision();
    if (a.has("precision")) set_matmul_precision(parse_matmul_precision(a.get("precision"), "--precision"));
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (matmul_precision() == MatmulPrecision::Bf16 && cpu_isa() != CpuIsa::Avx512)
    throw UsageError(std::string("bf16 products run in the avx512 kernels; TLC_ISA=") + isa_name(cpu_isa()) +
                     " excludes them");
  if (a.has("threads")) {
    const long long n = a.integer("threads");
    if (n < 1 || n > max_threads())
      throw UsageError("--threads expects 1 to " + std::to_string(max_threads()) + " (4x the " +
                       std::to_string(std::thread::hardware_concurrency()) + " hardware threads), found " +
                       std::to_string(n));
    set_num_threads(static_cast<int>(n));
  }
  Device d;
  try {
    d = Device::parse(a.get("device"));
  } catch (const Error& e) {
    throw UsageError(std::string("--device: ") + e.what());
  }
  if (d.is_cuda()) {
    if (matmul_precision() != MatmulPrecision::Fp32)
      throw UsageError("bf16 products (--precision or TLC_MATMUL) are for the CPU; the CUDA backend multiplies in "
                       "fp32");
    TLC_CHECK(built_with_cuda(), DeviceError, "--device ", d.str(), ": this tlc was built without the CUDA backend");
    TLC_CHECK(d.index < cuda_device_count(), DeviceError, "--device ", d.str(), ": expected a CUDA device, found ",
              cuda_device_count());
  }
  return d;
}

// A size option ("N" or "WxH"); a bad one is a UsageError.
inline models::ImageSize size_option(const Args& a, const std::string& name) {
  try {
    return models::parse_size(a.get(name), "--" + name);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

inline models::Mode mode_value(const std::string& text, const std::string& option) {
  try {
    return models::parse_mode(text);
  } catch (const Error&) {
    throw UsageError(option + " expects global, tlc or tile, found '" + text + "'");
  }
}

// A number as people write it: 1.5, 256, 0.001.
inline std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// --scale, checked positive.
inline double scale_option(const Args& a) {
  const double scale = a.number("scale");
  if (!(scale > 0)) throw UsageError("--scale expects a positive number, found " + a.get("scale"));
  return scale;
}

// Tiles below this hold too little context for any of our models (each downsamples by up to 16).
constexpr index_t kMinTile = 32;

// The inference flags: --mode (restore; eval has --modes), --scale, --train-size, --tile, --overlap.
inline void add_inference_options(Args& a, bool with_mode) {
  if (with_mode) a.option("mode", "global|tlc|tile", "inference mode", "tlc");
  a.option("scale", "S", "TLC window = S x the training-time map size", number_text(models::kDefaultScale));
  a.option("train-size", "N|WxH", "override the training patch size the TLC windows are calibrated at");
  a.option("tile", "N", "tile side in tile mode, at least " + std::to_string(kMinTile) + " (default: the training size)");
  a.option("overlap", "N", "tile overlap in pixels, below the tile side (default: 32, at most a quarter of the tile)");
}

// The inference settings the command line asks for, checked without the model. `tiled`: whether
// any requested mode is tile (--tile and --overlap mean nothing otherwise and are refused; `hint`
// says how to ask for tile mode).
struct InferenceArgs {
  models::Mode mode = models::Mode::TLC;
  double scale = models::kDefaultScale;
  std::optional<models::ImageSize> train_size;
  std::optional<index_t> tile, overlap;
};

inline InferenceArgs inference_args(const Args& a, bool tiled, const std::string& hint) {
  InferenceArgs r;
  if (a.has("mode")) r.mode = mode_value(a.get("mode"), "--mode");
  r.scale = scale_option(a);
  if (a.has("train-size")) r.train_size = size_option(a, "train-size");
  for (const char* name : {"tile", "overlap"})
    if (a.has(name) && !tiled)
      throw UsageError(std::string("--") + name + " applies only to tile mode (" + hint + ")");
  if (a.has("tile")) {
    r.tile = a.integer("tile");
    if (*r.tile < kMinTile)
      throw UsageError("--tile expects at least " + std::to_string(kMinTile) + " pixels, found " + a.get("tile"));
  }
  if (a.has("overlap")) {
    r.overlap = a.integer("overlap");
    if (*r.overlap < 0) throw UsageError("--overlap expects 0 or more pixels, found " + a.get("overlap"));
  }
  if (r.tile && r.overlap && *r.overlap >= *r.tile)
    throw UsageError("--overlap " + std::to_string(*r.overlap) + " must be smaller than --tile " + std::to_string(*r.tile));
  return r;
}

// The options for a loaded model: its training size and recorded windows, overridden by the
// command line; the default tile is the training size, and an --overlap must fit inside it.
inline models::InferenceOptions inference_options(const InferenceArgs& r, const models::ModelInfo& info) {
  models::InferenceOptions o = models::inference_options(info);
  o.mode = r.mode;
  o.scale = r.scale;
  if (r.train_size) o.train_h = r.train_size->h, o.train_w = r.train_size->w;
  const index_t tile = r.tile ? *r.tile : std::min(o.train_h, o.train_w);
  o.tile = r.tile ? *r.tile : 0;
  o.overlap = r.overlap ? *r.overlap : std::min<index_t>(32, tile / 4);
  if (o.overlap >= tile)
    throw UsageError("--overlap " + std::to_string(o.overlap) + " must be smaller than the tile (" + std::to_string(tile) +
                     " px, the training size)");
  return o;
}

// The image files of a folder (the data folders' rules: sorted, no dotfiles), or the file itself.
inline std::vector<std::string> list_images(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> out;
  for (const std::string& name : data::detail::list_images(path, "restore")) out.push_back((fs::path(path) / name).string());
  TLC_CHECK(!out.empty(), IoError, "'", path, "': expected image files (png, jpg, bmp, tga), found none");
  return out;
}

}  // namespace tlc::cli
