#pragma once
// Sums and means over chosen axes, with autograd.
#include <vector>

#include "tlc/ops/broadcast.hpp"
#include "tlc/ops/elementwise.hpp"

namespace tlc::ops {

// Sum over `axes` (all axes when empty); keepdim keeps reduced axes as size 1.
template <class T>
Tensor<T> sum(const Tensor<T>& x, std::vector<int> axes = {}, bool keepdim = false) {
  detail::check_defined("sum", x);
  if (axes.empty())
    for (int a = 0; a < x.dim(); ++a) axes.push_back(a);
  const auto mask = detail::axes_mask(x.shape(), axes, "sum");
  Tensor<T> out = detail::sum_keep4d(x, mask).view_as_shape(detail::reduced_shape(x.shape(), mask, keepdim));
  const Shape in_shape = x.shape();
  const Shape keep_shape = detail::reduced_shape(x.shape(), mask, true);
  return autograd::record<T>(out, "sum", {x}, [in_shape, keep_shape](const Tensor<T>& g, const std::vector<bool>&) {
    Tensor<T> gk = g.view_as_shape(keep_shape);
    // CUDA: the broadcasting add body spreads gk over the input shape.
    if (g.is_cuda()) return std::vector<Tensor<T>>{add(Tensor<T>::zeros(in_shape, g.device()), gk)};
    Tensor<T> r = Tensor<T>::empty(in_shape);
    const Shape s = in_shape.as4d(), k = keep_shape.as4d();
    const T* pg = gk.data();
    T* pr = r.data();
    parallel_for(0, s[0] * s[1] * s[2], 64, [&](index_t lo, index_t hi) {
      for (index_t row = lo; row < hi; ++row) {
        index_t h = row % s[2], c = (row / s[2]) % s[1], n = row / (s[2] * s[1]);
        index_t gbase = (((k[0] == 1 ? 0 : n) * k[1] + (k[1] == 1 ? 0 : c)) * k[2] + (k[2] == 1 ? 0 : h)) * k[3];
        for (index_t w = 0; w < s[3]; ++w) pr[row * s[3] + w] = pg[gbase + (k[3] == 1 ? 0 : w)];
      }
    });
    return std::vector<Tensor<T>>{r};
  });
}


// Mean over `axes` (all axes when empty).
template <class T>
Tensor<T> mean(const Tensor<T>& x, std::vector<int> axes = {}, bool keepdim = false) {
  detail::check_defined("mean", x);
  if (axes.empty())
    for (int a = 0; a < x.dim(); ++a) axes.push_back(a);
  index_t count = 1;
  for (int a : axes) count *= x.shape()[a];
  return mul_scalar(sum(x, axes, keepdim), T(1) / static_cast<T>(std::max<index_t>(count, 1)));
}

}  // namespace tlc::ops
