#pragma once
// Exponential moving average of parameters: shadow = decay * shadow + (1 - decay) * param.
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/optim.hpp"
#include "tlc/ops/kernels/optim.hpp"

namespace tlc::optim {

template <class T>
class Ema {
 public:
  Ema(const std::vector<Tensor<T>>& params, double decay) : params_(params), decay_(decay) {
    for (const auto& p : params_) shadow_.push_back(p.detach().clone());
  }
  void update() {
    const kernels::EmaStep<T> f{static_cast<T>(decay_)};
    for (size_t i = 0; i < params_.size(); ++i) {
      const T* p = params_[i].data();
      T* s = shadow_[i].data();
      const index_t n = params_[i].numel();
      if (params_[i].is_cuda()) {
        ops::detail::check_cuda_dtype<T>("Ema::update");
        if constexpr (std::is_same_v<T, float>) TLC_CUDA_CALL("Ema::update", cuda::ema_update(f.decay, p, s, n));
        continue;
      }
      for (index_t j = 0; j < n; ++j) f(s[j], p[j]);
    }
  }
  const std::vector<Tensor<T>>& shadow() const { return shadow_; }
  std::vector<Tensor<T>>& shadow() { return shadow_; }

 private:
  std::vector<Tensor<T>> params_;
  std::vector<Tensor<T>> shadow_;
  double decay_;
};

}  // namespace tlc::optim
