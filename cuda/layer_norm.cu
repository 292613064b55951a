// LayerNorm2d (include/tlc/ops/layer_norm.hpp): the single-source bodies of kernels/layer_norm.hpp
// with one pixel per thread (neighbouring threads read neighbouring pixels of each channel), and
// the parameter gradients as deterministic per-channel sums over the batch and the pixels.
#include "segment_sum.cuh"
#include "tlc/ops/cuda/layer_norm.hpp"
#include "tlc/ops/kernels/layer_norm.hpp"

namespace tlc::cuda {

void layer_norm2d_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, index_t N,
                          index_t C, index_t HW, double eps, bool centre) {
  const kernels::LayerNorm2dForward<float, 1> f{x, w, b, y, mean, rstd, C, HW, HW, HW, eps, centre};
  detail::for_each("layer_norm2d_forward", N * HW, [=] __device__(index_t i) { f(i / HW, i % HW, 1); });
}

void layer_norm2d_backward(const float* x, const float* w, const float* gy, const float* mean, const float* rstd,
                           float* gx, float* gw, float* gb, index_t N, index_t C, index_t HW, bool centre) {
  if (gx) {
    const kernels::LayerNorm2dBackward<float, 1> f{x, w, gy, mean, rstd, gx, C, HW, centre};
    detail::for_each("layer_norm2d_backward", N * HW, [=] __device__(index_t i) { f(i / HW, i % HW, 1); });
  }
  // Channel c sums over its N * HW elements; element j of the segment is image j / HW, pixel j % HW.
  const index_t len = N * HW;
  if (gw)
    detail::segment_sums(
        "layer_norm2d_weight_grad", C, len,
        [=] __device__(index_t i) {
          const index_t c = i / len, n = (i % len) / HW, p = i % HW, e = (n * C + c) * HW + p;
          const float xhat = (centre ? x[e] - mean[n * HW + p] : x[e]) * rstd[n * HW + p];
          return static_cast<double>(gy[e] * xhat);
        },
        [=] __device__(index_t c, double s) { gw[c] = static_cast<float>(s); });
  if (gb)
    detail::segment_sums(
        "layer_norm2d_bias_grad", C, len,
        [=] __device__(index_t i) {
          const index_t c = i / len, n = (i % len) / HW, p = i % HW;
          return static_cast<double>(gy[(n * C + c) * HW + p]);
        },
        [=] __device__(index_t c, double s) { gb[c] = static_cast<float>(s); });
}

}  // namespace tlc::cuda
