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
  GroupNorm(index_t groups, index_t channels, double eps = 1e-5, bool affine = true) : groups_(groups), eps_(eps) {
    TLC_CHECK(groups > 0 && channels % groups == 0, ShapeError, "GroupNorm: expected channels divisible by groups, found ",
              channels, " channels and ", groups, " groups");
    if (affine) {
      weight_ = &this->register_parameter("weight", Tensor<T>::ones({channels}));
      bias_ = &this->register_parameter("bias", Tensor<T>::zeros({channels}));
    }
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank(type_name().c_str(), x, 4);
    observe(x.size(2), x.size(3));
    return ops::group_norm(x, groups_, weight_ ? *weight_ : Tensor<T>(), bias_ ? *bias_ : Tensor<T>(),
                           static_cast<T>(eps_), window());
  }
  std::string type_name() const override { return "GroupNorm"; }
  std::string aggregation_kind() const override { return "group-norm"; }

 protected:
  index_t groups_;

 private:
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
