// tlc eval: PSNR / SSIM / time / memory of global, TLC and tiled inference on full-size images.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/bitmap_font.hpp"
#include "cli/commands.hpp"
#include "cli/evaluate.hpp"
#include "cli/interrupt.hpp"
#include "cli/paths.hpp"

namespace tlc::cli {

namespace {

std::vector<models::Mode> parse_modes(const std::string& s) {
  std::vector<models::Mode> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    out.push_back(mode_value(item, "--modes"));
    if (std::count(out.begin(), out.end(), out.back()) > 1) throw UsageError("--modes names " + item + " twice");
  }
  if (out.empty()) throw UsageError("--modes expects a list such as global,tlc,tile");
  return out;
}

// [degraded | restored per mode | clean] side by side, each panel under its label and PSNR.
void write_side_by_side(const std::string& path, const EvalPair& p, const Score& degraded,
                        const std::vector<models::Mode>& modes, const std::vector<TensorF>& restored,
                        const std::vector<Score>& scores) {
  const index_t w = p.clean.size(3), scale = w >= 480 ? 3 : w >= 200 ? 2 : 1;
  auto panel = [&](const TensorF& img, const std::string& label) {
    return ops::concat(std::vector<TensorF>{text_strip(label, w, scale), img}, 2);
  };
  char psnr[32];
  std::snprintf(psnr, sizeof psnr, " %.2f dB", degraded.psnr);
  std::vector<TensorF> row{panel(p.degraded, std::string("degraded") + psnr)};
  for (size_t m = 0; m < modes.size(); ++m) {
    std::snprintf(psnr, sizeof psnr, " %.2f dB", scores[m].psnr);
    row.push_back(panel(restored[m], models::mode_name(modes[m]) + psnr));
  }
  row.push_back(panel(p.clean, "clean"));
  OutputWrite guard;
  data::write_image(path, ops::concat(row, 3));
}

}  // namespace

int cmd_eval(const Argv& argv) {
  Args a("eval", "Score a model on full-size images in several inference modes, as the paper measures (images\n"
                 "rounded to 8 bits, PSNR, SSIM over the three channels; docs/TLC.md). DIR is paired (input/ +\n"
                 "target/) or a folder of clean images degraded by --degrade (seeded per image name, so runs\n"
                 "repeat). The first column scores the degraded input itself. --json writes {\"degraded\":\n"
                 "{psnr, ssim}, \"modes\": {MODE: {psnr, ssim, seconds, peak_mb}}, \"images\": [{name,\n"
                 "degraded: {psnr, ssim}, MODE: {psnr, ssim}}]}.");
  a.option("model", "FILE", "model file").alias('m', "model");
  a.option("data", "DIR", "paired folder or folder of clean images");
  add_degrade_option(a);
  a.option("modes", "LIST", "inference modes to compare (eval has no --mode: it compares --modes)", "global,tlc,tile");
  a.option("json", "FILE", "write the results as JSON");
  a.option("save", "DIR", "write labelled [degraded | each mode | clean] side-by-side PNGs here");
  a.flag("skip-bad", "skip images that cannot be read (and say how many) instead of stopping");
  add_inference_options(a, false);
  add_runtime_options(a);
  add_precision_option(a);
  for (const std::string& arg : argv)
    if (arg == "--mode" || arg.rfind("--mode=", 0) == 0)
      throw UsageError("eval has no --mode: it scores every mode listed in --modes (e.g. --modes global)");
  if (!a.parse(argv, std::cout)) return 0;
  const std::string model_path = a.require("model"), dir = a.require("data");
  check_input_file(model_path, "--model");
  check_input(dir, "--data");
  const std::string degrade = degrade_arg(a, dir);
  const std::vector<models::Mode> modes = parse_modes(a.get("modes"));
  const InferenceArgs iargs =
      inference_args(a, std::find(modes.begin(), modes.end(), models::Mode::Tile) != modes.end(), "add tile to --modes");
  if (a.has("json")) check_output_file(a.get("json"), "--json", {"json"});
  if (a.has("save")) check_output_folder(a.get("save"), "--save");
  const Device device = apply_runtime_options(a);
  exit_on_interrupt();

  models::LoadedModel lm = models::load_model(model_path);
  const std::string spec = resolve_degrade(degrade, lm.info, dir);
  std::size_t skipped = 0;
  const std::vector<EvalPair> pairs = load_eval_pairs(dir, spec, a.is_set("skip-bad"), &skipped);
  if (skipped > 0) std::fprintf(stderr, "tlc eval: skipped %zu unreadable image(s)\n", skipped);
  if (!precision_note(device).empty()) std::fprintf(stderr, "tlc eval: matrix products in bf16\n");
  models::InferenceOptions opt = inference_options(iargs, lm.info);
  lm.model->to(device);

  // The degraded inputs' own scores: what each mode restores from.
  std::vector<Score> input(pairs.size());
  Score input_mean;
  for (size_t i = 0; i < pairs.size(); ++i) {
    input[i] = quality(pairs[i].degraded, pairs[i].clean);
    input_mean.psnr += input[i].psnr / pairs.size();
    input_mean.ssim += input[i].ssim / pairs.size();
  }
  // scores[image][mode]
  std::vector<std::vector<Score>> scores(pairs.size(), std::vector<Score>(modes.size()));
  std::vector<std::vector<TensorF>> outputs(pairs.size(), std::vector<TensorF>(modes.size()));
  const bool save = a.has("save");
  for (size_t m = 0; m < modes.size(); ++m) {
    opt.mode = modes[m];
    models::prepare(*lm.model, opt);
    Progress bar("eval " + models::mode_name(modes[m]), static_cast<long long>(pairs.size()), "img");
    for (size_t i = 0; i < pairs.size(); ++i) {
      scores[i][m] = score_one(*lm.model, pairs[i], opt, device, save ? &outputs[i][m] : nullptr);
      bar.update(static_cast<long long>(i + 1), pairs[i].name);
    }
  }

  std::vector<Score> mean(modes.size());
  for (size_t m = 0; m < modes.size(); ++m) {
    for (auto& row : scores) {
      mean[m].psnr += row[m].psnr / pairs.size();
      mean[m].ssim += row[m].ssim / pairs.size();
      mean[m].seconds += row[m].seconds / pairs.size();
      mean[m].peak_mb = std::max(mean[m].peak_mb, row[m].peak_mb);
    }
  }
  std::printf("%-28s  %18s", "image (PSNR dB / SSIM)", "degraded");
  for (auto m : modes) std::printf("  %18s", models::mode_name(m).c_str());
  std::printf("\n");
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::printf("%-28s  %9.3f / %6.4f", pairs[i].name.c_str(), input[i].psnr, input[i].ssim);
    for (size_t m = 0; m < modes.size(); ++m) std::printf("  %9.3f / %6.4f", scores[i][m].psnr, scores[i][m].ssim);
    std::printf("\n");
  }
  std::printf("%-28s  %9.3f / %6.4f", "mean", input_mean.psnr, input_mean.ssim);
  for (size_t m = 0; m < modes.size(); ++m) std::printf("  %9.3f / %6.4f", mean[m].psnr, mean[m].ssim);
  std::printf("\n%-28s  %18s", "seconds per image", "");
  for (size_t m = 0; m < modes.size(); ++m) std::printf("  %18.3f", mean[m].seconds);
  std::printf("\n%-28s  %18s", "peak memory (MiB)", "");
  for (size_t m = 0; m < modes.size(); ++m) std::printf("  %18.1f", mean[m].peak_mb);
  std::printf("\n");
  for (size_t m = 0; m < modes.size(); ++m)
    if (modes[m] != models::Mode::Global)
      for (size_t g = 0; g < modes.size(); ++g)
        if (modes[g] == models::Mode::Global)
          std::printf("%s vs global: %+.3f dB PSNR, %+.4f SSIM\n", models::mode_name(modes[m]).c_str(),
                      mean[m].psnr - mean[g].psnr, mean[m].ssim - mean[g].ssim);

  if (a.has("json")) {
    using io::json::Value;
    Value root = Value::object(), jm = Value::object(), images = Value::array();
    auto score_value = [](const Score& s) {
      Value v = Value::object();
      v.set("psnr", Value(s.psnr));
      v.set("ssim", Value(s.ssim));
      return v;
    };
    for (size_t m = 0; m < modes.size(); ++m) {
      Value e = score_value(mean[m]);
      e.set("seconds", Value(mean[m].seconds));
      e.set("peak_mb", Value(mean[m].peak_mb));
      jm.set(models::mode_name(modes[m]), e);
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      Value e = Value::object();
      e.set("name", Value(pairs[i].name));
      e.set("degraded", score_value(input[i]));
      for (size_t m = 0; m < modes.size(); ++m) e.set(models::mode_name(modes[m]), score_value(scores[i][m]));
      images.push_back(e);
    }
    root.set("model", Value(a.get("model")));
    root.set("degradation", Value(spec));
    root.set("degraded", score_value(input_mean));
    root.set("modes", jm);
    root.set("images", images);
    OutputWrite guard;
    io::write_file_atomic(a.get("json"), root.dump() + "\n");
  }
  if (save) {
    std::filesystem::create_directories(a.get("save"));
    for (size_t i = 0; i < pairs.size(); ++i) {
      const std::string stem = std::filesystem::path(pairs[i].name).stem().string();
      write_side_by_side((std::filesystem::path(a.get("save")) / (stem + ".png")).string(), pairs[i], input[i], modes,
                         outputs[i], scores[i]);
    }
    std::fprintf(stderr, "labelled side-by-side images ([degraded | %s | clean]) in %s\n", a.get("modes").c_str(),
                 a.get("save").c_str());
  }
  return 0;
}

}  // namespace tlc::cli
