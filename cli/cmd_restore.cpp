// tlc restore: full-image inference (global, TLC or tiled) on files or folders.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/interrupt.hpp"
#include "cli/memory.hpp"
#include "cli/paths.hpp"
#include "tlc/models/inference.hpp"
#include "tlc/models/memory.hpp"
#include "tlc/data/image.hpp"

namespace tlc::cli {

namespace fs = std::filesystem;

namespace {

// Where each input goes: OUT itself, or OUT/NAME in a folder (.bmp/.tga inputs become .png, the
// formats we write). Two inputs must not land on the same output.
std::vector<std::string> output_paths(const std::vector<std::string>& inputs, const std::string& out, bool to_folder) {
  if (!to_folder) return {out};
  std::vector<std::string> dst;
  std::set<std::string> seen;
  for (const std::string& in : inputs) {
    fs::path name = fs::path(in).filename();
    const std::string ext = data::detail::lower_extension(name.string());
    if (ext != "png" && ext != "jpg" && ext != "jpeg") name.replace_extension(".png");
    dst.push_back((fs::path(out) / name).string());
    if (!seen.insert(dst.back()).second)
      throw UsageError("--output '" + out + "': two inputs would both be written to '" + dst.back() + "'");
  }
  return dst;
}

// TLC or global on the whole image when the estimate fits under the limit; otherwise the largest
// square tiles that fit, with the model as prepared (TLC inside each tile). Exact TLC in bands
// (windows computed across band edges) is not implemented; docs/MEMORY.md says why.
struct Plan {
  index_t tile = 0;  // 0: the whole image at once
  double estimate = 0;
};
// The probes count live tensors; the process holds more: the allocator caches freed blocks of other
// sizes, and the GEMM keeps per-thread scratch. Calibrated against peak RSS (docs/MEMORY.md):
// 1.15x the tensors plus 192 MiB stayed above every measured peak.
constexpr double kTensorShare = 1.15, kOverheadBytes = 192.0 * 1024 * 1024;

Plan plan_memory(const models::MemoryEstimate& e, models::Mode mode, const data::Image& im, double limit, double resident) {
  const index_t h = im.height(), w = im.width();
  auto peak = [&](index_t th, index_t tw, double full_size) {
    return resident + kOverheadBytes + kTensorShare * (e.at(th, tw) + full_size);
  };
  Plan p{0, peak(h, w, 0)};
  if (mode == models::Mode::Tile || p.estimate <= limit) return p;
  // Tiled: one tile's forward plus the full-size input, accumulator and weight plane (7 floats a pixel).
  const double full_size = 28.0 * static_cast<double>(h * w);
  for (index_t side = std::max(h, w) / 64 * 64; side >= 128; side -= 64)
    if (peak(std::min(side, h), std::min(side, w), full_size) <= limit) return {side, p.estimate};
  throw Error("restore: " + std::to_string(w) + "x" + std::to_string(h) + " needs about " + gib_text(p.estimate) +
              " and does not fit under --max-memory " + gib_text(limit) + " even in 128-pixel tiles");
}

}  // namespace

int cmd_restore(const Argv& argv) {
  Args a("restore", "Restore images with a tlc model. IN and OUT are files or folders; outputs are written to a\n"
                    "temporary name and renamed, never left half-written. Gray and RGBA inputs keep their\n"
                    "layout (alpha passed through); 16-bit PNG in gives 16-bit PNG out. Peak memory is estimated\n"
                    "first; above --max-memory the image is restored in overlapping tiles, with a message.");
  a.option("model", "FILE", "model file (.safetensors written by tlc train or tlc convert)")
      .option("input", "IN", "an image file or a folder of images")
      .option("output", "OUT", "output file (.png, .jpg, .jpeg), or folder (created) when IN is a folder")
      .alias('m', "model")
      .alias('i', "input")
      .alias('o', "output");
  add_inference_options(a, true);
  a.option("max-memory", "BYTES", "plan for at most this much memory, e.g. 4G (default: half the physical RAM)");
  a.flag("skip-bad", "folder input: skip files that cannot be read (and say how many) instead of stopping");
  add_runtime_options(a);
  add_precision_option(a);
  if (!a.parse(argv, std::cout)) return 0;

  // Everything the command line says is checked before the model or an image is read.
  const std::string model_path = a.require("model"), in = a.require("input"), out = a.require("output");
  check_input_file(model_path, "--model");
  check_input(in, "--input");
  const bool to_folder = fs::is_directory(in) || fs::is_directory(out);
  if (fs::is_directory(in) && fs::exists(out) && !fs::is_directory(out))
    throw UsageError("--output '" + out + "': the input is a folder, so the output must be a folder; found a file");
  if (to_folder) check_output_folder(out, "--output");
  else check_output_image(out, "--output");
  const InferenceArgs iargs = inference_args(a, a.get("mode") == "tile", "use --mode tile");
  const double limit = a.has("max-memory") ? parse_bytes(a.get("max-memory"), "--max-memory")
                                           : kDefaultMemoryShare * physical_memory_bytes();
  const Device device = apply_runtime_options(a);
  const std::vector<std::string> files = list_images(in);
  const std::vector<std::string> dsts = output_paths(files, out, to_folder);
  exit_on_interrupt();

  models::LoadedModel lm = models::load_model(model_path);
  const models::InferenceOptions opt = inference_options(iargs, lm.info);
  lm.model->to(device);
  models::prepare(*lm.model, opt);
  // The CPU allocator's probes measure host memory only; a CUDA run is not planned.
  const bool planned = device.is_cpu();
  // First a bound from one probe; the two-probe estimate only once an image does not fit under it.
  models::MemoryEstimate estimate = planned ? models::memory_bound(*lm.model, opt) : models::MemoryEstimate{};
  bool estimate_exact = opt.mode == models::Mode::Tile;

  size_t skipped = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    data::Image im;
    try {
      im = data::read_image(files[i]);
    } catch (const IoError& e) {
      if (!a.is_set("skip-bad")) throw;
      std::fprintf(stderr, "tlc restore: warning: skipping an unreadable image: %s\n", e.what());
      ++skipped;
      continue;
    }
    Plan plan;
    if (planned) plan = plan_memory(estimate, opt.mode, im, limit, proc_status_bytes("VmRSS"));
    if (planned && plan.tile > 0 && !estimate_exact) {
      estimate = models::estimate_memory(*lm.model, opt);
      estimate_exact = true;
      plan = plan_memory(estimate, opt.mode, im, limit, proc_status_bytes("VmRSS"));
    }
    if (plan.tile > 0)
      std::fprintf(stderr,
                   "tlc restore: %s: estimated peak %s is above --max-memory %s; restoring in overlapping %lldx%lld "
                   "tiles (%s inside each tile; near tile edges its statistics see only the tile, so the result "
                   "differs slightly from whole-image %s)\n",
                   files[i].c_str(), gib_text(plan.estimate).c_str(), gib_text(limit).c_str(),
                   static_cast<long long>(plan.tile), static_cast<long long>(plan.tile),
                   models::mode_name(opt.mode).c_str(), models::mode_name(opt.mode).c_str());
    const TensorF x = im.rgb.to(device);
    im.rgb = (plan.tile > 0 ? models::restore_tiled(*lm.model, x, plan.tile, plan.tile, plan.tile / 4)
                            : models::restore(*lm.model, x, opt))
                 .cpu();
    {
      OutputWrite guard;
      if (to_folder) fs::create_directories(out);  // only once there is something to put in it
      data::write_image(dsts[i], im);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[%zu/%zu] %s -> %s  %s  %s  %.2fs", i + 1, files.size(), files[i].c_str(), dsts[i].c_str(),
                 models::size_text(im.height(), im.width()).c_str(),
                 (models::mode_name(opt.mode) + precision_note(device)).c_str(), s);
    if (planned)
      std::fprintf(stderr, estimate_exact ? "  estimated peak %s" : "  peak at most %s", gib_text(plan.estimate).c_str());
    std::fputc('\n', stderr);
  }
  if (skipped > 0) std::fprintf(stderr, "tlc restore: skipped %zu of %zu images (unreadable)\n", skipped, files.size());
  return 0;
}

}  // namespace tlc::cli
