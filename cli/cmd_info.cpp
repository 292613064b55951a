// tlc info: what a model file holds.
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/paths.hpp"
#include "tlc/models/macs.hpp"

namespace tlc::cli {

namespace {

// What the MAC counts include: TLC changes only how statistics are aggregated, and those sums
// (integral images, sliding maxima: a few additions per element) are not multiply-accumulates.
const char* kMacsCounted =
    "convolutions and matrix products; TLC's local statistics (a few additions per element) are not counted";

// A config value as JSON: integers, numbers, booleans and integer lists typed, the rest as text.
io::json::Value typed(const std::string& text) {
  try {
    return io::json::parse(text);  // 16, 1.5, true
  } catch (const Error&) {
  }
  try {
    return io::json::parse("[" + text + "]");  // 1,1,1,28
  } catch (const Error&) {
  }
  return io::json::Value(text);
}

io::json::Value size_json(index_t h, index_t w) {
  io::json::Value o = io::json::Value::object();
  o.set("width", io::json::Value(w));
  o.set("height", io::json::Value(h));
  return o;
}

std::string window_listing(const std::vector<local::LayerWindow>& windows) {
  std::string s;
  for (const auto& l : windows)
    s += "  " + l.name + "  " + l.kind + "  map " + models::size_text(l.map_h, l.map_w) + "  window " +
         (l.window.is_global() ? std::string("global") : models::size_text(l.window.kh, l.window.kw)) + "\n";
  return s;
}

}  // namespace

int cmd_info(const Argv& argv) {
  Args a("info", "Architecture, configuration, parameter count, MACs, training size and the per-layer TLC\n"
                 "windows of a model file. Sizes are width x height.");
  const std::string side = std::to_string(models::kDefaultTrainSize);
  a.positional("MODEL", "model file (.safetensors)")
      .option("size", "WxH", "input size for the MAC count", side + "x" + side)
      .option("scale", "S", "TLC window scale for the listing", number_text(models::kDefaultScale))
      .flag("json", "print JSON instead of text");
  if (!a.parse(argv, std::cout)) return 0;
  const std::string path = a.positional_or_throw(0);
  check_input_file(path, "MODEL");
  const models::ImageSize size = size_option(a, "size");
  const index_t h = size.h, w = size.w;
  models::InferenceOptions opt;
  opt.scale = scale_option(a);

  models::LoadedModel lm = models::load_model(path);
  const double macs = models::count_macs(*lm.model, h, w);  // loaded global
  const double scale = opt.scale;
  opt = models::inference_options(lm.info);
  opt.scale = scale;
  const auto windows = models::prepare(*lm.model, opt);
  const double macs_tlc = models::count_macs(*lm.model, h, w);
  if (a.is_set("json")) {
    io::json::Value o = io::json::Value::object();
    o.set("file", io::json::Value(path));
    io::json::Value cfg = io::json::Value::object();
    for (auto& [k, v] : lm.info.config.values()) cfg.set(k, k == "arch" ? io::json::Value(v) : typed(v));
    o.set("config", cfg);
    o.set("parameters", io::json::Value(static_cast<std::int64_t>(lm.model->parameter_count())));
    o.set("macs", io::json::Value(macs));
    o.set("macs_tlc", io::json::Value(macs_tlc));
    o.set("macs_size", size_json(h, w));
    o.set("macs_counted", io::json::Value(kMacsCounted));
    o.set("train_size", size_json(lm.info.train_h, lm.info.train_w));
    o.set("degradation", io::json::Value(lm.info.degradation));
    o.set("eval_degradation", io::json::Value(lm.info.eval_degradation));
    o.set("scale", io::json::Value(scale));
    o.set("windows", models::windows_json(windows));
    std::cout << o.dump() << "\n";
    return 0;
  }
  std::printf("model        %s\n", path.c_str());
  std::printf("architecture %s\n", lm.info.config.str("arch", "?").c_str());
  for (auto& [k, v] : lm.info.config.values())
    if (k != "arch") std::printf("  %-18s %s\n", k.c_str(), v.c_str());
  std::printf("parameters   %lld\n", static_cast<long long>(lm.model->parameter_count()));
  std::printf("MACs         %.3f G at %s; with TLC %.3f G (%+.1f %%)\n", macs / 1e9, models::size_text(h, w).c_str(),
              macs_tlc / 1e9, 100.0 * (macs_tlc / macs - 1.0));
  std::printf("             counted: %s\n", kMacsCounted);
  std::printf("train size   %s\n", models::size_text(lm.info.train_h, lm.info.train_w).c_str());
  if (!lm.info.degradation.empty()) std::printf("degradation  %s (training)\n", lm.info.degradation.c_str());
  if (!lm.info.eval_degradation.empty()) std::printf("             %s (evaluation)\n", lm.info.eval_degradation.c_str());
  std::printf("TLC windows (scale %g; map = the layer's map at the training size; width x height):\n", scale);
  std::fputs(window_listing(windows).c_str(), stdout);
  return 0;
}

}  // namespace tlc::cli
