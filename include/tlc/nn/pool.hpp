#pragma once
// Spatial pooling that TLC converts: AvgPool (AdaptiveAvgPool2d(1) of the originals) and
// MaxPool. Global: [N,C,1,1]. Local: a stride-1 window mean/max per pixel, [N,C,H,W] (the TLC
// window rule of ops/local.hpp); when the window covers the map the result is the global one.
#include "tlc/nn/aggregating.hpp"
#include "tlc/nn/module.hpp"
#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/local_scale.hpp"
#include "tlc/ops/reduce.hpp"

namespace tlc::nn {

// The window rule shared by both pools. Layers applied per pixel after a local pool commute with
// its final gather, so callers with only such layers (SE, SCA, GE, CBAM's channel MLP) run
// forward_valid, apply them on the smaller valid map and call expand once.
template <class T>
class WindowPool : public Module<T>, public local::Aggregating {
 public:
  Tensor<T> forward(const Tensor<T>& x) override {
    return is_local(x) ? local_full(x, window().kh, window().kw) : global(x);
  }
  // Global: [N,C,1,1] as forward. Local: the [N,C,H-k1+1,W-k2+1] map of window results.
  Tensor<T> forward_valid(const Tensor<T>& x) {
    return is_local(x) ? local_valid(x, window().kh, window().kw) : global(x);
  }
  // A per-pixel function of forward_valid's result on an h x w input, brought to forward's shape.
  Tensor<T> expand(const Tensor<T>& y, index_t h, index_t w) const {
    return window().covers(h, w) ? y : ops::local_expand(y, h, w, window().kh, window().kw);
  }
  // x * expand(y, H, W) of x's size, the expansion fused into the product when local.
  Tensor<T> scale(const Tensor<T>& x, const Tensor<T>& y) const {
    return window().covers(x.size(2), x.size(3)) ? ops::mul(x, y)
                                                 : ops::local_expand_mul(x, y, window().kh, window().kw);
  }

 protected:
  virtual Tensor<T> global(const Tensor<T>& x) const = 0;
  virtual Tensor<T> local_full(const Tensor<T>& x, index_t kh, index_t kw) const = 0;
  virtual Tensor<T> local_valid(const Tensor<T>& x, index_t kh, index_t kw) const = 0;

 private:
  bool is_local(const Tensor<T>& x) {
    ops::detail::check_rank(this->type_name().c_str(), x, 4);
    observe(x.size(2), x.size(3));
    return !window().covers(x.size(2), x.size(3));
  }
};

template <class T = float>
class AvgPool : public WindowPool<T> {
 public:
  std::string type_name() const override { return "AvgPool"; }
  std::string aggregation_kind() const override { return "avg-pool"; }

 protected:
  Tensor<T> global(const Tensor<T>& x) const override { return ops::mean(x, {2, 3}, /*keepdim=*/true); }
  Tensor<T> local_full(const Tensor<T>& x, index_t kh, index_t kw) const override { return ops::local_mean(x, kh, kw); }
  Tensor<T> local_valid(const Tensor<T>& x, index_t kh, index_t kw) const override {
    return ops::local_mean_valid(x, kh, kw);
  }
};

template <class T = float>
class MaxPool : public WindowPool<T> {
 public:
  std::string type_name() const override { return "MaxPool"; }
  std::string aggregation_kind() const override { return "max-pool"; }

 protected:
  // A window covering the map has a single valid position: the global max.
  Tensor<T> global(const Tensor<T>& x) const override { return ops::local_max_valid(x, x.size(2), x.size(3)); }
  Tensor<T> local_full(const Tensor<T>& x, index_t kh, index_t kw) const override { return ops::local_max(x, kh, kw); }
  Tensor<T> local_valid(const Tensor<T>& x, index_t kh, index_t kw) const override {
    return ops::local_max_valid(x, kh, kw);
  }
};

}  // namespace tlc::nn
