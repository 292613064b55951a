#pragma once
// Norms whose statistics aggregate over space, and which TLC therefore converts:
// InstanceNorm2d (affine, no running statistics: instance statistics in training and inference,
// as HINet uses it) and GroupNorm. Local: statistics over the layer's window around each pixel.
#include "tlc/nn/aggregating.hpp"
#include "tlc/nn/module.hpp"
#include "tlc/ops/spatial_norm.hpp"

namespace tlc::nn {

template <class T = float>
class GroupNorm : public Module<T>, public local::Aggregating {
 public:
  GroupNorm(index_t groups, index_t channels, double eps = 1e-5, bool affine = true)
      : groups_(groups), channels_(channels), eps_(eps) {
    TLC_CHECK(groups > 0 && channels % groups == 0, ShapeError, "GroupNorm: expected channels divisible by groups, found ",
              channels, " channels and ", groups, " groups");
    if (affine) {
      weight_ = &this->register_parameter("weight", Tensor<T>::ones({channels}));
      bias_ = &this->register_parameter("bias", Tensor<T>::zeros({channels}));
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    observe_input(x);
    return ops::group_norm(x, groups_, weight_or_none(), bias_or_none(), static_cast<T>(eps_), window());
  }
  // leaky_relu(forward(x), slope), in one pass where it can (ops::group_norm_leaky_relu).
  Tensor<T> forward_leaky_relu(const Tensor<T>& x, T slope) {
    observe_input(x);
    return ops::group_norm_leaky_relu(x, groups_, weight_or_none(), bias_or_none(), static_cast<T>(eps_), window(),
                                      slope);
  }
  // leaky_relu(concat(forward(x[:, :channels]), x[:, channels:])) for an x of more channels than the
  // norm's (HINet's half instance norm), in one pass where it can (ops::leading_group_norm_leaky_relu).
  Tensor<T> forward_leading_leaky_relu(const Tensor<T>& x, T slope) {
    observe_input(x);
    return ops::leading_group_norm_leaky_relu(x, channels_, groups_, weight_or_none(), bias_or_none(),
                                              static_cast<T>(eps_), window(), slope);
  }
  std::string type_name() const override { return "GroupNorm"; }
  std::string aggregation_kind() const override { return "group-norm"; }

 protected:
  index_t groups_;

 private:
  void observe_input(const Tensor<T>& x) {
    ops::detail::check_rank(type_name().c_str(), x, 4);
    observe(x.size(2), x.size(3));
  }
  Tensor<T> weight_or_none() const { return weight_ ? *weight_ : Tensor<T>(); }
  Tensor<T> bias_or_none() const { return bias_ ? *bias_ : Tensor<T>(); }

  index_t channels_;
  double eps_;
  Tensor<T>* weight_ = nullptr;
  Tensor<T>* bias_ = nullptr;
};

// InstanceNorm2d(C) = GroupNorm with one channel per group.
template <class T = float>
class InstanceNorm2d : public GroupNorm<T> {
 public:
  explicit InstanceNorm2d(index_t channels, double eps = 1e-5, bool affine = true)
      : GroupNorm<T>(channels, channels, eps, affine) {}
  std::string type_name() const override { return "InstanceNorm2d"; }
  std::string aggregation_kind() const override { return "instance-norm"; }
};

}  // namespace tlc::nn
