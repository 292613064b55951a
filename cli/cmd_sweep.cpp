// tlc sweep: PSNR against the TLC window scale — the paper's Fig. 3b — as CSV and SVG.
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/evaluate.hpp"
#include "cli/interrupt.hpp"
#include "cli/paths.hpp"
#include "cli/svg_plot.hpp"

namespace tlc::cli {

int cmd_sweep(const Argv& argv) {
  Args a("sweep", "Mean PSNR/SSIM of TLC inference for each window scale (window = scale x the training-time map\n"
                  "size), with global inference as the reference line: the paper's Fig. 3b. The CSV has the\n"
                  "columns mode,scale,psnr,ssim (scale empty for the global row).");
  a.option("model", "FILE", "model file").alias('m', "model");
  a.option("data", "DIR", "paired folder or folder of clean images");
  add_degrade_option(a);
  a.option("scales", "LIST", "window scales", "1,1.25,1.5,2,3,4");
  a.option("train-size", "N|WxH", "override the model's training size");
  a.option("csv", "FILE", "write mode,scale,psnr,ssim rows");
  a.option("svg", "FILE", "write a plot");
  add_runtime_options(a);
  add_precision_option(a);
  if (!a.parse(argv, std::cout)) return 0;
  const std::string model_path = a.require("model"), dir = a.require("data");
  check_input_file(model_path, "--model");
  check_input(dir, "--data");
  const std::string degrade = degrade_arg(a, dir);
  std::vector<double> scales;
  {
    std::stringstream ss(a.get("scales"));
    std::string item;
    while (std::getline(ss, item, ',')) {
      double v = 0;
      try {
        v = std::stod(item);
      } catch (const std::exception&) {
      }
      if (!(v > 0)) throw UsageError("--scales expects positive numbers, found '" + item + "'");
      scales.push_back(v);
    }
  }
  if (scales.empty()) throw UsageError("--scales expects a list such as 1,1.5,2");
  std::optional<models::ImageSize> train_size;
  if (a.has("train-size")) train_size = size_option(a, "train-size");
  if (a.has("csv")) check_output_file(a.get("csv"), "--csv", {"csv"});
  if (a.has("svg")) check_output_file(a.get("svg"), "--svg", {"svg"});
  const Device device = apply_runtime_options(a);
  exit_on_interrupt();

  models::LoadedModel lm = models::load_model(model_path);
  const auto pairs = load_eval_pairs(dir, resolve_degrade(degrade, lm.info, dir));
  models::InferenceOptions opt = models::inference_options(lm.info);
  if (train_size) opt.train_h = train_size->h, opt.train_w = train_size->w;
  lm.model->to(device);

  auto mean_score = [&](const std::string& label) {
    Score m;
    Progress bar(label, static_cast<long long>(pairs.size()), "img");
    for (size_t i = 0; i < pairs.size(); ++i) {
      Score s = score_one(*lm.model, pairs[i], opt, device);
      m.psnr += s.psnr / pairs.size();
      m.ssim += s.ssim / pairs.size();
      bar.update(static_cast<long long>(i + 1));
    }
    return m;
  };
  opt.mode = models::Mode::Global;
  models::prepare(*lm.model, opt);
  const Score global = mean_score("global");
  std::printf("%-8s %10s %8s\n", "scale", "PSNR", "SSIM");
  std::printf("%-8s %10.3f %8.4f\n", "global", global.psnr, global.ssim);
  std::string csv = "mode,scale,psnr,ssim\nglobal,," + std::to_string(global.psnr) + "," + std::to_string(global.ssim) + "\n";
  Series tlc_series{"TLC", {}, {}}, global_series{"global", {}, {}};
  for (double s : scales) {
    opt.mode = models::Mode::TLC;
    opt.scale = s;
    models::prepare(*lm.model, opt);
    const Score r = mean_score("scale " + number_text(s));
    std::printf("%-8g %10.3f %8.4f\n", s, r.psnr, r.ssim);
    csv += "tlc," + number_text(s) + "," + std::to_string(r.psnr) + "," + std::to_string(r.ssim) + "\n";
    tlc_series.x.push_back(s);
    tlc_series.y.push_back(r.psnr);
    global_series.x.push_back(s);
    global_series.y.push_back(global.psnr);
  }
  OutputWrite guard;
  if (a.has("csv")) io::write_file_atomic(a.get("csv"), csv);
  if (a.has("svg"))
    io::write_file_atomic(a.get("svg"), svg_line_plot({tlc_series, global_series}, "PSNR vs TLC window scale",
                                                      "window scale (x training-time map size)", "PSNR (dB)"));
  return 0;
}

}  // namespace tlc::cli
