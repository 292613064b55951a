#pragma once
// Restormer's multi-Dconv-head transposed attention (MDTA, Zamir et al., CVPR 2022) and its TLC form
// (Chu et al., ECCV 2022).
// Global: channel-by-channel attention over the whole map. Local: qkv is computed on the full
// map, then split into overlapping k1 x k2 windows (adaptive stride), attention runs per window,
// overlaps are averaged and project_out runs on the merged map. Names: temperature, qkv,
// qkv_dwconv, project_out.
#include "tlc/nn/aggregating.hpp"
#include "tlc/nn/conv.hpp"
#include "tlc/ops/layout.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/matmul.hpp"
#include "tlc/ops/shape_ops.hpp"
#include "tlc/ops/softmax.hpp"
#include "tlc/ops/windows.hpp"

namespace tlc::nn {

template <class T = float>
class MDTA : public Module<T>, public local::Aggregating {
 public:
  MDTA(index_t dim, index_t heads, bool bias) : heads_(heads) {
    TLC_CHECK(heads > 0 && dim % heads == 0, ShapeError, "MDTA: expected dim divisible by heads, found dim ", dim,
              " and ", heads, " heads");
    temperature_ = &this->register_parameter("temperature", Tensor<T>::ones({heads, 1, 1}));
    qkv_ = this->register_module("qkv", std::make_shared<Conv2d<T>>(dim, dim * 3, 1, 1, 0, bias));
    qkv_dw_ = this->register_module("qkv_dwconv", std::make_shared<Conv2d<T>>(dim * 3, dim * 3, 3, 1, 1, bias, dim * 3));
    project_out_ = this->register_module("project_out", std::make_shared<Conv2d<T>>(dim, dim, 1, 1, 0, bias));
  }

  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank("MDTA", x, 4);
    const index_t h = x.size(2), w = x.size(3);
    observe(h, w);
    const Tensor<T> qkv = qkv_dw_->forward(qkv_->forward(x));
    if (window().covers(h, w)) return project_out_->forward(attend(qkv));
    const index_t kh = std::min(window().kh, h), kw = std::min(window().kw, w);
    const Tensor<T> merged = ops::window_merge(attend(ops::window_partition(qkv, kh, kw)), x.size(0), h, w, kh, kw);
    return project_out_->forward(merged);
  }
  std::string type_name() const override { return "Attention"; }
  std::string aggregation_kind() const override { return "attention"; }

 private:
  // Transposed attention of every image (or window) in the batch: qkv [B, 3C, H, W] → [B, C, H, W].
  Tensor<T> attend(const Tensor<T>& qkv) const {
    const index_t b = qkv.size(0), c = qkv.size(1) / 3, h = qkv.size(2), w = qkv.size(3);
    const Shape heads_shape{b, heads_, c / heads_, h * w};
    auto part = [&](index_t i) { return ops::reshape(ops::slice(qkv, 1, i * c, (i + 1) * c), heads_shape); };
    const Tensor<T> q = ops::l2_normalize(part(0), -1), k = ops::l2_normalize(part(1), -1), v = part(2);
    const Tensor<T> attn = ops::softmax(ops::mul(ops::matmul(q, k, false, true), *temperature_));
    return ops::reshape(ops::matmul(attn, v), {b, c, h, w});
  }

  index_t heads_;
  Tensor<T>* temperature_;
  std::shared_ptr<Conv2d<T>> qkv_, qkv_dw_, project_out_;
};

}  // namespace tlc::nn
