// tlc convert: official PyTorch checkpoint (.pth) → tlc model file (.safetensors).
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/paths.hpp"
#include "tlc/io/torch_checkpoint.hpp"
#include "tlc/models/detect_arch.hpp"

namespace tlc::cli {

int cmd_convert(const Argv& argv) {
  Args a("convert", "Import an official PyTorch checkpoint (zip .pth: NAFNet, Baseline, HINet, Restormer, or our\n"
                    "unet) as a tlc model file. The .pth is parsed natively; nothing in it is executed. The\n"
                    "architecture and its configuration are read from the tensor names and shapes unless --arch\n"
                    "is given; --set overrides single options (see docs/MODELS.md).");
  a.positional("IN.pth", "PyTorch checkpoint")
      .positional("OUT.safetensors", "tlc model file to write")
      .option("arch", "NAME", "nafnet|baseline|unet|hinet|restormer (default: detected)")
      .option("set", "KEY=VALUE", "set a model option", "", true)
      .option("key", "NAME", "top-level checkpoint key holding the weights (default: params, params_ema, state_dict)")
      .option("train-size", "N|WxH", "training patch size stored for TLC (the official crops are 256)",
              std::to_string(models::kDefaultTrainSize))
      .option("degradation", "SPEC", "evaluation degradation to record for `tlc eval --degrade auto`");
  if (!a.parse(argv, std::cout)) return 0;
  const std::string in = a.positional_or_throw(0), out = a.positional_or_throw(1);
  check_input_file(in, "IN.pth");
  check_output_file(out, "OUT.safetensors", {"safetensors"});
  const models::ImageSize train_size = size_option(a, "train-size");
  io::TorchLoadOptions lo;
  lo.key = a.get("key");
  const auto tensors = io::load_torch_checkpoint(in, lo);
  models::Config cfg = models::detect_arch(tensors);
  if (a.has("arch")) {
    models::Config only_arch;
    only_arch.set("arch", a.get("arch"));
    if (a.get("arch") == cfg.str("arch", "")) only_arch = cfg;
    cfg = only_arch;
  }
  for (const auto& kv : a.all("set")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, found '" + kv + "'");
    cfg.set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto model = models::make_model(cfg.str("arch", ""), cfg);
  nn::load_state_dict(*model, tensors, "'" + in + "'");
  models::ModelInfo info;
  info.train_h = train_size.h;
  info.train_w = train_size.w;
  info.eval_degradation = a.get("degradation");
  info.metadata["tlc.source"] = in;
  models::save_model(out, *model, info);
  std::fprintf(stderr, "%s: %s, %lld parameters in %zu tensors -> %s\n", in.c_str(), cfg.str("arch", "").c_str(),
               static_cast<long long>(model->parameter_count()), tensors.size(), out.c_str());
  return 0;
}

}  // namespace tlc::cli
