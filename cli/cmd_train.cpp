// tlc train: train a restorer on cropped patches (spec 7.1), validating on full images with
// global and TLC inference.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include "cli/commands.hpp"
#include "cli/evaluate.hpp"
#include "tlc/data/dataset.hpp"
#include "tlc/train/trainer.hpp"

namespace tlc::cli {

namespace {

struct Key {
  const char* name;
  const char* def;
  const char* help;
};

// Every training setting, its default and meaning (also the --help listing). model.* keys are the
// architecture options of docs/MODELS.md.
const std::vector<Key> kKeys = {
    {"model.arch", "nafnet", "nafnet | baseline | unet | hinet | restormer"},
    {"model.width", "16", "model width (restormer: use model.dim)"},
    {"model.enc_blocks", "1,1,1,1", "NAFNet/Baseline encoder blocks per level"},
    {"model.middle_blocks", "1", "NAFNet/Baseline middle blocks"},
    {"model.dec_blocks", "1,1,1,1", "NAFNet/Baseline decoder blocks per level"},
    {"data.dir", "data/photos", "folder of clean images, or a paired folder (input/ + target/)"},
    {"data.degrade", "noise:sigma=5-60", "training degradation of clean images (docs/DATA.md); sigma drawn per patch"},
    {"data.eval_degrade", "noise-map:sigma=5-60,pattern=gradient", "degradation of the held-out full images"},
    {"data.holdout_every", "5", "every k-th image (by name) is held out for validation; 0: none"},
    {"data.patch", "64", "training patch side"},
    {"data.batch", "8", "patches per batch"},
    {"data.workers", "2", "loader threads"},
    {"data.flip", "true", "random horizontal flips"},
    {"data.rot", "true", "random vertical flips and transposes"},
    {"train.iters", "1500", "iterations"},
    {"train.lr", "1e-3", "initial learning rate"},
    {"train.eta_min", "1e-7", "final learning rate (cosine)"},
    {"train.beta1", "0.9", "Adam beta1"},
    {"train.beta2", "0.9", "Adam beta2 (NAFNet recipe: 0.9)"},
    {"train.weight_decay", "0", "weight decay"},
    {"train.optimizer", "adamw", "adamw (decoupled decay) | adam (L2 decay)"},
    {"train.warmup", "0", "linear warm-up iterations"},
    {"train.clip", "0.01", "global gradient-norm clip (0: off)"},
    {"train.loss", "psnr", "psnr | l1 | mse | charbonnier"},
    {"train.ema", "0", "EMA decay of the weights (0: off); the final model uses the EMA weights"},
    {"train.seed", "42", "seed of initialisation and data"},
    {"train.checkpoint_every", "500", "iterations between checkpoints"},
    {"train.keep", "2", "checkpoints kept"},
    {"train.val_every", "0", "iterations between validations (0: at the end only)"},
};

std::string key_help() {
  std::string s = "\nsettings (--set KEY=VALUE or a JSON object in --config; model.* are the model options):\n";
  for (const auto& k : kKeys) {
    std::string left = std::string("  ") + k.name;
    left.resize(26, ' ');
    s += left + k.help + " (default " + k.def + ")\n";
  }
  s += "  model.<option>          any other option of the chosen architecture, e.g. for unet: module\n"
       "                          (none|in|hin|gn|se|cbam|ge), module_from, depth, gn_groups, reduction;\n"
       "                          every architecture's options and defaults: docs/MODELS.md\n";
  return s;
}

}  // namespace

int cmd_train(const Argv& argv) {
  Args a("train", "Train a restorer on cropped patches of full-size images and save it with its training size\n"
                  "and degradations, ready for TLC inference. With no options: a small NAFNet blind denoiser\n"
                  "on the photos in data/photos (every 5th held out), noise level drawn per patch.");
  a.option("config", "FILE", "JSON object of settings");
  a.option("set", "KEY=VALUE", "one setting (overrides --config)", "", true);
  a.option("out", "DIR", "run folder: config.json, log.csv, checkpoints/, model.safetensors", "runs/train");
  a.option("resume", "DIR", "continue the run in DIR from its last checkpoint (bit-identical on the CPU)");
  add_runtime_options(a);
  if (argv.size() == 1 && (argv[0] == "-h" || argv[0] == "--help")) {
    std::cout << a.help() << key_help();
    return 0;
  }
  if (!a.parse(argv, std::cout)) return 0;
  const Device device = apply_runtime_options(a);

  // Settings: defaults < resumed config < --config < --set.
  std::map<std::string, std::string> cfg;
  std::set<std::string> explicit_keys;
  for (const auto& k : kKeys) cfg[k.name] = k.def;
  std::string out = a.get("out");
  if (a.has("resume")) {
    out = a.get("resume");
    const auto saved = models::config_from_json(io::json::parse(io::read_file(out + "/config.json", 1 << 20)),
                                                out + "/config.json");
    for (auto& [k, v] : saved.values()) cfg[k] = v, explicit_keys.insert(k);
  }
  if (a.has("config")) {
    const auto file = models::config_from_json(io::json::parse(io::read_file(a.get("config"), 1 << 20)), a.get("config"));
    for (auto& [k, v] : file.values()) cfg[k] = v, explicit_keys.insert(k);
  }
  for (const auto& kv : a.all("set")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, found '" + kv + "'");
    cfg[kv.substr(0, eq)] = kv.substr(eq + 1);
    explicit_keys.insert(kv.substr(0, eq));
  }
  models::Config model_cfg, c(cfg);
  const std::string arch = c.str("model.arch", "nafnet");
  for (const auto& [k, v] : cfg) {
    if (k.rfind("model.", 0) == 0) {
      // The model.* defaults describe the small NAFNet; other architectures take only what was set.
      if (k == "model.arch" || arch == "nafnet" || arch == "baseline" || explicit_keys.count(k)) model_cfg.set(k.substr(6), v);
      continue;
    }
    bool known = false;
    for (const auto& key : kKeys) known = known || k == key.name;
    if (!known) throw UsageError("unknown setting '" + k + "' (see tlc train --help)");
  }
  std::filesystem::create_directories(out);
  const std::string config_text = models::config_json(c);  // every setting, resolved
  io::write_file_atomic(out + "/config.json", config_text + "\n");

  nn::manual_seed(static_cast<std::uint64_t>(c.integer("train.seed", 42)));
  auto model = models::make_model(arch, model_cfg);
  model->to(device);  // before the optimiser and EMA take references to the parameters

  // Data: a held-out split of the folder for validation on full images.
  const std::string dir = c.str("data.dir", "data/photos");
  const bool paired = std::filesystem::is_directory(dir + "/input");
  std::shared_ptr<data::Dataset> all;
  if (paired) all = std::make_shared<data::PairedFolder>(dir);
  else all = std::make_shared<data::CleanFolder>(dir, c.str("data.degrade", ""));
  const index_t k = c.integer("data.holdout_every", 5);
  std::shared_ptr<const data::Dataset> train_set = all;
  std::vector<std::size_t> val_indices;
  if (k >= 2) {
    const auto split = data::holdout_every(all->size(), static_cast<std::size_t>(k));
    TLC_CHECK(!split.train.empty(), Error, "train: holdout_every ", k, " leaves no training image in ", dir);
    train_set = std::make_shared<data::Subset>(all, split.train);
    val_indices = split.val;
  }
  std::vector<EvalPair> val;
  const std::string eval_spec = paired ? "" : c.str("data.eval_degrade", "");
  const data::Degradation eval_deg = data::Degradation::parse(eval_spec);
  for (std::size_t i : val_indices) {
    Rng rng(name_seed(all->name(i)));
    data::Pair p = all->full(i, rng);  // paired: the stored pair; clean: re-degraded below
    if (!paired) {
      Rng eval_rng(name_seed(all->name(i)));  // the same noise `tlc eval` draws for this image
      p.input = eval_deg.apply(p.target, eval_rng);
    }
    val.push_back({all->name(i), p.input, p.target});
  }

  const index_t patch = c.integer("data.patch", 64);
  train::TrainOptions to;
  to.iters = c.integer("train.iters", 1500);
  to.lr = c.number("train.lr", 1e-3);
  to.eta_min = c.number("train.eta_min", 1e-7);
  to.beta1 = c.number("train.beta1", 0.9);
  to.beta2 = c.number("train.beta2", 0.9);
  to.weight_decay = c.number("train.weight_decay", 0);
  const std::string optimizer = c.str("train.optimizer", "adamw");
  if (optimizer != "adamw" && optimizer != "adam") throw UsageError("train.optimizer: expected adamw or adam");
  to.adamw = optimizer == "adamw";
  to.warmup = c.integer("train.warmup", 0);
  to.clip = c.number("train.clip", 0.01);
  to.loss = c.str("train.loss", "psnr");
  to.ema_decay = c.number("train.ema", 0);
  to.checkpoint_every = c.integer("train.checkpoint_every", 500);
  to.keep_checkpoints = static_cast<int>(c.integer("train.keep", 2));
  to.validate_every = c.integer("train.val_every", 0);
  if (arch == "hinet") to.loss_weight = 0.5;  // HINet recipe: PSNR loss weight 0.5 on each output

  train::Trainer trainer(
      *model, [&](const TensorF& x) { return model->forward_all(x); }, nullptr, to, out,
      {{"tlc.arch", models::config_json(models::model_config(*model))}, {"tlc.train_size", models::hw_text(patch, patch)}});
  if (a.has("resume")) {
    std::string last;
    for (const auto& e : std::filesystem::directory_iterator(out + "/checkpoints"))
      if (e.path().extension() == ".safetensors" && e.path().string() > last) last = e.path().string();
    TLC_CHECK(!last.empty(), IoError, "train: --resume ", out, ": no checkpoint in ", out, "/checkpoints");
    trainer.resume(last);
    std::fprintf(stderr, "resumed %s at iteration %lld\n", last.c_str(), trainer.iteration());
  }
  data::LoaderOptions lo;
  lo.batch_size = c.integer("data.batch", 8);
  lo.patch = patch;
  lo.flip = c.boolean("data.flip", true);
  lo.rot = c.boolean("data.rot", true);
  lo.seed = static_cast<std::uint64_t>(c.integer("train.seed", 42));
  lo.workers = static_cast<int>(c.integer("data.workers", 2));
  data::Loader loader(train_set, lo, static_cast<std::uint64_t>(trainer.iteration()));
  trainer.set_data([&](long long) {
    data::Batch b = loader.next();
    return train::Batch{b.input.to(device), b.target.to(device)};
  });

  // Validation on the held-out full images: global and TLC (windows from the patch size).
  auto validate = [&](long long) -> std::string {
    if (val.empty()) return "";
    NoGrad ng;
    const auto windows = local::windows(*model);
    double g = 0, t = 0;
    models::InferenceOptions iopt;
    iopt.train_h = iopt.train_w = patch;
    for (auto mode : {models::Mode::Global, models::Mode::TLC}) {
      iopt.mode = mode;
      models::prepare(*model, iopt);
      for (auto& p : val) (mode == models::Mode::Global ? g : t) += score_one(*model, p, iopt, device).psnr / val.size();
    }
    local::apply_windows(*model, windows);
    char buf[96];
    std::snprintf(buf, sizeof buf, "val psnr global %.2f tlc %.2f (%+.2f)", g, t, t - g);
    return buf;
  };
  trainer.set_validate(validate);
  std::fprintf(stderr, "training %s (%lld parameters) on %zu images of %s, %lldx%lld patches, batch %lld, %lld iterations\n",
               arch.c_str(), static_cast<long long>(model->parameter_count()), train_set->size(), dir.c_str(),
               static_cast<long long>(patch), static_cast<long long>(patch), static_cast<long long>(lo.batch_size),
               to.iters);
  if (!trainer.run()) return 130;
  trainer.use_ema_weights();
  if (!val.empty()) std::fprintf(stderr, "%s\n", validate(to.iters).c_str());
  models::ModelInfo info;
  info.train_h = info.train_w = patch;
  info.degradation = paired ? "" : c.str("data.degrade", "");
  info.eval_degradation = eval_spec;
  info.metadata["tlc.train_config"] = config_text;
  models::save_model(out + "/model.safetensors", *model, info);
  std::fprintf(stderr, "model written to %s/model.safetensors\n", out.c_str());
  return 0;
}

}  // namespace tlc::cli
