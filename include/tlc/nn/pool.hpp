#pragma once
// Spatial pooling that TLC converts: AvgPool (AdaptiveAvgPool2d(1) of the originals) and
// MaxPool. Global: [N,C,1,1]. Local: a stride-1 window mean/max per pixel, [N,C,H,W] (spec 6.1,
// 6.6); when the window covers the map the result is the global one.
#include "tlc/local/aggregation.hpp"
#include "tlc/nn/module.hpp"
#include "tlc/ops/layout.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/reduce.hpp"

namespace tlc::nn {

template <class T = float>
class AvgPool : public Module<T>, public local::Aggregating {
 public:
  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank("AvgPool", x, 4);
    observe(x.size(2), x.size(3));
    if (window().covers(x.size(2), x.size(3))) return ops::mean(x, {2, 3}, /*keepdim=*/true);
    return ops::local_mean(x, window().kh, window().kw);
  }
  std::string type_name() const override { return "AvgPool"; }
  std::string aggregation_kind() const override { return "avg-pool"; }
};

template <class T = float>
class MaxPool : public Module<T>, public local::Aggregating {
 public:
  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank("MaxPool", x, 4);
    const index_t h = x.size(2), w = x.size(3);
    observe(h, w);
    if (window().covers(h, w)) return ops::crop(ops::local_max(x, h, w), 0, 0, 1, 1);
    return ops::local_max(x, window().kh, window().kw);
  }
  std::string type_name() const override { return "MaxPool"; }
  std::string aggregation_kind() const override { return "max-pool"; }
};

}  // namespace tlc::nn
