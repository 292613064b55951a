#pragma once
// Channel layer norms: NAFNet's LayerNorm2d (weight, bias; eps 1e-6) and Restormer's LayerNorm
// (body.weight [, body.bias]; eps 1e-5; WithBias or BiasFree). Per pixel over channels only:
// nothing here aggregates over space, so TLC leaves them alone.
#include "tlc/nn/module.hpp"
#include "tlc/ops/layer_norm.hpp"

namespace tlc::nn {

template <class T = float>
class LayerNorm2d : public Module<T> {
 public:
  explicit LayerNorm2d(index_t channels, double eps = 1e-6, ops::LayerNormKind kind = ops::LayerNormKind::WithBias)
      : eps_(eps), kind_(kind) {
    weight_ = &this->register_parameter("weight", Tensor<T>::ones({channels}));
    if (kind == ops::LayerNormKind::WithBias) bias_ = &this->register_parameter("bias", Tensor<T>::zeros({channels}));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return ops::layer_norm2d(x, *weight_, bias_ ? *bias_ : Tensor<T>(), static_cast<T>(eps_), kind_);
  }
  std::string type_name() const override { return "LayerNorm2d"; }
  const Tensor<T>& weight() const { return *weight_; }
  const Tensor<T>* bias() const { return bias_; }  // null for BiasFree
  double eps() const { return eps_; }

 private:
  double eps_;
  ops::LayerNormKind kind_;
  Tensor<T>* weight_ = nullptr;
  Tensor<T>* bias_ = nullptr;
};

// Restormer's LayerNorm wrapper: the norm lives in a child named "body".
template <class T = float>
class RestormerLayerNorm : public Module<T> {
 public:
  RestormerLayerNorm(index_t channels, bool with_bias) {
    body_ = this->register_module(
        "body", std::make_shared<LayerNorm2d<T>>(channels, 1e-5,
                                                 with_bias ? ops::LayerNormKind::WithBias : ops::LayerNormKind::BiasFree));
  }
  Tensor<T> forward(const Tensor<T>& x) override { return body_->forward(x); }
  std::string type_name() const override { return "LayerNorm"; }

 private:
  std::shared_ptr<LayerNorm2d<T>> body_;
};

}  // namespace tlc::nn
