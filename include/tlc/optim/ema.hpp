#pragma once
// Exponential moving average of parameters: shadow = decay * shadow + (1 - decay) * param.
#include <vector>

#include "tlc/ops/common.hpp"

namespace tlc::optim {

template <class T>
class Ema {
 public:
  Ema(const std::vector<Tensor<T>>& params, double decay) : params_(params), decay_(decay) {
    for (const auto& p : params_) shadow_.push_back(p.detach().clone());
  }
  void update() {
    const T d = static_cast<T>(decay_);
    for (size_t i = 0; i < params_.size(); ++i) {
      ops::detail::require_cpu("Ema::update", params_[i]);
      const T* p = params_[i].data();
      T* s = shadow_[i].data();
      for (index_t j = 0; j < params_[i].numel(); ++j) s[j] = d * s[j] + (T(1) - d) * p[j];
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
