#pragma once
// LayerNorm2d: per-pixel normalisation over channels (NAFNet LayerNorm2d, Restormer LayerNorm
// WithBias / BiasFree). A fused primitive with its own backward.
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/layer_norm.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/layer_norm.hpp"

namespace tlc::ops {

// WithBias: (x - mean) / sqrt(var + eps) * w + b.  BiasFree: x / sqrt(var + eps) * w, no bias.
enum class LayerNormKind { WithBias, BiasFree };

namespace detail {

// Pixels per CPU call of the LayerNorm2d kernels: long enough to vectorise, short enough that
// the per-pixel accumulators stay in registers.
inline constexpr int kLayerNormSpan = 32;

// Runs fn(n, p0, len) over spans of at most kLayerNormSpan pixels that never cross an image.
template <class F>
void for_each_pixel_span(index_t N, index_t C, index_t HW, const F& fn) {
  const index_t spans = (HW + kLayerNormSpan - 1) / kLayerNormSpan;
  const index_t grain = std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(C * kLayerNormSpan, 1));
  cpu::parallel_for_vectorised(0, N * spans, grain, [&](index_t lo, index_t hi) {
    for (index_t t = lo; t < hi; ++t) {
      const index_t n = t / spans, p0 = (t % spans) * kLayerNormSpan;
      fn(n, p0, std::min<index_t>(kLayerNormSpan, HW - p0));
    }
  });
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/layer_norm.cu's entry points (same arguments): x [N, C, HW], b null
// for BiasFree (centre false); the backward computes each of gx, gw, gb that is not null.
namespace tlc::cpu {

template <class T>
void layer_norm2d_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, index_t N, index_t C, index_t HW,
                          double eps, bool centre) {
  using Fwd = kernels::LayerNorm2dForward<T, ops::detail::kLayerNormSpan>;
  ops::detail::for_each_pixel_span(N, C, HW, Fwd{x, w, b, y, mean, rstd, C, HW, HW, HW, eps, centre});
}

template <class T>
void layer_norm2d_backward(const T* x, const T* w, const T* gy, const T* mean, const T* rstd, T* gx, T* gw, T* gb,
                           index_t N, index_t C, index_t HW, bool centre) {
  if (gx) {
    using Bwd = kernels::LayerNorm2dBackward<T, ops::detail::kLayerNormSpan>;
    ops::detail::for_each_pixel_span(N, C, HW, Bwd{x, w, gy, mean, rstd, gx, C, HW, centre});
  }
  if (gw || gb) {
    std::vector<T> gw_scratch(gw ? 0 : static_cast<size_t>(C));  // the kernel always writes gw
    const kernels::LayerNorm2dParamGrad<T> pg{x, gy, mean, rstd, gw ? gw : gw_scratch.data(), gb, N, C, HW, centre};
    cpu::parallel_for_vectorised(0, C, 1, [&](index_t lo, index_t hi) {
      for (index_t c = lo; c < hi; ++c) pg(c);
    });
  }
}

}  // namespace tlc::cpu

namespace tlc::ops {

// x: [N, C, H, W]; weight: [C]; bias: [C] for WithBias, undefined for BiasFree.
// NAFNet uses eps 1e-6, Restormer 1e-5.
template <class T>
Tensor<T> layer_norm2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, double eps = 1e-6,
                       LayerNormKind kind = LayerNormKind::WithBias) {
  const char* op = "layer_norm2d";
  detail::check_rank(op, x, 4);
  const index_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  detail::check_rank(op, weight, 1, "weight");
  detail::check_same_device(op, x, weight);
  TLC_CHECK(weight.size(0) == C, ShapeError, op, ": expected a weight of shape [", C, "] for input ", x.shape().str(),
            ", found ", weight.shape().str());
  const bool centre = kind == LayerNormKind::WithBias;
  if (centre) {
    detail::check_rank(op, bias, 1, "bias");
    detail::check_same_device(op, x, bias);
    TLC_CHECK(bias.size(0) == C, ShapeError, op, ": expected a bias of shape [", C, "] for input ", x.shape().str(),
              ", found ", bias.shape().str());
  } else {
    TLC_CHECK(!bias.defined(), ShapeError, op, ": expected no bias for BiasFree, found one of shape ",
              bias.shape().str());
  }
  TLC_CHECK(eps >= 0, Error, op, ": expected eps >= 0, found ", eps);

  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device());
  Tensor<T> mean = Tensor<T>::empty({N, HW}, x.device()), rstd = Tensor<T>::empty({N, HW}, x.device());
  TLC_DISPATCH(T, op, x.device(), layer_norm2d_forward, x.data(), weight.data(), centre ? bias.data() : nullptr,
               y.data(), mean.data(), rstd.data(), N, C, HW, eps, centre);

  return autograd::record<T>(
      y, op, {x, weight, bias}, [x, weight, mean, rstd, centre](const Tensor<T>& g, const std::vector<bool>& needs) {
        const index_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
        std::vector<Tensor<T>> grads(3);  // each requested gradient in one call
        for (int k = 0; k < 3; ++k)
          if (needs[k] && (k < 2 || centre)) grads[k] = Tensor<T>::empty(k == 0 ? x.shape() : Shape{C}, x.device());
        using detail::data_or_null;
        TLC_DISPATCH(T, "layer_norm2d", x.device(), layer_norm2d_backward, x.data(), weight.data(), g.data(),
                     mean.data(), rstd.data(), data_or_null(grads[0]), data_or_null(grads[1]), data_or_null(grads[2]),
                     N, C, HW, centre);
        return grads;
      });
}

}  // namespace tlc::ops
