#pragma once
// The training loop on cropped patches (spec 7.1): AdamW/Adam, cosine schedule with optional
// warm-up, global gradient-norm clipping, optional EMA, periodic validation, atomic checkpoints
// (last K kept), bit-identical resume on the CPU, a clean stop on SIGINT and on a non-finite loss.
//
// Data is a pure function of the iteration (the batch source derives every sample from
// (seed, iteration, index)), so a checkpoint needs only weights, optimiser moments and the
// iteration to resume exactly.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tlc/autograd/backward.hpp"
#include "tlc/core/progress.hpp"
#include "tlc/io/safetensors.hpp"
#include "tlc/nn/module.hpp"
#include "tlc/ops/loss.hpp"
#include "tlc/optim/adamw.hpp"
#include "tlc/optim/clip.hpp"
#include "tlc/optim/ema.hpp"
#include "tlc/optim/schedule.hpp"

namespace tlc::train {

struct TrainOptions {
  long long iters = 1000;
  double lr = 1e-3, eta_min = 1e-7;
  double beta1 = 0.9, beta2 = 0.9, eps = 1e-8, weight_decay = 0.0;
  bool adamw = true;
  long long warmup = 0;
  double clip = 0.01;          // global grad-norm clip; <= 0 disables
  std::string loss = "psnr";   // psnr | l1 | mse | charbonnier
  double loss_weight = 1.0;    // per output (HINet sums over its outputs)
  double ema_decay = 0.0;      // 0 disables
  long long checkpoint_every = 500;
  int keep_checkpoints = 2;
  long long validate_every = 0;  // 0: only at the end
  bool progress = true;
};

struct Batch {
  TensorF input, target;
};

// One row of the CSV log.
struct StepLog {
  long long iter;
  double loss, lr, grad_norm, patches_per_s, seconds;
};

class StopRequested {
 public:
  static std::atomic<bool>& flag() {
    static std::atomic<bool> f{false};
    return f;
  }
  static void install() {
    flag() = false;
    std::signal(SIGINT, [](int) { flag() = true; });
  }
};

inline TensorF compute_loss(const std::string& kind, const TensorF& pred, const TensorF& target) {
  if (kind == "psnr") return ops::psnr_loss(pred, target);
  if (kind == "l1") return ops::l1_loss(pred, target);
  if (kind == "mse") return ops::mse_loss(pred, target);
  if (kind == "charbonnier") return ops::charbonnier_loss(pred, target);
  throw Error("train: expected loss psnr|l1|mse|charbonnier, found '" + kind + "'");
}

class Trainer {
 public:
  using Forward = std::function<std::vector<TensorF>(const TensorF&)>;
  using BatchSource = std::function<Batch(long long iter)>;
  // Called with the iteration; returns text for the log (e.g. "val psnr global 28.1 tlc 28.4").
  using Validate = std::function<std::string(long long iter)>;

  Trainer(nn::Module<float>& model, Forward forward, BatchSource data, TrainOptions opt, std::string out_dir,
          std::map<std::string, std::string> checkpoint_metadata = {})
      : forward_(std::move(forward)), data_(std::move(data)), opt_(std::move(opt)),
        out_dir_(std::move(out_dir)), meta_(std::move(checkpoint_metadata)),
        names_(param_names(model)), params_(model.parameters()),
        adam_(params_, {opt_.lr, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, opt_.adamw}),
        schedule_{opt_.lr, opt_.eta_min, opt_.iters, opt_.warmup} {
    if (opt_.ema_decay > 0) ema_.emplace(params_, opt_.ema_decay);
    std::filesystem::create_directories(out_dir_ + "/checkpoints");
    // Checkpoints of an earlier session of this run take part in the rotation.
    for (const auto& e : std::filesystem::directory_iterator(out_dir_ + "/checkpoints"))
      if (e.path().extension() == ".safetensors") kept_.push_back(e.path().string());
    std::sort(kept_.begin(), kept_.end());
  }

  void set_validate(Validate v) { validate_ = std::move(v); }
  // The batch source may be set after construction (e.g. once resume() fixed the iteration).
  void set_data(BatchSource data) { data_ = std::move(data); }
  long long iteration() const { return iter_; }
  const std::vector<StepLog>& log() const { return log_; }

  // Continues from a checkpoint written by this trainer (same model and options).
  void resume(const std::string& checkpoint) {
    io::SafetensorsData d = io::load_safetensors(checkpoint);
    auto take = [&](const std::string& name, const TensorF& dst) {
      TensorF t = d.find(name);
      TLC_CHECK(t.defined(), FormatError, "resume '", checkpoint, "': expected tensor '", name, "', found none");
      TLC_CHECK(t.shape() == dst.shape(), FormatError, "resume '", checkpoint, "': tensor '", name, "' has shape ",
                t.shape().str(), ", expected ", dst.shape().str());
      dst.copy_(t);
    };
    for (size_t i = 0; i < params_.size(); ++i) {
      take("model." + names_[i], params_[i]);
      take("adam.m." + names_[i], adam_.first_moments()[i]);
      take("adam.v." + names_[i], adam_.second_moments()[i]);
      if (ema_) take("ema." + names_[i], ema_->shadow()[i]);
    }
    auto it = d.metadata.find("tlc.iter");
    TLC_CHECK(it != d.metadata.end(), FormatError, "resume '", checkpoint, "': no tlc.iter in the metadata");
    iter_ = std::stoll(it->second);
    adam_.set_step_count(iter_);
  }

  // Runs until opt.iters, a stop request, or a non-finite loss. Returns true when finished.
  bool run() {
    StopRequested::install();
    std::ofstream csv(out_dir_ + "/log.csv", std::ios::app);
    if (csv.tellp() == 0) csv << "iter,loss,lr,grad_norm,patches_per_s,seconds\n";
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    Progress bar("train", opt_.iters, "it");
    bar.rebase(iter_);
    double smooth = 0;
    std::string val_text;
    while (iter_ < opt_.iters) {
      if (StopRequested::flag()) {
        write_checkpoint();
        std::fprintf(stderr, "\ninterrupted at iteration %lld: checkpoint written to %s\n", iter_, out_dir_.c_str());
        return false;
      }
      const long long t = iter_ + 1;
      const double lr = schedule_.at(t);
      adam_.set_lr(lr);
      Batch b = data_(t);
      std::vector<TensorF> outs = forward_(b.input);
      TensorF loss;
      for (auto& o : outs) {
        TensorF l = ops::mul_scalar(compute_loss(opt_.loss, o, b.target), static_cast<float>(opt_.loss_weight));
        loss = loss.defined() ? ops::add(loss, l) : l;
      }
      const double loss_value = loss.item();
      if (!std::isfinite(loss_value)) {
        throw Error("train: the loss became " + std::to_string(loss_value) + " at iteration " + std::to_string(t) +
                    "; stopped without updating (last good checkpoint kept in " + out_dir_ + "/checkpoints)");
      }
      autograd::backward(loss);
      const double norm = opt_.clip > 0 ? optim::clip_grad_norm(params_, opt_.clip) : 0.0;
      adam_.step();
      adam_.zero_grad();
      if (ema_) ema_->update();
      iter_ = t;
      const auto now = std::chrono::steady_clock::now();
      const double step_s = std::chrono::duration<double>(now - last).count();
      last = now;
      const double rate = step_s > 0 ? static_cast<double>(b.input.size(0)) / step_s : 0;
      smooth = smooth == 0 ? loss_value : 0.95 * smooth + 0.05 * loss_value;
      const double elapsed = std::chrono::duration<double>(now - t0).count();
      log_.push_back({t, loss_value, lr, norm, rate, elapsed});
      csv << t << "," << loss_value << "," << lr << "," << norm << "," << rate << "," << elapsed << "\n";
      if (opt_.checkpoint_every > 0 && t % opt_.checkpoint_every == 0) write_checkpoint();
      if (validate_ && opt_.validate_every > 0 && t % opt_.validate_every == 0 && t < opt_.iters) val_text = validate_(t);
      if (opt_.progress) {
        char status[160];
        std::snprintf(status, sizeof status, "loss %.3f lr %.2e%s%s", smooth, lr, val_text.empty() ? "" : " | ",
                      val_text.c_str());
        bar.update(t, status);
      }
    }
    csv.flush();
    write_checkpoint();
    return true;
  }

  // The EMA weights (when enabled) replace the live ones, e.g. before saving the final model.
  void use_ema_weights() {
    if (!ema_) return;
    for (size_t i = 0; i < params_.size(); ++i) params_[i].copy_(ema_->shadow()[i]);
  }

  std::string last_checkpoint() const { return last_checkpoint_; }

 private:
  static std::vector<std::string> param_names(const nn::Module<float>& m) {
    std::vector<std::string> out;
    for (auto& [n, p] : m.named_parameters()) out.push_back(n);
    return out;
  }


  void write_checkpoint() {
    std::vector<std::pair<std::string, TensorF>> tensors;
    for (size_t i = 0; i < params_.size(); ++i) tensors.emplace_back("model." + names_[i], params_[i].detach());
    for (size_t i = 0; i < params_.size(); ++i) tensors.emplace_back("adam.m." + names_[i], adam_.first_moments()[i]);
    for (size_t i = 0; i < params_.size(); ++i) tensors.emplace_back("adam.v." + names_[i], adam_.second_moments()[i]);
    if (ema_)
      for (size_t i = 0; i < params_.size(); ++i) tensors.emplace_back("ema." + names_[i], ema_->shadow()[i]);
    auto meta = meta_;
    meta["tlc.iter"] = std::to_string(iter_);
    char name[64];
    std::snprintf(name, sizeof name, "/checkpoints/iter_%08lld.safetensors", iter_);
    const std::string path = out_dir_ + name;
    io::save_safetensors(path, tensors, meta);  // atomic: temp file + rename
    last_checkpoint_ = path;
    if (std::find(kept_.begin(), kept_.end(), path) == kept_.end()) kept_.push_back(path);
    while (static_cast<int>(kept_.size()) > std::max(1, opt_.keep_checkpoints)) {
      std::filesystem::remove(kept_.front());
      kept_.erase(kept_.begin());
    }
  }

  Forward forward_;
  BatchSource data_;
  TrainOptions opt_;
  std::string out_dir_;
  std::map<std::string, std::string> meta_;
  std::vector<std::string> names_;
  std::vector<TensorF> params_;
  optim::Adam<float> adam_;
  optim::CosineSchedule schedule_;
  std::optional<optim::Ema<float>> ema_;
  Validate validate_;
  long long iter_ = 0;
  std::vector<StepLog> log_;
  std::vector<std::string> kept_;
  std::string last_checkpoint_;
};

}  // namespace tlc::train
