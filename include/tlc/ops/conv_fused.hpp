#pragma once
// Inference forms of conv2d that save whole passes over a map: a convolution followed by a
// LeakyReLU, a convolution added to a tensor (a residual block's identity branch), and these and the
// plain convolution over the channels of two tensors stacked (a decoder's upsampled map and its skip
// connection).
// On the CPU, when no tape records, the GEMM applies the activation to each tile as it stores it
// (cpu::FusedActivation), forms the sum in the addend's own memory where nothing else holds it, and
// gathers its columns from both stacked tensors where they lie. Otherwise (a tape, CUDA, depthwise
// filters, a shared or broadcast addend, groups over a stack) they are concat, conv2d, leaky_relu and
// add. Either way the values are those ops': the same float operations in the same order (a sum over
// more than one GEMM depth block, K > 256, adds the addend before the later blocks instead of last).
#include <vector>

#include "tlc/ops/conv.hpp"
#include "tlc/ops/layout.hpp"

namespace tlc::ops {

// The input channels of a convolution: one tensor, or two stacked along the channels.
template <class T>
struct ChannelStack {
  Tensor<T> first, second;  // second undefined: first alone

  ChannelStack(const Tensor<T>& x) : first(x) {}  // NOLINT(google-explicit-constructor): a stack of one
  ChannelStack(const Tensor<T>& a, const Tensor<T>& b) : first(a), second(b) {}
  bool stacked() const { return second.defined(); }
  Tensor<T> joined() const { return stacked() ? concat(std::vector<Tensor<T>>{first, second}, 1) : first; }
};

namespace detail {

template <class U>
struct NotDeduced {
  using type = U;
};
template <class T>
using StackArg = typename NotDeduced<ChannelStack<T>>::type;  // a Tensor<T> argument converts

// The geometry of conv2d(x.joined(), w, bias, p), checked without joining.
template <class T>
ConvGeom stack_geometry(const ChannelStack<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p) {
  check_conv_args("conv2d", x.first, w, bias, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.groups);
  Shape s = x.first.shape();
  if (x.stacked()) {
    check_rank("conv2d", x.second, 4, "second stacked input [N,C,H,W]");
    check_same_device("conv2d", x.first, x.second);
    const Shape& b = x.second.shape();
    TLC_CHECK(b[0] == s[0] && b[2] == s[2] && b[3] == s[3], ShapeError,
              "conv2d: expected stacked inputs of one batch and size, found ", s.str(), " and ", b.str());
    s[1] += b[1];
  }
  return conv2d_geometry_of(s, w, bias, p);
}

// Whether the fused CPU forms may run: nothing to record, on the CPU, a GEMM convolution (of one
// group where the input is stacked).
template <class T>
bool conv_fuses(const ConvGeom& g, const ChannelStack<T>& x, std::initializer_list<const Tensor<T>*> others) {
  return !autograd::records(others) && !autograd::records({&x.first, &x.second}) && x.first.device().is_cpu() &&
         !g.depthwise() && (!x.stacked() || g.groups == 1);
}

// y = act(conv(x) + bias + beta * y) on the CPU.
template <class T>
void conv_forward_into(const ConvGeom& g, const ChannelStack<T>& x, const Tensor<T>& w, const Tensor<T>& bias, T* y,
                       T beta, cpu::FusedActivation act) {
  if (x.stacked())
    cpu::conv2d_forward_stacked(g, x.first.data(), x.first.size(1), x.second.data(), w.data(), data_or_null(bias), y,
                                beta, act);
  else
    cpu::conv2d_forward(g, x.first.data(), w.data(), data_or_null(bias), y, beta, act);
}

// act(conv2d(x, w, bias, p)) in one pass where the fused forms run, else `unfused()`.
template <class T, class Unfused>
Tensor<T> conv_forward_act(const ChannelStack<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p,
                           cpu::FusedActivation act, Unfused&& unfused) {
  const ConvGeom g = stack_geometry(x, w, bias, p);
  if (!conv_fuses(g, x, {&w, &bias})) return unfused();
  count_conv_macs(g);
  Tensor<T> y = Tensor<T>::empty({g.n, g.cout, g.out_h, g.out_w});
  conv_forward_into(g, x, w, bias, y.data(), T(0), act);
  return y;
}

}  // namespace detail

// conv2d(x.joined(), w, bias, p): the convolution of two tensors stacked along the channels, read where
// they lie (HINet's cat12 over its two stages' features, Restormer's channel reductions). It fuses
// nothing, so it takes no part in the fused-inference switch (models/fusion.hpp).
template <class T>
Tensor<T> conv2d(const ChannelStack<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p) {
  if (!x.stacked()) return conv2d(x.first, w, bias, p);
  return detail::conv_forward_act(x, w, bias, p, {}, [&] { return conv2d(x.joined(), w, bias, p); });
}

// leaky_relu(conv2d(x, w, bias, p), slope); x a tensor or a ChannelStack.
template <class T>
Tensor<T> conv2d_leaky_relu(const detail::StackArg<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                            const Conv2dParams& p, T slope) {
  return detail::conv_forward_act(x, w, bias, p, cpu::FusedActivation{true, static_cast<double>(slope)},
                                  [&] { return leaky_relu(conv2d(x.joined(), w, bias, p), slope); });
}

// acc + conv2d(x, w, bias, p); x a tensor or a ChannelStack. Hand acc over (std::move): its memory
// then holds the result.
template <class T>
Tensor<T> conv2d_add(Tensor<T> acc, const detail::StackArg<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                     const Conv2dParams& p) {
  const ConvGeom g = detail::stack_geometry(x, w, bias, p);
  const bool owned = acc.defined() && acc.holds_memory_alone() && acc.device() == x.first.device() &&
                     acc.shape() == Shape({g.n, g.cout, g.out_h, g.out_w});
  if (!owned || !detail::conv_fuses(g, x, {&w, &bias, &acc})) return add(acc, conv2d(x.joined(), w, bias, p));
  detail::count_conv_macs(g);
  detail::conv_forward_into(g, x, w, bias, acc.data(), T(1), {});
  return acc;
}

}  // namespace tlc::ops
