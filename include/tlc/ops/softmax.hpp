#pragma once
// Softmax and L2 normalisation along one axis (MDTA attention), fused with their own backward.
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/softmax.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/softmax.hpp"

namespace tlc::ops {

namespace detail {

inline kernels::AxisRows axis_rows(const char* op, const Shape& s, int axis, index_t& count) {
  TLC_CHECK(s.rank() >= 1 && axis >= -s.rank() && axis < s.rank(), ShapeError, op, ": expected an axis in [", -s.rank(),
            ",", s.rank(), ") for shape ", s.str(), ", found ", axis);
  const int a = axis < 0 ? axis + s.rank() : axis;
  index_t outer = 1, inner = 1;
  for (int d = 0; d < a; ++d) outer *= s[d];
  for (int d = a + 1; d < s.rank(); ++d) inner *= s[d];
  count = outer * inner;
  return kernels::AxisRows{s[a], inner};
}

template <class F>
void for_each_row(index_t rows, index_t row_len, const F& fn) {
  cpu::parallel_for_vectorised(0, rows, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(row_len, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t r = lo; r < hi; ++r) fn(r);
               });
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/softmax.cu's entry points (same arguments): the row bodies of
// kernels/softmax.hpp over `rows` rows of [outer, len, inner].
namespace tlc::cpu {

template <class T>
void softmax_forward(const T* x, T* y, index_t rows, index_t len, index_t inner) {
  ops::detail::for_each_row(rows, len, kernels::SoftmaxRow<T>{x, y, kernels::AxisRows{len, inner}});
}

template <class T>
void softmax_backward(const T* y, const T* gy, T* gx, index_t rows, index_t len, index_t inner) {
  ops::detail::for_each_row(rows, len, kernels::SoftmaxRowBackward<T>{y, gy, gx, kernels::AxisRows{len, inner}});
}

template <class T>
void l2_normalize_forward(const T* x, T* y, T* norm, index_t rows, index_t len, index_t inner, double eps) {
  ops::detail::for_each_row(rows, len, kernels::L2NormalizeRow<T>{x, y, norm, kernels::AxisRows{len, inner}, eps});
}

template <class T>
void l2_normalize_backward(const T* y, const T* gy, const T* norm, T* gx, index_t rows, index_t len, index_t inner,
                           double eps) {
  ops::detail::for_each_row(rows, len,
                            kernels::L2NormalizeRowBackward<T>{y, gy, norm, gx, kernels::AxisRows{len, inner}, eps});
}

}  // namespace tlc::cpu

namespace tlc::ops {

// exp(x) / sum exp(x) along `axis` (the last one by default), computed after subtracting the max.
template <class T>
Tensor<T> softmax(const Tensor<T>& x, int axis = -1) {
  detail::check_defined("softmax", x);
  index_t count;
  const kernels::AxisRows rows = detail::axis_rows("softmax", x.shape(), axis, count);
  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device());
  TLC_DISPATCH(T, "softmax", x.device(), softmax_forward, x.data(), y.data(), count, rows.L, rows.inner);
  Tensor<T> ys = y.detach();
  return autograd::record<T>(y, "softmax", {x}, [ys, rows, count](const Tensor<T>& g, const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::empty(ys.shape(), ys.device());
    TLC_DISPATCH(T, "softmax", ys.device(), softmax_backward, ys.data(), g.data(), gx.data(), count, rows.L,
                 rows.inner);
    return std::vector<Tensor<T>>{gx};
  });
}

// x / max(||x||_2, eps) along `axis` (PyTorch F.normalize with p = 2).
template <class T>
Tensor<T> l2_normalize(const Tensor<T>& x, int axis = -1, double eps = 1e-12) {
  detail::check_defined("l2_normalize", x);
  TLC_CHECK(eps > 0, Error, "l2_normalize: expected eps > 0, found ", eps);
  index_t count;
  const kernels::AxisRows rows = detail::axis_rows("l2_normalize", x.shape(), axis, count);
  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device()), norm = Tensor<T>::empty({count}, x.device());
  TLC_DISPATCH(T, "l2_normalize", x.device(), l2_normalize_forward, x.data(), y.data(), norm.data(), count, rows.L,
               rows.inner, eps);
  Tensor<T> ys = y.detach();
  return autograd::record<T>(y, "l2_normalize", {x}, [ys, norm, rows, count, eps](const Tensor<T>& g,
                                                                                  const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::empty(ys.shape(), ys.device());
    TLC_DISPATCH(T, "l2_normalize", ys.device(), l2_normalize_backward, ys.data(), g.data(), norm.data(), gx.data(),
                 count, rows.L, rows.inner, eps);
    return std::vector<Tensor<T>>{gx};
  });
}

}  // namespace tlc::ops
