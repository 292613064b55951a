#pragma once
// Single-source bodies of LayerNorm2d (per pixel, over channels) for an NCHW tensor. One call
// handles `len` <= Span consecutive pixels of one image with the channel loop outside and the
// pixel loop inside: the CPU runs spans of many pixels (contiguous, vectorised inner loops), a
// CUDA runner spans of one pixel per thread. Statistics are two-pass (mean, then centred
// variance) and accumulated in double.
#include <cmath>

#include "tlc/core/config.hpp"

namespace tlc::kernels {

// y = xhat * w + b, with xhat = (x - mean) * rstd when `centre` (WithBias) and xhat = x * rstd
// otherwise (Restormer BiasFree: the variance is still the centred one). rstd = 1/sqrt(var + eps),
// var biased. Saves mean and rstd per pixel ([N, H*W]) for the backward unless they are null
// (inference). x and y may be views with their own channel strides (x_ld, y_ld >= HW): the fused
// block inference normalises bands of rows into a buffer of its own.
template <class T, int Span>
struct LayerNorm2dForward {
  const T* x;
  const T* weight;
  const T* bias;  // null: no bias
  T* y;
  T* mean;  // null: not saved
  T* rstd;
  index_t C, HW, x_ld, y_ld;
  double eps;
  bool centre;

  TLC_HD void operator()(index_t n, index_t p0, index_t len) const {
    if (len == Span) span<Span>(n, p0, len);
    else span<0>(n, p0, len);
  }

  // Fixed > 0: a compile-time span length, so the accumulators can live in registers.
  template <int Fixed>
  TLC_HD void span(index_t n, index_t p0, index_t len_rt) const {
    const index_t len = Fixed > 0 ? Fixed : len_rt;
    const T* xs = x + n * C * x_ld + p0;
    T* ys = y + n * C * y_ld + p0;
    double mu[Span], var[Span];
    for (index_t k = 0; k < len; ++k) mu[k] = var[k] = 0.0;
    for (index_t c = 0; c < C; ++c)
      for (index_t k = 0; k < len; ++k) mu[k] += static_cast<double>(xs[c * x_ld + k]);
    for (index_t k = 0; k < len; ++k) mu[k] /= static_cast<double>(C);
    for (index_t c = 0; c < C; ++c)
      for (index_t k = 0; k < len; ++k) {
        const double d = static_cast<double>(xs[c * x_ld + k]) - mu[k];
        var[k] += d * d;
      }
    T shift[Span], scale[Span];
    for (index_t k = 0; k < len; ++k) {
      scale[k] = static_cast<T>(1.0 / sqrt(var[k] / static_cast<double>(C) + eps));
      shift[k] = centre ? static_cast<T>(mu[k]) : T(0);
    }
    if (mean)
      for (index_t k = 0; k < len; ++k) {
        mean[n * HW + p0 + k] = static_cast<T>(mu[k]);
        rstd[n * HW + p0 + k] = scale[k];
      }
    for (index_t c = 0; c < C; ++c) {
      const T w = weight[c], b = bias ? bias[c] : T(0);
      for (index_t k = 0; k < len; ++k) ys[c * y_ld + k] = (xs[c * x_ld + k] - shift[k]) * scale[k] * w + b;
    }
  }
};

// Input gradient. With g = dy * w, zc = (x - mean) * rstd and xhat as in the forward:
//   gx = rstd * (g - mean_c(g) - zc * mean_c(g * xhat))   (WithBias: xhat = zc)
//   gx = rstd * (g - zc * mean_c(g * xhat))               (BiasFree: the mean only enters var)
template <class T, int Span>
struct LayerNorm2dBackward {
  const T* x;
  const T* weight;
  const T* gy;
  const T* mean;
  const T* rstd;
  T* gx;
  index_t C, HW;
  bool centre;

  TLC_HD void operator()(index_t n, index_t p0, index_t len) const {
    if (len == Span) span<Span>(n, p0, len);
    else span<0>(n, p0, len);
  }

  template <int Fixed>
  TLC_HD void span(index_t n, index_t p0, index_t len_rt) const {
    const index_t len = Fixed > 0 ? Fixed : len_rt;
    const index_t off = n * C * HW + p0;
    const T *xs = x + off, *gs = gy + off;
    T* out = gx + off;
    T mu[Span], rs[Span], shift[Span];
    double sg[Span], sgx[Span];
    for (index_t k = 0; k < len; ++k) {
      mu[k] = mean[n * HW + p0 + k];
      rs[k] = rstd[n * HW + p0 + k];
      shift[k] = centre ? mu[k] : T(0);
      sg[k] = sgx[k] = 0.0;
    }
    for (index_t c = 0; c < C; ++c) {
      const T w = weight[c];
      for (index_t k = 0; k < len; ++k) {
        const T g = gs[c * HW + k] * w;
        sg[k] += static_cast<double>(g);
        sgx[k] += static_cast<double>(g * (xs[c * HW + k] - shift[k]) * rs[k]);
      }
    }
    T mg[Span], mgx[Span];
    for (index_t k = 0; k < len; ++k) {
      mg[k] = centre ? static_cast<T>(sg[k] / static_cast<double>(C)) : T(0);
      mgx[k] = static_cast<T>(sgx[k] / static_cast<double>(C));
    }
    for (index_t c = 0; c < C; ++c) {
      const T w = weight[c];
      for (index_t k = 0; k < len; ++k) {
        const T zc = (xs[c * HW + k] - mu[k]) * rs[k];
        out[c * HW + k] = rs[k] * (gs[c * HW + k] * w - mg[k] - zc * mgx[k]);
      }
    }
  }
};

// Parameter gradients of one channel: gw[c] = sum_{n,p} dy * xhat, gb[c] = sum_{n,p} dy.
template <class T>
struct LayerNorm2dParamGrad {
  const T* x;
  const T* gy;
  const T* mean;
  const T* rstd;
  T* gw;
  T* gb;  // null: no bias
  index_t N, C, HW;
  bool centre;

  // Independent partial sums per lane: a single accumulator would serialise the loop (compilers
  // do not reorder floating-point sums) and leave it unvectorised.
  static constexpr int kLanes = 8;

  TLC_HD void operator()(index_t c) const {
    double aw[kLanes] = {}, ab[kLanes] = {};
    for (index_t n = 0; n < N; ++n) {
      const T *xs = x + (n * C + c) * HW, *gs = gy + (n * C + c) * HW;
      const T *mu = mean + n * HW, *rs = rstd + n * HW;
      for (index_t p0 = 0; p0 < HW; p0 += kLanes) {
        const index_t len = HW - p0 < kLanes ? HW - p0 : kLanes;
        for (index_t l = 0; l < len; ++l) {
          const index_t p = p0 + l;
          const T xhat = (centre ? xs[p] - mu[p] : xs[p]) * rs[p];
          aw[l] += static_cast<double>(gs[p] * xhat);
          ab[l] += static_cast<double>(gs[p]);
        }
      }
    }
    double sw = 0.0, sb = 0.0;
    for (int l = 0; l < kLanes; ++l) {
      sw += aw[l];
      sb += ab[l];
    }
    gw[c] = static_cast<T>(sw);
    if (gb) gb[c] = static_cast<T>(sb);
  }
};

}  // namespace tlc::kernels
