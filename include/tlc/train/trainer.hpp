#pragma once
// The training loop on cropped patches: AdamW/Adam, cosine schedule with optional warm-up, global
// gradient-norm clipping, optional EMA, periodic validation, atomic checkpoints (last K kept),
// bit-identical resume on the CPU, a clean stop when asked (the caller's stop request, e.g. on
// Ctrl-C) and on a non-finite loss.
//
// Data is a pure function of the iteration (the batch source derives every sample from
// (seed, iteration, index)), so a checkpoint needs only weights, optimiser moments and the
// iteration to resume exactly.
//
// Data-parallel (set_communicator with N ranks): each rank's batch source gives its slice of the
// global batch; gradients are averaged across ranks in buckets while backward runs; the loss is
// the mean over ranks, so clipping, the log and a non-finite-loss stop see what one process with
// the whole batch would. Rank 0 alone writes the log, the progress bar and checkpoints; state is
// broadcast from rank 0 when training starts, so any world size resumes any checkpoint.
#include <algorithm>
#include <chrono>
#include <cmath>
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
#include "tlc/dist/collectives.hpp"
#include "tlc/dist/gradient_averager.hpp"
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
  std::size_t bucket_bytes = std::size_t(1) << 20;  // gradients averaged across ranks in buckets this big
};

struct Batch {
  TensorF input, target;
};

// One row of the CSV log.
struct StepLog {
  long long iter;
  double loss, lr, grad_norm, patches_per_s, seconds;
};

// The checkpoints in `out_dir`/checkpoints, oldest first (their names sort by iteration).
inline std::vector<std::string> list_checkpoints(const std::string& out_dir) {
  std::vector<std::string> found;
  const std::filesystem::path dir = std::filesystem::path(out_dir) / "checkpoints";
  if (std::filesystem::is_directory(dir))
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == ".safetensors") found.push_back(e.path().string());
  std::sort(found.begin(), found.end());
  return found;
}

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
  // Polled once per iteration; true ends the run after the current iteration, with a checkpoint.
  using StopRequest = std::function<bool()>;

  Trainer(nn::Module<float>& model, Forward forward, BatchSource data, TrainOptions opt, std::string out_dir,
          std::map<std::string, std::string> checkpoint_metadata = {})
      : forward_(std::move(forward)), data_(std::move(data)), opt_(std::move(opt)),
        out_dir_(std::move(out_dir)), meta_(std::move(checkpoint_metadata)),
        names_(param_names(model)), params_(model.parameters()),
        adam_(params_, {opt_.lr, opt_.beta1, opt_.beta2, opt_.eps, opt_.weight_decay, opt_.adamw}),
        schedule_{opt_.lr, opt_.eta_min, opt_.iters, opt_.warmup} {
    if (opt_.ema_decay > 0) ema_.emplace(params_, opt_.ema_decay);
  }

  void set_validate(Validate v) { validate_ = std::move(v); }
  void set_stop_request(StopRequest s) { stop_ = std::move(s); }
  // Trains as one of comm.size() data-parallel ranks (before run(); comm must outlive the trainer).
  void set_communicator(dist::Communicator& comm) { comm_ = &comm; }
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
    if (auto run = meta_.find("tlc.run_id"); run != meta_.end()) {
      auto found = d.metadata.find("tlc.run_id");
      const std::string theirs = found == d.metadata.end() ? "none" : found->second;
      TLC_CHECK(theirs == run->second, FormatError, "resume '", checkpoint, "': the checkpoint belongs to run ", theirs,
                ", this run is ", run->second);
    }
    auto it = d.metadata.find("tlc.iter");
    TLC_CHECK(it != d.metadata.end(), FormatError, "resume '", checkpoint, "': no tlc.iter in the metadata");
    iter_ = std::stoll(it->second);
    adam_.set_step_count(iter_);
  }

  // Runs until opt.iters, a stop request, or a non-finite loss. Returns true when finished.
  bool run() {
    const bool lead = comm().rank() == 0;
    if (lead) open_run_folder();
    start_ranks_alike();
    std::ofstream csv;
    if (lead) {
      csv.open(out_dir_ + "/log.csv", std::ios::app);
      if (csv.tellp() == 0) csv << "iter,loss,lr,grad_norm,patches_per_s,seconds\n";
    }
    std::optional<dist::GradientAverager<float>> averager;
    if (comm().size() > 1) averager.emplace(comm(), params_, opt_.bucket_bytes);
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    Progress bar("train", opt_.iters, "it");
    bar.rebase(iter_);
    double smooth = 0;
    bool stop = false;
    std::string val_text;
    while (iter_ < opt_.iters) {
      if (stop) {
        if (lead) write_checkpoint();
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
      // The loss of every rank's slice is a mean over equal slices: their mean is the global one.
      double step_state[2] = {loss.item(), stop_ && stop_() ? 1.0 : 0.0};
      if (averager) {
        autograd::backward(loss, TensorF(), false, averager->hook());
        averager->finish();
      } else {
        autograd::backward(loss);
      }
      comm().all_reduce(step_state, 2, dist::ReduceOp::Sum);
      const double loss_value = step_state[0] / comm().size();
      stop = step_state[1] > 0;
      if (!std::isfinite(loss_value)) {
        adam_.zero_grad();
        throw Error("train: the loss became " + std::to_string(loss_value) + " at iteration " + std::to_string(t) +
                    "; stopped without updating (last good checkpoint kept in " + out_dir_ + "/checkpoints)");
      }
      const double norm = opt_.clip > 0 ? optim::clip_grad_norm(params_, opt_.clip) : 0.0;
      adam_.step();
      adam_.zero_grad();
      if (ema_) ema_->update();
      iter_ = t;
      const auto now = std::chrono::steady_clock::now();
      const double step_s = std::chrono::duration<double>(now - last).count();
      last = now;
      const double rate = step_s > 0 ? static_cast<double>(b.input.size(0) * comm().size()) / step_s : 0;
      smooth = smooth == 0 ? loss_value : 0.95 * smooth + 0.05 * loss_value;
      const double elapsed = std::chrono::duration<double>(now - t0).count();
      log_.push_back({t, loss_value, lr, norm, rate, elapsed});
      if (averager) averaging_.push_back(averager->stats());
      const bool checkpoint = opt_.checkpoint_every > 0 && t % opt_.checkpoint_every == 0;
      const bool validate = validate_ && opt_.validate_every > 0 && t % opt_.validate_every == 0 && t < opt_.iters;
      if (lead) {
        csv << t << "," << loss_value << "," << lr << "," << norm << "," << rate << "," << elapsed << "\n";
        if (checkpoint) write_checkpoint();
        if (validate) val_text = validate_(t);
        if (opt_.progress) {
          char status[160];
          std::snprintf(status, sizeof status, "loss %.3f lr %.2e%s%s", smooth, lr, val_text.empty() ? "" : " | ",
                        val_text.c_str());
          bar.update(t, status);
        }
      }
      // Rank 0's checkpoint or validation may take longer than any collective timeout.
      if (checkpoint || validate) comm().barrier();
    }
    if (lead) {
      csv.flush();
      write_checkpoint();
    }
    comm().barrier();
    return true;
  }

  // Per-step gradient averaging of the last run (empty for one rank).
  const std::vector<dist::AveragingStats>& averaging() const { return averaging_; }

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

  dist::Communicator& comm() { return comm_ ? *comm_ : single_; }

  // Checkpoints of an earlier session of this run take part in the rotation.
  void open_run_folder() {
    std::filesystem::create_directories(out_dir_ + "/checkpoints");
    kept_ = list_checkpoints(out_dir_);
  }

  // Every rank starts from rank 0's weights, moments and iteration; ranks that resumed different
  // iterations are an error rather than a silent overwrite.
  void start_ranks_alike() {
    if (comm().size() == 1) return;
    const std::vector<double> iters = dist::all_gather(comm(), static_cast<double>(iter_));
    for (int r = 1; r < comm().size(); ++r)
      TLC_CHECK(iters[r] == iters[0], dist::DistError, "train: rank ", r, " resumed at iteration ",
                static_cast<long long>(iters[r]), ", rank 0 at ", static_cast<long long>(iters[0]),
                " (do all ranks see the same run folder?)");
    for (auto group : {&params_, &adam_.first_moments(), &adam_.second_moments()})
      for (const auto& t : *group) broadcast(t);
    if (ema_)
      for (const auto& t : ema_->shadow()) broadcast(t);
  }

  void broadcast(const TensorF& t) {
    comm().broadcast(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(float), 0, t.device());
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
    meta["tlc.world_size"] = std::to_string(comm().size());
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
  StopRequest stop_;
  dist::SingleProcess single_;
  dist::Communicator* comm_ = nullptr;
  std::vector<dist::AveragingStats> averaging_;
  long long iter_ = 0;
  std::vector<StepLog> log_;
  std::vector<std::string> kept_;
  std::string last_checkpoint_;
};

}  // namespace tlc::train
