// tlc train: train a restorer on cropped patches, validating on full images with global and TLC
// inference; data-parallel over the ranks of mpirun / srun. Three steps: settings (every argument
// checked, nothing written), data (the training set and the held-out images), then the run
// folder and the trainer.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "cli/commands.hpp"
#include "cli/evaluate.hpp"
#include "cli/interrupt.hpp"
#include "cli/train_data.hpp"
#include "tlc/data/dataset.hpp"
#include "tlc/dist/collectives.hpp"
#include "tlc/dist/launch.hpp"
#include "tlc/dist/nccl_communicator.hpp"
#include "tlc/train/trainer.hpp"

namespace tlc::cli {

namespace {

namespace fs = std::filesystem;

struct Key {
  const char* name;
  const char* def;
  const char* help;
};

// Every training setting, its default and meaning (also the --help listing). model.* keys are the
// architecture options of docs/MODELS.md. An empty data.dir means the sample photos shipped with tlc.
const std::vector<Key> kKeys = {
    {"model.arch", "nafnet", "nafnet | baseline | unet | hinet | restormer"},
    {"model.width", "16", "model width (restormer: use model.dim)"},
    {"model.enc_blocks", "1,1,1,1", "NAFNet/Baseline encoder blocks per level"},
    {"model.middle_blocks", "1", "NAFNet/Baseline middle blocks"},
    {"model.dec_blocks", "1,1,1,1", "NAFNet/Baseline decoder blocks per level"},
    {"data.dir", "", "folder of clean images, or a paired folder (input/ + target/); default: the sample photos"},
    {"data.degrade", "noise:sigma=5-60", "training degradation of clean images (docs/DATA.md); sigma drawn per patch"},
    {"data.eval_degrade", "noise-map:sigma=5-60,pattern=gradient", "degradation of the held-out full images"},
    {"data.holdout_every", "5", "every k-th image (by name) is held out for validation; 0: none"},
    {"data.patch", "64", "training patch side"},
    {"data.batch", "8", "patches per batch, over all ranks together (each of N ranks takes batch/N)"},
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

// Facts about a run recorded beside its settings in config.json; not settings themselves.
constexpr const char* kRunId = "run.id";
constexpr const char* kRunRanks = "run.ranks";

// What a run folder holds; any of it means the folder is taken.
const std::vector<const char*> kRunFiles = {"config.json", "log.csv", "checkpoints", "model.safetensors"};

std::string key_help() {
  std::string s = "\nsettings (--set KEY=VALUE or a JSON object in --config; model.* are the model options):\n";
  for (const auto& k : kKeys) {
    std::string left = std::string("  ") + k.name;
    left.resize(26, ' ');
    s += left + k.help + (k.def[0] ? std::string(" (default ") + k.def + ")" : std::string()) + "\n";
  }
  s += "  model.<option>          any other option of the chosen architecture, e.g. for unet: module\n"
       "                          (none|in|hin|gn|se|cbam|ge), module_from, depth, gn_groups, reduction;\n"
       "                          every architecture's options and defaults: docs/MODELS.md\n"
       "\ndata-parallel: mpirun -np N tlc train ... (or srun) splits data.batch over N ranks, which train\n"
       "what one process with the whole batch trains (up to float rounding); the ranks of a node share\n"
       "its cores unless --threads says otherwise; SIGUSR1 to mpirun stops every rank with a checkpoint;\n"
       "see docs/DISTRIBUTED.md\n";
  return s;
}

// The settings of a run, every one checked; nothing is written while they are read.
struct Settings {
  models::Config all;    // every setting, resolved (the model keys only where they apply)
  models::Config model;  // the model's options, "arch" included
  std::string arch, out, run_id;
  bool resume = false;
};

models::Config read_json_config(const std::string& path) {
  return models::config_from_json(io::json::parse(io::read_file(path, 1 << 20)), path);
}

train::TrainOptions train_options(const models::Config& c, const std::string& arch) {
  train::TrainOptions to;
  to.iters = c.integer("train.iters", 1500);
  to.lr = c.number("train.lr", 1e-3);
  to.eta_min = c.number("train.eta_min", 1e-7);
  to.beta1 = c.number("train.beta1", 0.9);
  to.beta2 = c.number("train.beta2", 0.9);
  to.weight_decay = c.number("train.weight_decay", 0);
  to.adamw = c.str("train.optimizer", "adamw") == "adamw";
  to.warmup = c.integer("train.warmup", 0);
  to.clip = c.number("train.clip", 0.01);
  to.loss = c.str("train.loss", "psnr");
  to.ema_decay = c.number("train.ema", 0);
  to.checkpoint_every = c.integer("train.checkpoint_every", 500);
  to.keep_checkpoints = static_cast<int>(c.integer("train.keep", 2));
  to.validate_every = c.integer("train.val_every", 0);
  if (arch == "hinet") to.loss_weight = 0.5;  // HINet recipe: PSNR loss weight 0.5 on each output
  return to;
}

// Every value in range and every spec parsable, the model buildable: before anything is written.
void check_settings(const Settings& s) {
  const models::Config& c = s.all;
  auto at_least = [&](const char* key, index_t lo) {
    if (c.integer(key, lo) < lo) throw UsageError(std::string(key) + " must be at least " + std::to_string(lo));
  };
  at_least("train.iters", 1);
  at_least("data.batch", 1);
  at_least("data.patch", 8);
  at_least("data.workers", 0);
  at_least("data.holdout_every", 0);
  at_least("train.keep", 1);
  at_least("train.checkpoint_every", 0);
  at_least("train.val_every", 0);
  at_least("train.warmup", 0);
  if (!(c.number("train.lr", 1e-3) > 0)) throw UsageError("train.lr must be positive");
  const std::string optimizer = c.str("train.optimizer", "adamw");
  if (optimizer != "adamw" && optimizer != "adam") throw UsageError("train.optimizer: expected adamw or adam");
  const std::string loss = c.str("train.loss", "psnr");
  if (loss != "psnr" && loss != "l1" && loss != "mse" && loss != "charbonnier")
    throw UsageError("train.loss: expected psnr, l1, mse or charbonnier, found '" + loss + "'");
  for (const char* key : {"data.flip", "data.rot"}) c.boolean(key, true);
  data::Degradation::parse(c.str("data.degrade", ""));
  data::Degradation::parse(c.str("data.eval_degrade", ""));
  const index_t ranks = dist::launched_world_size();
  if (c.integer("data.batch", 8) % ranks != 0)
    throw UsageError("data.batch " + std::to_string(c.integer("data.batch", 8)) + " cannot be split over " +
                     std::to_string(ranks) + " ranks: use a batch divisible by the number of ranks");
  train_options(c, s.arch);  // every number parses
  models::make_model(s.arch, s.model);
}

Settings read_settings(const Args& a) {
  Settings s;
  std::map<std::string, std::string> cfg;
  std::set<std::string> explicit_keys;
  for (const auto& k : kKeys) cfg[k.name] = k.def;
  s.resume = a.has("resume");
  s.out = s.resume ? a.get("resume") : a.get("out");
  if (s.resume && a.has("out") && a.get("out") != s.out)
    throw UsageError("--resume DIR continues the run in DIR; --out " + a.get("out") + " names another folder");
  if (s.resume) {
    const std::string saved = (fs::path(s.out) / "config.json").string();
    if (!fs::exists(saved))
      throw UsageError("--resume " + s.out + ": expected a run folder with config.json, found none");
    const models::Config previous = read_json_config(saved);
    for (auto& [k, v] : previous.values()) {
      if (k == kRunId) s.run_id = v;
      else if (k != kRunRanks) cfg[k] = v, explicit_keys.insert(k);
    }
  }
  if (a.has("config")) {
    const models::Config file = read_json_config(a.get("config"));
    for (auto& [k, v] : file.values()) cfg[k] = v, explicit_keys.insert(k);
  }
  for (const auto& kv : a.all("set")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--set expects KEY=VALUE, found '" + kv + "'");
    cfg[kv.substr(0, eq)] = kv.substr(eq + 1);
    explicit_keys.insert(kv.substr(0, eq));
  }
  s.arch = cfg["model.arch"];
  std::map<std::string, std::string> resolved;
  for (const auto& [k, v] : cfg) {
    if (k.rfind("model.", 0) == 0) {
      // The model.* defaults describe the small NAFNet; other architectures take only what was set.
      if (k == "model.arch" || s.arch == "nafnet" || s.arch == "baseline" || explicit_keys.count(k)) {
        s.model.set(k.substr(6), v);
        resolved[k] = v;
      }
      continue;
    }
    bool known = false;
    for (const auto& key : kKeys) known = known || k == key.name;
    if (!known) throw UsageError("unknown setting '" + k + "' (see tlc train --help)");
    resolved[k] = v;
  }
  // Recorded as an absolute path, so that --resume works from any directory.
  const std::string data_dir = resolved["data.dir"].empty() ? sample_photos_dir() : resolved["data.dir"];
  resolved["data.dir"] = fs::absolute(data_dir).string();
  s.all = models::Config(resolved);

  try {
    check_settings(s);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {  // a bad value is a usage error, whichever parser found it
    throw UsageError(e.what());
  }
  return s;
}

// A new run's folder must not hold another run: --force clears that run's files (nothing else).
void claim_run_folder(const std::string& out, bool force) {
  if (fs::exists(out) && !fs::is_directory(out))
    throw UsageError("--out " + out + ": expected a folder, found a file");
  std::vector<std::string> taken;
  for (const char* f : kRunFiles)
    if (fs::exists(fs::path(out) / f)) taken.push_back(f);
  if (taken.empty()) return;
  if (!force) {
    std::string list;
    for (const auto& f : taken) list += (list.empty() ? "" : ", ") + f;
    throw UsageError("--out " + out + " already holds a run (" + list + "): continue it with --resume " + out +
                     ", or start anew there with --force (deletes that run)");
  }
  for (const char* f : kRunFiles) fs::remove_all(fs::path(out) / f);
}

std::string new_run_id() {
  std::random_device rd;
  const std::uint64_t id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
                           static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

// The newest checkpoint of the run in `out`.
std::string last_checkpoint(const std::string& out) {
  const std::vector<std::string> all = train::list_checkpoints(out);
  TLC_CHECK(!all.empty(), IoError, "train: --resume ", out, ": no checkpoint in ", out, "/checkpoints");
  return all.back();
}

// The communicator for the gradients: NCCL when every rank has a GPU of its own (`--device cuda`
// with no index, at most as many ranks on a node as it has GPUs), else MPI with CUDA buffers staged
// through the host. Every rank must agree, so the answer is gathered.
std::unique_ptr<dist::Communicator> gradient_communicator(dist::Communicator& world, const Device& device,
                                                          bool gpu_per_rank) {
  if (world.size() == 1 || !device.is_cuda()) return nullptr;
  if (dist::built_with_nccl()) {
    const std::vector<double> own = dist::all_gather(world, gpu_per_rank ? 1 : 0);
    if (std::find(own.begin(), own.end(), 0.0) == own.end()) return dist::make_nccl_communicator(world, device.index);
  }
  if (world.rank() == 0)
    std::fprintf(stderr, "note: gradients travel over MPI through host memory (%s)\n",
                 dist::built_with_nccl() ? "the ranks do not each have a GPU of their own"
                                         : "this tlc was built without NCCL");
  return nullptr;
}

int train(const Args& a, const Settings& s, dist::Communicator& world) {
  const bool lead = world.rank() == 0;
  // Ranks of one node share its cores unless told otherwise (as torchrun does).
  if (world.local_size() > 1 && !a.has("threads") && !std::getenv("TLC_NUM_THREADS"))
    set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / world.local_size()));
  Device device = apply_runtime_options(a);
  // `--device cuda` without an index: rank r of a node takes its GPU r (modulo the GPUs there).
  const bool gpu_per_rank = device.is_cuda() && a.get("device") == "cuda" && world.local_size() <= cuda_device_count();
  if (device.is_cuda() && world.size() > 1 && a.get("device") == "cuda")
    device.index = world.local_rank() % cuda_device_count();
  const models::Config& c = s.all;
  const index_t patch = c.integer("data.patch", 64);

  TrainingData data = load_training_data(c, lead);
  dist::check_same_everywhere(world, models::config_json(c) + data.fingerprint(),
                              "the settings and the training images");

  // The run folder: checked and claimed by rank 0 only after everything above is valid.
  std::string run_id = s.run_id;
  if (lead) {
    if (!s.resume) {
      claim_run_folder(s.out, a.has("force"));
      run_id = new_run_id();
    }
    models::Config recorded = c;
    if (!run_id.empty()) recorded.set(kRunId, run_id);
    recorded.set(kRunRanks, std::to_string(world.size()));
    fs::create_directories(s.out);
    io::write_file_atomic((fs::path(s.out) / "config.json").string(), models::config_json(recorded) + "\n");
  }
  if (world.size() > 1) {
    char id[17] = {};
    std::copy(run_id.begin(), run_id.begin() + std::min<std::size_t>(16, run_id.size()), id);
    world.broadcast(id, sizeof id, 0);
    run_id = id;
  }

  nn::manual_seed(static_cast<std::uint64_t>(c.integer("train.seed", 42)));
  auto model = models::make_model(s.arch, s.model);
  model->to(device);  // before the optimiser and EMA take references to the parameters

  const train::TrainOptions to = train_options(c, s.arch);
  std::map<std::string, std::string> meta = {{"tlc.arch", models::config_json(models::model_config(*model))},
                                             {"tlc.train_size", models::hw_text(patch, patch)}};
  if (!run_id.empty()) meta["tlc.run_id"] = run_id;
  train::Trainer trainer(
      *model, [&](const TensorF& x) { return model->forward_all(x); }, nullptr, to, s.out, meta);
  std::unique_ptr<dist::Communicator> gradients = gradient_communicator(world, device, gpu_per_rank);
  trainer.set_communicator(gradients ? *gradients : world);
  if (s.resume) {
    const std::string last = last_checkpoint(s.out);
    trainer.resume(last);
    if (lead) std::fprintf(stderr, "resumed %s at iteration %lld\n", last.c_str(), trainer.iteration());
  }

  data::LoaderOptions lo;
  lo.batch_size = c.integer("data.batch", 8);
  lo.shard_size = lo.batch_size / world.size();
  lo.shard_begin = world.rank() * lo.shard_size;
  lo.patch = patch;
  lo.flip = c.boolean("data.flip", true);
  lo.rot = c.boolean("data.rot", true);
  lo.seed = static_cast<std::uint64_t>(c.integer("train.seed", 42));
  lo.workers = static_cast<int>(c.integer("data.workers", 2));
  data::Loader loader(data.train, lo, static_cast<std::uint64_t>(trainer.iteration()));
  trainer.set_data([&](long long) {
    data::Batch b = loader.next();
    return train::Batch{b.input.to(device), b.target.to(device)};
  });
  auto validate = [&](long long) { return validation_text(*model, data.val, patch, device); };
  trainer.set_validate(validate);
  stop_on_interrupt();
  trainer.set_stop_request(stop_requested);

  if (lead) {
    std::string ranks;
    if (world.size() > 1)
      ranks = " on " + std::to_string(world.size()) + " ranks (" +
              (gradients ? gradients->backend() : world.backend()) + ")";
    std::fprintf(stderr,
                 "training %s (%lld parameters) on %zu images of %s, %lldx%lld patches, batch %lld, "
                 "%lld iterations%s\n",
                 s.arch.c_str(), static_cast<long long>(model->parameter_count()), data.train->size(),
                 c.str("data.dir", "").c_str(), static_cast<long long>(patch), static_cast<long long>(patch),
                 static_cast<long long>(lo.batch_size), to.iters, ranks.c_str());
  }
  if (!trainer.run()) {
    if (lead)
      std::fprintf(stderr, "\ninterrupted at iteration %lld: checkpoint written to %s/checkpoints\n"
                   "continue with: tlc train --resume %s\n",
                   trainer.iteration(), s.out.c_str(), s.out.c_str());
    return 130;
  }
  trainer.use_ema_weights();
  if (!lead) return 0;
  if (!data.val.empty()) std::fprintf(stderr, "%s\n", validate(to.iters).c_str());
  models::ModelInfo info;
  info.train_h = info.train_w = patch;
  info.degradation = data.paired ? "" : c.str("data.degrade", "");
  info.eval_degradation = data.paired ? "" : c.str("data.eval_degrade", "");
  info.metadata["tlc.train_config"] = models::config_json(c);
  models::save_model(s.out + "/model.safetensors", *model, info);
  std::fprintf(stderr, "model written to %s/model.safetensors\n", s.out.c_str());
  return 0;
}

}  // namespace

int cmd_train(const Argv& argv) {
  Args a("train", "Train a restorer on cropped patches of full-size images and save it with its training size\n"
                  "and degradations, ready for TLC inference. With no options: a small NAFNet blind denoiser\n"
                  "on the sample photos (every 5th held out), noise level drawn per patch.");
  a.option("config", "FILE", "JSON object of settings");
  a.option("set", "KEY=VALUE", "one setting (overrides --config)", "", true);
  a.option("out", "DIR", "run folder: config.json, log.csv, checkpoints/, model.safetensors", "runs/train");
  a.option("resume", "DIR", "continue the run in DIR from its last checkpoint (bit-identical on the CPU)");
  a.flag("force", "start anew in an --out folder that holds an earlier run, deleting that run");
  add_runtime_options(a);
  if (argv.size() == 1 && (argv[0] == "-h" || argv[0] == "--help")) {
    std::cout << a.help() << key_help();
    return 0;
  }
  if (!a.parse(argv, std::cout)) return 0;
  if (a.has("resume") && a.has("force")) throw UsageError("--force starts a new run; it cannot go with --resume");
  require_fp32_products("tlc train");
  const Settings settings = read_settings(a);  // usage errors end here, on every rank alike
  std::unique_ptr<dist::Communicator> world = dist::communicator_from_environment();
  return dist::run_or_abort(*world, "tlc train", [&] { return train(a, settings, *world); });
}

}  // namespace tlc::cli
