#pragma once
// Adam and AdamW. Adam adds weight decay to the gradient (L2, as torch.optim.Adam); AdamW decays
// the weights directly (decoupled, as torch.optim.AdamW), applied to every parameter.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/vec_math.hpp"
#include "tlc/ops/cuda/optim.hpp"
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
      T *p = params_[i].data(), *m = m_[i].data(), *v = v_[i].data();
      const T* pg = g.data();
      if (params_[i].is_cuda()) {
        ops::detail::check_cuda_dtype<T>("Adam::step");
        if constexpr (std::is_same_v<T, float>)
          TLC_CUDA_CALL("Adam::step", cuda::adam_step({f.lr, f.beta1, f.beta2, f.eps, f.weight_decay,
                                                       f.bias_correction1, f.bias_correction2, f.decoupled},
                                                      p, m, v, pg, params_[i].numel()));
        continue;
      }
      parallel_for(0, params_[i].numel(), 1 << 14, [&](index_t lo, index_t hi) {
        constexpr index_t kBlock = 256;
        T root[kBlock];  // sqrt(v / bias_correction2) of a block
        for (index_t j0 = lo; j0 < hi; j0 += kBlock) {
          const index_t len = std::min(kBlock, hi - j0);
          for (index_t j = 0; j < len; ++j) root[j] = f.moments(p[j0 + j], m[j0 + j], v[j0 + j], pg[j0 + j]);
          cpu::sqrt_in_place(root, len);  // std::sqrt in the loop would keep it scalar (errno)
          for (index_t j = 0; j < len; ++j) f.apply(p[j0 + j], m[j0 + j], root[j]);
        }
      });
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
