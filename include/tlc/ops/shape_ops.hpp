#pragma once
// Ops that only change how data is viewed: reshape (and flatten helpers).
#include "tlc/ops/common.hpp"

namespace tlc::ops {

// Same data, another shape of equal size; gradients flow back reshaped.
template <class T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
  detail::check_defined("reshape", x);
  Tensor<T> y = x.view_as_shape(shape);
  const Shape in_shape = x.shape();
  return autograd::record<T>(y, "reshape", {x}, [in_shape](const Tensor<T>& g, const std::vector<bool>&) {
    return std::vector<Tensor<T>>{g.view_as_shape(in_shape)};
  });
}

}  // namespace tlc::ops
