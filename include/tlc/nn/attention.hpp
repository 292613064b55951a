#pragma once
// Channel-attention modules built on the pools of pool.hpp, laid out like their PyTorch
// originals so parameter names match (the pool is child 0 of each Sequential). Under TLC the
// pooled map is per pixel, so the attention becomes a per-pixel map. Everything after
// the pool is point-wise, so it runs on the pool's valid window map and is expanded to H x W once
// at the end (as MPRNet's CALayer would compute it): the same values as per pixel, at the cost of the
// smaller map. With a covering window nothing changes: [N,C,1,1], broadcast by the caller.
#include "tlc/nn/activation.hpp"
#include "tlc/nn/conv.hpp"
#include "tlc/nn/pool.hpp"
#include "tlc/ops/layout.hpp"
#include "tlc/ops/shape_ops.hpp"

namespace tlc::nn {

// A Sequential whose child 0 is an AvgPool and whose other children are per-pixel layers.
template <class T>
class PooledPointwise : public Sequential<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) override { return pool_->expand(attention_valid(x), x.size(2), x.size(3)); }
  // x * forward(x), what every caller computes, without the full-size attention map under TLC.
  Tensor<T> scale(const Tensor<T>& x) { return apply(x, attention_valid(x)); }
  // The attention on the pool's valid window map: [N,C,1,1] when global (one weight per channel,
  // which the fused block inference folds into the next 1x1 conv), and x * it brought to x's size.
  Tensor<T> attention_valid(const Tensor<T>& x) {
    ops::detail::check_rank(this->type_name().c_str(), x, 4);
    Tensor<T> y = pool_->forward_valid(x);
    for (size_t i = 1; i < this->size(); ++i) y = (*this)[i].forward(y);
    return y;
  }
  Tensor<T> apply(const Tensor<T>& x, const Tensor<T>& attention) const { return pool_->scale(x, attention); }

 protected:
  PooledPointwise() { pool_ = this->add(std::make_shared<AvgPool<T>>()); }

 private:
  std::shared_ptr<AvgPool<T>> pool_;
};

// Squeeze-and-excitation: x * sigmoid(W2 relu(W1 pool(x))). Names: se.1.*, se.3.* when
// registered as "se" (Baseline's layout: pool, conv, ReLU, conv, sigmoid).
template <class T = float>
class SE : public PooledPointwise<T> {
 public:
  SE(index_t channels, index_t hidden) {
    this->add(std::make_shared<Conv2d<T>>(channels, hidden, 1));
    this->add(std::make_shared<ReLU<T>>());
    this->add(std::make_shared<Conv2d<T>>(hidden, channels, 1));
    this->add(std::make_shared<Sigmoid<T>>());
  }
  // forward is the attention map itself (the originals' caller multiplies, x * se(x)); scale(x)
  // is that product.
  std::string type_name() const override { return "SE"; }
};

// NAFNet's simplified channel attention: W pool(x) + b (no nonlinearity). Names: sca.1.*.
template <class T = float>
class SCA : public PooledPointwise<T> {
 public:
  explicit SCA(index_t channels) { this->add(std::make_shared<Conv2d<T>>(channels, channels, 1)); }
  std::string type_name() const override { return "SCA"; }
};

// Gather-Excite θ⁻ (parameter-free): x * sigmoid(pool(x)).
template <class T = float>
class GE : public Module<T> {
 public:
  GE() { pool_ = this->register_module("pool", std::make_shared<AvgPool<T>>()); }
  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank("GE", x, 4);
    return pool_->scale(x, ops::sigmoid(pool_->forward_valid(x)));
  }
  std::string type_name() const override { return "GE"; }

 private:
  std::shared_ptr<AvgPool<T>> pool_;
};

// CBAM: channel attention sigmoid(MLP(avg(x)) + MLP(max(x))) with a shared MLP, then spatial
// attention sigmoid(conv7x7([mean_c, max_c])). Only the channel pools aggregate over space; the
// spatial branch is already local and unchanged by TLC. Names: avg_pool, max_pool (no tensors),
// mlp.0.*, mlp.2.*, spatial.weight/bias.
template <class T = float>
class CBAM : public Module<T> {
 public:
  CBAM(index_t channels, index_t hidden) {
    avg_ = this->register_module("avg_pool", std::make_shared<AvgPool<T>>());
    max_ = this->register_module("max_pool", std::make_shared<MaxPool<T>>());
    mlp_ = this->register_module("mlp", std::make_shared<Sequential<T>>());
    mlp_->add(std::make_shared<Conv2d<T>>(channels, hidden, 1));
    mlp_->add(std::make_shared<ReLU<T>>());
    mlp_->add(std::make_shared<Conv2d<T>>(hidden, channels, 1));
    spatial_ = this->register_module("spatial", std::make_shared<Conv2d<T>>(2, 1, 7, 1, 3));
  }
  Tensor<T> forward(const Tensor<T>& x) override {
    ops::detail::check_rank("CBAM", x, 4);
    const index_t h = x.size(2), w = x.size(3);
    Tensor<T> avg = avg_->forward_valid(x), mx = max_->forward_valid(x);
    // Equal valid shapes mean equal window extents (hence one expansion); windows set apart by
    // hand are expanded before the MLP instead.
    const bool shared = avg.shape() == mx.shape();
    if (!shared) avg = avg_->expand(avg, h, w), mx = max_->expand(mx, h, w);
    const Tensor<T> ca = ops::sigmoid(ops::add(mlp_->forward(avg), mlp_->forward(mx)));
    Tensor<T> y = shared ? avg_->scale(x, ca) : ops::mul(x, ca);
    const index_t c = y.size(1), n = y.size(0);
    Tensor<T> mean_c = ops::mean(y, {1}, true);
    // Max over channels: the one valid window spanning all rows of the [N, 1, C, H*W] view.
    Tensor<T> max_c = ops::reshape(ops::local_max_valid(ops::reshape(y, {n, 1, c, h * w}), c, 1), {n, 1, h, w});
    Tensor<T> sa = ops::sigmoid(spatial_->forward(ops::concat(std::vector<Tensor<T>>{mean_c, max_c}, 1)));
    return ops::mul(y, sa);
  }
  std::string type_name() const override { return "CBAM"; }

 private:
  std::shared_ptr<AvgPool<T>> avg_;
  std::shared_ptr<MaxPool<T>> max_;
  std::shared_ptr<Sequential<T>> mlp_;
  std::shared_ptr<Conv2d<T>> spatial_;
};

}  // namespace tlc::nn
