// tlc restore: full-image inference (global, TLC or tiled) on files or folders.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "models/inference.hpp"
#include "tlc/data/image.hpp"

namespace tlc::cli {

namespace fs = std::filesystem;

int cmd_restore(const Argv& argv) {
  Args a("restore", "Restore images with a tlc model. IN and OUT are files or folders; outputs are written to a\n"
                    "temporary name and renamed, never left half-written. Gray and RGBA inputs keep their\n"
                    "layout (alpha passed through); 16-bit PNG in gives 16-bit PNG out.");
  a.option("model", "FILE", "model file (.safetensors written by tlc train or tlc convert)")
      .option("input", "IN", "an image file or a folder of images")
      .option("output", "OUT", "output file, or folder (created) when IN is a folder")
      .alias('m', "model")
      .alias('i', "input")
      .alias('o', "output");
  add_inference_options(a);
  add_runtime_options(a);
  if (!a.parse(argv, std::cout)) return 0;
  const std::string in = a.require("input"), out = a.require("output");
  const Device device = apply_runtime_options(a);

  models::LoadedModel lm = models::load_model(a.require("model"));
  const models::InferenceOptions opt = inference_options(a, lm.info);
  lm.model->to(device);
  models::prepare(*lm.model, opt);

  const std::vector<std::string> files = list_images(in);
  const bool to_folder = fs::is_directory(in) || (fs::exists(out) && fs::is_directory(out));
  if (to_folder) fs::create_directories(out);
  for (size_t i = 0; i < files.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    data::Image im = data::read_image(files[i]);
    TensorF y = models::restore(*lm.model, im.rgb.to(device), opt).cpu();
    im.rgb = y;
    const std::string dst = to_folder ? (fs::path(out) / fs::path(files[i]).filename()).string() : out;
    data::write_image(dst, im);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "[%zu/%zu] %s -> %s  %lldx%lld  %s  %.2fs\n", i + 1, files.size(), files[i].c_str(), dst.c_str(),
                 static_cast<long long>(im.height()), static_cast<long long>(im.width()),
                 models::mode_name(opt.mode).c_str(), s);
  }
  return 0;
}

}  // namespace tlc::cli
