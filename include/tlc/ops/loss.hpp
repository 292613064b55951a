#pragma once
// Pixel losses, each a fused primitive returning a rank-0 tensor: l1, mse, Charbonnier and the
// NAFNet/HINet PSNR loss. Sums are accumulated in double in fixed chunks, so results
// do not depend on the thread count.
#include <cmath>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/loss.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/kernels/loss.hpp"

// The CPU functions of cuda/loss.cu's entry points (same arguments; `kind` a kernels::PointLoss).
namespace tlc::cpu {

// partial[n * chunks + c]: the sum of the loss term over chunk c of image n (images of `len`).
template <class T>
void pixel_loss_partials(int kind, T eps, const T* pp, const T* pt, index_t images, index_t len, index_t chunk,
                         double* partial) {
  const kernels::PointLossTerm<T> term{static_cast<kernels::PointLoss>(kind), eps};
  const index_t chunks = (len + chunk - 1) / chunk;
  parallel_for(0, images * chunks, 1, [&](index_t lo, index_t hi) {
    for (index_t t = lo; t < hi; ++t) {
      const index_t n = t / chunks, b = n * len + (t % chunks) * chunk, e = std::min(b + chunk, (n + 1) * len);
      double acc = 0.0;
      for (index_t i = b; i < e; ++i) acc += term.value(pp[i] - pt[i]);
      partial[static_cast<size_t>(t)] = acc;
    }
  });
}

// grad[i] = coef[i / len] * term'(pred[i] - target[i]) for i in [0, n).
template <class T>
void pixel_loss_grad(int kind, T eps, const T* pp, const T* pt, const T* coef, index_t len, T* pg, index_t n) {
  const kernels::PointLossTerm<T> term{static_cast<kernels::PointLoss>(kind), eps};
  parallel_for(0, n, ops::detail::kElementwiseGrain, [&](index_t lo, index_t hi) {
    while (lo < hi) {  // one image at a time: its coefficient is constant
      const index_t img = lo / len, e = std::min(hi, (img + 1) * len);
      const T c = coef[img];
      for (index_t i = lo; i < e; ++i) pg[i] = c * term.grad(pp[i] - pt[i]);
      lo = e;
    }
  });
}

}  // namespace tlc::cpu

namespace tlc::ops {

namespace detail {

inline constexpr index_t kLossChunk = 1 << 14;

// Reduces term(pred - target) to the mean over all elements or, when `psnr`, to the PSNR loss
// over N images of M elements each. The gradient of either is coef[image] * term'(pred - target).
template <class T>
Tensor<T> pixel_loss(const char* op, const Tensor<T>& pred, const Tensor<T>& target, kernels::PointLoss kind, T eps,
                     bool psnr) {
  check_same_shape(op, pred, target);
  if (psnr) check_rank(op, pred, 4, "prediction");
  TLC_CHECK(pred.numel() > 0, ShapeError, op, ": expected non-empty tensors, found shape ", pred.shape().str());
  const index_t N = psnr ? pred.size(0) : 1, M = pred.numel() / N;
  const kernels::PointLossTerm<T> term{kind, eps};

  const index_t chunks = (M + kLossChunk - 1) / kLossChunk;
  std::vector<double> partial(static_cast<size_t>(N * chunks));
  TLC_DISPATCH(T, op, pred.device(), pixel_loss_partials, static_cast<int>(kind), eps, pred.data(), target.data(), N,
               M, kLossChunk, partial.data());

  // coef[n] = dL/d term for the elements of image n.
  std::vector<double> coef(static_cast<size_t>(N));
  double loss = 0.0;
  for (index_t n = 0; n < N; ++n) {
    double s = 0.0;
    for (index_t c = 0; c < chunks; ++c) s += partial[static_cast<size_t>(n * chunks + c)];
    if (psnr) {  // (10 / ln 10) * mean_n ln(mse_n + 1e-8)
      const double k = 10.0 / std::log(10.0), mse = s / static_cast<double>(M) + 1e-8;
      loss += k * std::log(mse) / static_cast<double>(N);
      coef[static_cast<size_t>(n)] = k / (static_cast<double>(N) * static_cast<double>(M) * mse);
    } else {
      loss += s / static_cast<double>(M);
      coef[static_cast<size_t>(n)] = 1.0 / static_cast<double>(M);
    }
  }

  Tensor<T> out = Tensor<T>::scalar(static_cast<T>(loss), pred.device());
  return autograd::record<T>(
      out, op, {pred, target},
      [op, pred, target, term, coef, N, M](const Tensor<T>& g, const std::vector<bool>& needs) {
        const double scale = static_cast<double>(g.item());  // item() copies from the device
        Tensor<T> gp = Tensor<T>::empty(pred.shape(), pred.device());
        std::vector<T> c(static_cast<size_t>(N));  // per image, in the memory of the device
        for (size_t n = 0; n < c.size(); ++n) c[n] = static_cast<T>(coef[n] * scale);
        const Tensor<T> cd = Tensor<T>::from_vector({N}, c).to(pred.device());
        TLC_DISPATCH(T, op, pred.device(), pixel_loss_grad, static_cast<int>(term.kind), term.eps, pred.data(),
                     target.data(), cd.data(), M, gp.data(), pred.numel());
        return std::vector<Tensor<T>>{needs[0] ? gp : Tensor<T>(), needs[1] ? neg(gp) : Tensor<T>()};
      });
}

}  // namespace detail

// mean |pred - target|
template <class T>
Tensor<T> l1_loss(const Tensor<T>& pred, const Tensor<T>& target) {
  return detail::pixel_loss("l1_loss", pred, target, kernels::PointLoss::Abs, T(0), false);
}

// mean (pred - target)^2
template <class T>
Tensor<T> mse_loss(const Tensor<T>& pred, const Tensor<T>& target) {
  return detail::pixel_loss("mse_loss", pred, target, kernels::PointLoss::Square, T(0), false);
}

// mean sqrt((pred - target)^2 + eps^2)
template <class T>
Tensor<T> charbonnier_loss(const Tensor<T>& pred, const Tensor<T>& target, T eps = T(1e-3)) {
  return detail::pixel_loss("charbonnier_loss", pred, target, kernels::PointLoss::Charbonnier, eps, false);
}

// NAFNet/HINet PSNRLoss on [N, C, H, W]: (10 / ln 10) * mean_n ln(mean_{C,H,W} (pred - target)^2 + 1e-8),
// i.e. minus the PSNR (data range 1) averaged over images — per-image log-MSE, not the log of the
// batch MSE, as in the official NAFNet/HINet code.
template <class T>
Tensor<T> psnr_loss(const Tensor<T>& pred, const Tensor<T>& target) {
  return detail::pixel_loss("psnr_loss", pred, target, kernels::PointLoss::Square, T(0), true);
}

}  // namespace tlc::ops
