#pragma once
// Conv2d and ConvTranspose2d modules (parameters `weight`, optional `bias`, as in PyTorch).
#include "tlc/nn/init.hpp"
#include "tlc/ops/conv.hpp"
#include "tlc/ops/conv_fused.hpp"

namespace tlc::nn {

struct Conv2dOptions {
  index_t kernel = 3, stride = 1, padding = 0, groups = 1;
  bool bias = true;
};

template <class T = float>
class Conv2d : public Module<T> {
 public:
  Conv2d(index_t in, index_t out, Conv2dOptions o) : in_(in), out_(out), o_(o) {
    TLC_CHECK(in > 0 && out > 0 && o.groups > 0 && in % o.groups == 0 && out % o.groups == 0, ShapeError,
              "Conv2d: expected channel counts divisible by groups, found in ", in, ", out ", out, ", groups ", o.groups);
    const index_t fan_in = in / o.groups * o.kernel * o.kernel;
    weight_ = &this->register_parameter("weight", uniform_fan_in<T>({out, in / o.groups, o.kernel, o.kernel}, fan_in));
    if (o.bias) bias_ = &this->register_parameter("bias", uniform_fan_in<T>({out}, fan_in));
  }
  // Common shorthands: Conv2d(in, out, k, stride, padding, bias).
  Conv2d(index_t in, index_t out, index_t kernel, index_t stride = 1, index_t padding = 0, bool bias = true,
         index_t groups = 1)
      : Conv2d(in, out, Conv2dOptions{kernel, stride, padding, groups, bias}) {}

  Tensor<T> forward(const Tensor<T>& x) override { return ops::conv2d(x, *weight_, bias_or_none(), params()); }
  // forward(x.joined()), leaky_relu(forward(x), slope) and acc + forward(x), x two tensors stacked
  // along the channels (or one), read where they lie and in one pass where they can (ops/conv_fused.hpp).
  Tensor<T> forward(const ops::ChannelStack<T>& x) { return ops::conv2d(x, *weight_, bias_or_none(), params()); }
  Tensor<T> forward_leaky_relu(const ops::ChannelStack<T>& x, T slope) {
    return ops::conv2d_leaky_relu<T>(x, *weight_, bias_or_none(), params(), slope);
  }
  Tensor<T> forward_added_to(Tensor<T> acc, const ops::ChannelStack<T>& x) {
    return ops::conv2d_add<T>(std::move(acc), x, *weight_, bias_or_none(), params());
  }
  std::string type_name() const override { return "Conv2d"; }
  index_t in_channels() const { return in_; }
  index_t out_channels() const { return out_; }
  const Conv2dOptions& options() const { return o_; }
  const Tensor<T>& weight() const { return *weight_; }
  const Tensor<T>* bias() const { return bias_; }  // null without a bias

 private:
  Tensor<T> bias_or_none() const { return bias_ ? *bias_ : Tensor<T>(); }
  ops::Conv2dParams params() const { return {o_.stride, o_.stride, o_.padding, o_.padding, o_.groups}; }
  index_t in_, out_;
  Conv2dOptions o_;
  Tensor<T>* weight_ = nullptr;
  Tensor<T>* bias_ = nullptr;
};

// ConvTranspose2d(in, out, k, stride): weight [in, out, k, k]. PyTorch computes its default
// init fan-in from weight.size(1)*k*k = out*k*k.
template <class T = float>
class ConvTranspose2d : public Module<T> {
 public:
  ConvTranspose2d(index_t in, index_t out, index_t kernel, index_t stride, bool bias = true)
      : stride_(stride) {
    const index_t fan_in = out * kernel * kernel;
    weight_ = &this->register_parameter("weight", uniform_fan_in<T>({in, out, kernel, kernel}, fan_in));
    if (bias) bias_ = &this->register_parameter("bias", uniform_fan_in<T>({out}, fan_in));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    return ops::conv_transpose2d(x, *weight_, bias_ ? *bias_ : Tensor<T>(), stride_, 0);
  }
  std::string type_name() const override { return "ConvTranspose2d"; }

 private:
  index_t stride_;
  Tensor<T>* weight_ = nullptr;
  Tensor<T>* bias_ = nullptr;
};

}  // namespace tlc::nn
