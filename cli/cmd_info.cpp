// tlc info: what a model file holds.
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "models/macs.hpp"

namespace tlc::cli {

int cmd_info(const Argv& argv) {
  Args a("info", "Architecture, configuration, parameter count, MACs, training size and the per-layer TLC\n"
                 "windows of a model file.");
  a.positional("MODEL", "model file (.safetensors)")
      .option("size", "HxW", "input size for the MAC count", "256x256")
      .option("scale", "S", "TLC window scale for the listing", "1.5")
      .flag("json", "print JSON instead of text");
  if (!a.parse(argv, std::cout)) return 0;
  models::LoadedModel lm = models::load_model(a.positional_or_throw(0));
  const auto [h, w] = models::parse_size(a.get("size"), "--size");
  const double macs = models::count_macs(*lm.model, h, w);  // loaded global
  models::InferenceOptions opt = models::inference_options(lm.info);
  opt.scale = scale_option(a);
  const auto windows = models::prepare(*lm.model, opt);
  const double macs_tlc = models::count_macs(*lm.model, h, w);
  if (a.is_set("json")) {
    io::json::Value o = io::json::Value::object();
    o.set("file", io::json::Value(a.positional_or_throw(0)));
    io::json::Value cfg = io::json::Value::object();
    for (auto& [k, v] : lm.info.config.values()) cfg.set(k, io::json::Value(v));
    o.set("config", cfg);
    o.set("parameters", io::json::Value(static_cast<std::int64_t>(lm.model->parameter_count())));
    o.set("macs", io::json::Value(macs));
    o.set("macs_tlc", io::json::Value(macs_tlc));
    o.set("macs_size", io::json::Value(models::size_text(h, w)));
    o.set("train_size", io::json::Value(models::size_text(lm.info.train_h, lm.info.train_w)));
    o.set("degradation", io::json::Value(lm.info.degradation));
    o.set("eval_degradation", io::json::Value(lm.info.eval_degradation));
    o.set("windows", models::windows_json(windows));
    std::cout << o.dump() << "\n";
    return 0;
  }
  std::printf("model        %s\n", a.positional_or_throw(0).c_str());
  std::printf("architecture %s\n", lm.info.config.str("arch", "?").c_str());
  for (auto& [k, v] : lm.info.config.values())
    if (k != "arch") std::printf("  %-18s %s\n", k.c_str(), v.c_str());
  std::printf("parameters   %lld\n", static_cast<long long>(lm.model->parameter_count()));
  std::printf("MACs         %.3f G at %lldx%lld; with TLC %.3f G (%+.1f %%)\n", macs / 1e9, static_cast<long long>(h),
              static_cast<long long>(w), macs_tlc / 1e9, 100.0 * (macs_tlc / macs - 1.0));
  std::printf("train size   %lldx%lld\n", static_cast<long long>(lm.info.train_h), static_cast<long long>(lm.info.train_w));
  if (!lm.info.degradation.empty()) std::printf("degradation  %s (training)\n", lm.info.degradation.c_str());
  if (!lm.info.eval_degradation.empty()) std::printf("             %s (evaluation)\n", lm.info.eval_degradation.c_str());
  std::printf("TLC windows (scale %s; map = size at the training size):\n", a.get("scale").c_str());
  std::fputs(local::format_windows(windows).c_str(), stdout);
  return 0;
}

}  // namespace tlc::cli
