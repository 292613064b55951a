#pragma once
// conv2d and conv_transpose2d with PyTorch semantics (cross-correlation, zero padding, NCHW).
// The transposed convolution's forward is conv2d's gradient w.r.t. its input and its backward
// uses conv2d's forward and filter gradient, so both ops share the three primitives below
// (CPU: ops/cpu/conv_cpu.hpp; CUDA: cuDNN through ops/cuda/conv.hpp).
#include "tlc/ops/common.hpp"
#include "tlc/ops/mac_counter.hpp"
#include "tlc/ops/cpu/conv_cpu.hpp"
#include "tlc/ops/cuda/conv.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/elementwise.hpp"

namespace tlc::ops {

struct Conv2dParams {
  index_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
};

namespace detail {

template <class T>
void check_conv_args(const char* op, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, index_t stride_h,
                     index_t stride_w, index_t pad_h, index_t pad_w, index_t groups) {
  check_rank(op, x, 4, "input [N,C,H,W]");
  check_rank(op, w, 4, "weight");
  check_same_device(op, x, w);
  if (bias.defined()) {
    check_same_device(op, x, bias);
    check_rank(op, bias, 1, "bias");
  }
  TLC_CHECK(stride_h >= 1 && stride_w >= 1, ShapeError, op, ": expected strides >= 1, found ", stride_h, "x", stride_w);
  TLC_CHECK(pad_h >= 0 && pad_w >= 0, ShapeError, op, ": expected paddings >= 0, found ", pad_h, "x", pad_w);
  TLC_CHECK(groups >= 1, ShapeError, op, ": expected groups >= 1, found ", groups);
  TLC_CHECK(w.size(2) >= 1 && w.size(3) >= 1, ShapeError, op, ": expected a non-empty kernel, found weight ",
            w.shape().str());
}

// Geometry of conv2d(x, w) for an input of shape xs [N, Cin, H, W] (arguments checked): weight [Cout,
// Cin/groups, kh, kw].
template <class T>
ConvGeom conv2d_geometry_of(const Shape& xs, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p) {
  const char* op = "conv2d";
  const index_t cin = xs[1], cout = w.size(0);
  TLC_CHECK(cin % p.groups == 0 && cout % p.groups == 0, ShapeError, op,
            ": expected groups dividing the channels, found ", "groups ", p.groups, " for ", cin, " input and ", cout,
            " output channels");
  TLC_CHECK(w.size(1) * p.groups == cin, ShapeError, op,
            ": expected input with weight.size(1) * groups = ", w.size(1) * p.groups, " channels (weight ",
            w.shape().str(), ", groups ", p.groups, "), found input ", xs.str());
  if (bias.defined())
    TLC_CHECK(bias.size(0) == cout, ShapeError, op, ": expected bias of shape [", cout, "], found ",
              bias.shape().str());
  const index_t oh = (xs[2] + 2 * p.pad_h - w.size(2)) / p.stride_h + 1;
  const index_t ow = (xs[3] + 2 * p.pad_w - w.size(3)) / p.stride_w + 1;
  TLC_CHECK(xs[2] + 2 * p.pad_h >= w.size(2) && xs[3] + 2 * p.pad_w >= w.size(3), ShapeError, op,
            ": expected a kernel no larger than the padded input, found kernel ", w.size(2), "x", w.size(3),
            " for input ", xs.str(), " with padding ", p.pad_h, "x", p.pad_w);
  return ConvGeom{xs[0],      cin,        xs[2],   xs[3],   cout,     w.size(2), w.size(3),
                  p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.groups, oh,        ow};
}

template <class T>
ConvGeom conv2d_geometry(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p) {
  check_conv_args("conv2d", x, w, bias, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.groups);
  return conv2d_geometry_of(x.shape(), w, bias, p);
}

// Counts the multiply-adds of a convolution of this geometry (tlc info, the benchmarks' GMAC/s).
inline void count_conv_macs(const ConvGeom& g) {
  MacCounter::add(static_cast<double>(g.n * g.cout * g.out_h * g.out_w * g.k_g()));
}

// y = conv(x, w) + bias: [n, cout, out_h, out_w].
template <class T>
Tensor<T> conv_forward(const char* op, const ConvGeom& g, const Tensor<T>& x, const Tensor<T>& w,
                       const Tensor<T>& bias) {
  Tensor<T> y = Tensor<T>::empty({g.n, g.cout, g.out_h, g.out_w}, x.device());
  const T* pb = bias.defined() ? bias.data() : nullptr;
  TLC_DISPATCH(T, op, x.device(), conv2d_forward, g, x.data(), w.data(), pb, y.data());
  return y;
}

// Gradient w.r.t. the conv input: [n, cin, h, w].
template <class T>
Tensor<T> conv_backward_data(const char* op, const ConvGeom& g, const Tensor<T>& w, const Tensor<T>& gy) {
  Tensor<T> gx = Tensor<T>::empty({g.n, g.cin, g.h, g.w}, gy.device());
  TLC_DISPATCH(T, op, gy.device(), conv2d_backward_data, g, w.data(), gy.data(), gx.data());
  return gx;
}

// Gradient w.r.t. the conv weight: [cout, cin/groups, kh, kw].
template <class T>
Tensor<T> conv_backward_filter(const char* op, const ConvGeom& g, const Tensor<T>& x, const Tensor<T>& gy) {
  Tensor<T> gw = Tensor<T>::empty({g.cout, g.cin_g(), g.kh, g.kw}, x.device());
  TLC_DISPATCH(T, op, x.device(), conv2d_backward_filter, g, x.data(), gy.data(), gw.data());
  return gw;
}

// Gradient w.r.t. a per-channel bias of the 4-d tensor gy: [C].
template <class T>
Tensor<T> channel_bias_grad(const char* op, const Tensor<T>& gy) {
  const index_t n = gy.size(0), c = gy.size(1), h = gy.size(2), w = gy.size(3);
  Tensor<T> gb = Tensor<T>::empty({c}, gy.device());
  const ConvGeom g{n, c, h, w, c, 1, 1, 1, 1, 0, 0, 1, h, w};  // a 1x1 convolution's output
  TLC_DISPATCH(T, op, gy.device(), conv2d_backward_bias, g, gy.data(), gb.data());
  return gb;
}

}  // namespace detail

// PyTorch's conv2d: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], bias [Cout] or an undefined
// tensor for none. Output [N, Cout, (H + 2 pad_h - kh) / stride_h + 1, (W + 2 pad_w - kw) / stride_w + 1].
template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>(),
                 const Conv2dParams& p = {}) {
  const ConvGeom g = detail::conv2d_geometry(x, w, bias, p);
  detail::count_conv_macs(g);
  Tensor<T> y = detail::conv_forward("conv2d", g, x, w, bias);
  return autograd::record<T>(y, "conv2d", {x, w, bias}, [g, x, w](const Tensor<T>& gy, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? detail::conv_backward_data("conv2d", g, w, gy) : Tensor<T>(),
                                  need[1] ? detail::conv_backward_filter("conv2d", g, x, gy) : Tensor<T>(),
                                  need[2] ? detail::channel_bias_grad("conv2d", gy) : Tensor<T>()};
  });
}

// PyTorch's conv_transpose2d (no output_padding, dilation 1): x [N, Cin, H, W],
// w [Cin, Cout/groups, kh, kw], bias [Cout] or undefined; output [N, Cout, (H-1)s - 2p + kh, (W-1)s - 2p + kw].
// It is the adjoint of conv2d(y, w) with that conv's output = x, computed by the same code.
template <class T>
Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias = Tensor<T>(),
                           index_t stride = 1, index_t padding = 0, index_t groups = 1) {
  const char* op = "conv_transpose2d";
  detail::check_conv_args(op, x, w, bias, stride, stride, padding, padding, groups);
  const index_t cin = x.size(1), cout = w.size(1) * groups;
  TLC_CHECK(cin % groups == 0, ShapeError, op, ": expected groups dividing the input channels, found groups ", groups,
            " for ", cin, " input channels");
  TLC_CHECK(w.size(0) == cin, ShapeError, op, ": expected input with weight.size(0) = ", w.size(0),
            " channels (weight ", w.shape().str(), "), found input ", x.shape().str());
  if (bias.defined())
    TLC_CHECK(bias.size(0) == cout, ShapeError, op, ": expected bias of shape [", cout, "], found ",
              bias.shape().str());
  const index_t oh = (x.size(2) - 1) * stride - 2 * padding + w.size(2);
  const index_t ow = (x.size(3) - 1) * stride - 2 * padding + w.size(3);
  TLC_CHECK(oh >= 1 && ow >= 1, ShapeError, op, ": expected a positive output size, found ", oh, "x", ow, " for input ",
            x.shape().str(), ", kernel ", w.size(2), "x", w.size(3), ", stride ", stride, ", padding ", padding);
  // The conv whose input gradient this is: input = our output, output = our input.
  const ConvGeom g{x.size(0), cout,   oh,      ow,      cin,    w.size(2), w.size(3),
                        stride,    stride, padding, padding, groups, x.size(2), x.size(3)};
  detail::count_conv_macs(g);
  Tensor<T> y = detail::conv_backward_data(op, g, w, x);
  if (bias.defined()) {
    if (y.is_cuda())
      y = detail::binary_forward(op, kernels::Binary::Add, y, bias.view_as_shape({1, cout, 1, 1}));
    else
      cpu::add_channel_bias(g.n, cout, oh * ow, bias.data(), y.data());
  }
  return autograd::record<T>(y, op, {x, w, bias}, [g, x, w, op](const Tensor<T>& gy, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? detail::conv_forward(op, g, gy, w, Tensor<T>()) : Tensor<T>(),
                                  need[1] ? detail::conv_backward_filter(op, g, gy, x) : Tensor<T>(),
                                  need[2] ? detail::channel_bias_grad(op, gy) : Tensor<T>()};
  });
}

}  // namespace tlc::ops
