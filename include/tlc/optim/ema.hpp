#pragma once
// Exponential moving average of parameters: shadow = decay * shadow + (1 - decay) * param.
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/optim.hpp"
#include "tlc/ops/cuda/optim.hpp"
#include "tlc/ops/dispatch.hpp"

namespace tlc::optim {

template <class T>
class Ema {
 public:
  Ema(const std::vector<Tensor<T>>& params, double decay) : params_(params), decay_(decay) {
    for (const auto& p : params_) shadow_.push_back(p.detach().clone());
  }
  void update() {
    for (size_t i = 0; i < params_.size(); ++i)
      TLC_DISPATCH(T, "Ema::update", params_[i].device(), ema_update, static_cast<T>(decay_), params_[i].data(),
                   shadow_[i].data(), params_[i].numel());
  }
  const std::vector<Tensor<T>>& shadow() const { return shadow_; }
  std::vector<Tensor<T>>& shadow() { return shadow_; }

 private:
  std::vector<Tensor<T>> params_;
  std::vector<Tensor<T>> shadow_;
  double decay_;
};

}  // namespace tlc::optim
