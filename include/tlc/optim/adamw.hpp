#pragma once
// Adam and AdamW. Adam adds weight decay to the gradient (L2, as torch.optim.Adam); AdamW decays
// the weights directly (decoupled, as torch.optim.AdamW), applied to every parameter.
#include <cmath>
#include <string>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/optim.hpp"
#include "tlc/ops/cuda/optim.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/optim.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = true;  // true: AdamW; false: Adam with L2 weight decay
};

template <class T>
class Adam {
 public:
  Adam(std::vector<Tensor<T>> params, AdamOptions opt) : params_(std::move(params)), opt_(opt) {
    for (auto& p : params_) {
      TLC_CHECK(p.requires_grad(), Error, "Adam: expected parameters that require grad, found one that does not");
      m_.push_back(Tensor<T>::zeros(p.shape(), p.device()));
      v_.push_back(Tensor<T>::zeros(p.shape(), p.device()));
    }
  }

  double lr() const { return opt_.lr; }
  void set_lr(double lr) { opt_.lr = lr; }
  const AdamOptions& options() const { return opt_; }
  long long step_count() const { return step_; }

  // One update with the current gradients; parameters without a gradient are left alone.
  void step() {
    ++step_;
    const T bc1 = T(1) - static_cast<T>(std::pow(opt_.beta1, static_cast<double>(step_)));
    const T bc2 = T(1) - static_cast<T>(std::pow(opt_.beta2, static_cast<double>(step_)));
    const kernels::AdamStep<T> f{static_cast<T>(opt_.lr), static_cast<T>(opt_.beta1), static_cast<T>(opt_.beta2),
                                 static_cast<T>(opt_.eps), static_cast<T>(opt_.weight_decay), bc1, bc2, opt_.decoupled};
    for (size_t i = 0; i < params_.size(); ++i) {
      Tensor<T> g = params_[i].grad();
      if (!g.defined()) continue;
      TLC_DISPATCH(T, "Adam::step", params_[i].device(), adam_step, f, params_[i].data(), m_[i].data(), v_[i].data(),
                   g.data(), params_[i].numel());
    }
  }

  void zero_grad() {
    for (auto& p : params_) p.zero_grad();
  }

  // Optimizer state, for checkpoints: first and second moments in parameter order, and the step.
  std::vector<Tensor<T>>& first_moments() { return m_; }
  std::vector<Tensor<T>>& second_moments() { return v_; }
  void set_step_count(long long s) { step_ = s; }
  const std::vector<Tensor<T>>& params() const { return params_; }

 private:
  std::vector<Tensor<T>> params_;
  AdamOptions opt_;
  std::vector<Tensor<T>> m_, v_;
  long long step_ = 0;
};

}  // namespace tlc::optim
