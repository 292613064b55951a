#pragma once
// Inference forms of conv2d that save whole passes over a map: a convolution followed by a
// LeakyReLU, and a convolution added to a tensor (a residual block's identity branch). On the CPU,
// when no tape records, the GEMM applies the activation to each tile as it stores it
// (cpu::FusedActivation) and forms the sum in the addend's own memory, where nothing else holds it.
// Otherwise (a tape, CUDA, depthwise filters, a shared or broadcast addend) they are the two ops.
// Either way the values are the two ops': the same float operations in the same order (a sum over
// more than one GEMM depth block, K > 256, adds the addend before the later blocks instead of last).
#include "tlc/ops/conv.hpp"

namespace tlc::ops {
namespace detail {

// Whether the fused CPU forms may run: nothing to record, on the CPU, a GEMM convolution.
template <class T>
bool conv_fuses(const ConvGeom& g, std::initializer_list<const Tensor<T>*> inputs) {
  return !autograd::records(inputs) && (*inputs.begin())->device().is_cpu() && !g.depthwise();
}

}  // namespace detail

// leaky_relu(conv2d(x, w, bias, p), slope).
template <class T>
Tensor<T> conv2d_leaky_relu(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const Conv2dParams& p,
                            T slope) {
  const ConvGeom g = detail::conv2d_geometry(x, w, bias, p);
  if (!detail::conv_fuses(g, {&x, &w, &bias})) return leaky_relu(conv2d(x, w, bias, p), slope);
  detail::count_conv_macs(g);
  Tensor<T> y = Tensor<T>::empty({g.n, g.cout, g.out_h, g.out_w});
  cpu::conv2d_forward(g, x.data(), w.data(), detail::data_or_null(bias), y.data(), T(0),
                      cpu::FusedActivation{true, static_cast<double>(slope)});
  return y;
}

// acc + conv2d(x, w, bias, p). Hand acc over (std::move): its memory then holds the result.
template <class T>
Tensor<T> conv2d_add(Tensor<T> acc, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                     const Conv2dParams& p) {
  const ConvGeom g = detail::conv2d_geometry(x, w, bias, p);
  const bool owned = acc.defined() && acc.impl_ptr().use_count() == 1 && acc.impl()->storage.use_count() == 1 &&
                     acc.device() == x.device() && acc.shape() == Shape({g.n, g.cout, g.out_h, g.out_w});
  if (!owned || !detail::conv_fuses(g, {&x, &w, &bias, &acc})) return add(acc, conv2d(x, w, bias, p));
  detail::count_conv_macs(g);
  cpu::conv2d_forward(g, x.data(), w.data(), detail::data_or_null(bias), acc.data(), T(1));
  return acc;
}

}  // namespace tlc::ops
