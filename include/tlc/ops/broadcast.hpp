#pragma once
// Broadcasting helpers: sum_keep4d and sum_to, the reduction that undoes broadcasting.
#include <array>
#include <vector>

#include "tlc/ops/common.hpp"

namespace tlc::ops {

namespace detail {
// Sum of x over the 4-d axes marked in `reduce` (the result keeps size-1 dimensions).
template <class T>
Tensor<T> sum_keep4d(const Tensor<T>& x, const std::array<bool, 4>& reduce) {
  check_defined("sum", x);
  const Shape s = x.shape().as4d();
  Shape o = s;
  for (int a = 0; a < 4; ++a)
    if (reduce[static_cast<size_t>(a)]) o[a] = 1;
  Tensor<T> out = Tensor<T>::empty(o, x.device());
  if (x.is_cuda()) {
    check_cuda_dtype<T>("sum");
    if constexpr (std::is_same_v<T, float>) {
      [[maybe_unused]] const index_t shape4[4] = {s[0], s[1], s[2], s[3]};
      TLC_CUDA_CALL("sum", cuda::sum_keep4d(x.data(), out.data(), shape4, reduce.data()));
    }
    return out;
  }
  const T* px = x.data();
  T* po = out.data();
  const index_t S[4] = {s[0], s[1], s[2], s[3]};
  const index_t strides[4] = {S[1] * S[2] * S[3], S[2] * S[3], S[3], 1};
  const index_t onum = o.numel();
  index_t inner = 1;
  for (int a = 0; a < 4; ++a)
    if (reduce[static_cast<size_t>(a)]) inner *= S[a];
  parallel_for(0, onum, std::max<index_t>(1, (1 << 14) / std::max<index_t>(inner, 1)), [&](index_t lo, index_t hi) {
    for (index_t oi = lo; oi < hi; ++oi) {
      index_t idx[4], rem = oi;
      for (int a = 3; a >= 0; --a) {
        idx[a] = rem % o[a];
        rem /= o[a];
      }
      index_t lim[4];
      for (int a = 0; a < 4; ++a) lim[a] = reduce[static_cast<size_t>(a)] ? S[a] : 1;
      double acc = 0.0;
      for (index_t i0 = 0; i0 < lim[0]; ++i0)
        for (index_t i1 = 0; i1 < lim[1]; ++i1)
          for (index_t i2 = 0; i2 < lim[2]; ++i2) {
            const T* row = px + (idx[0] + i0) * strides[0] + (idx[1] + i1) * strides[1] + (idx[2] + i2) * strides[2] + idx[3];
            for (index_t i3 = 0; i3 < lim[3]; ++i3) acc += static_cast<double>(row[i3]);
          }
      po[oi] = static_cast<T>(acc);
    }
  });
  return out;
}

inline std::array<bool, 4> axes_mask(const Shape& s, const std::vector<int>& axes, const char* op) {
  std::array<bool, 4> m{false, false, false, false};
  const int off = 4 - s.rank();
  for (int a : axes) {
    int na = a < 0 ? a + s.rank() : a;
    TLC_CHECK(na >= 0 && na < s.rank(), ShapeError, op, ": expected axes in [", -s.rank(), ",", s.rank(), "), found ", a);
    m[static_cast<size_t>(na + off)] = true;
  }
  return m;
}

inline Shape reduced_shape(const Shape& s, const std::array<bool, 4>& mask, bool keepdim) {
  const int off = 4 - s.rank();
  std::vector<index_t> d;
  for (int a = 0; a < s.rank(); ++a) {
    bool r = mask[static_cast<size_t>(a + off)];
    if (!r) d.push_back(s[a]);
    else if (keepdim) d.push_back(1);
  }
  return Shape(d.begin(), d.end());
}
}  // namespace detail

// Sums `g` down to `shape`, the shape it was broadcast from (right-aligned, singleton axes).
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const Shape gs = g.shape().as4d(), ts = shape.as4d();
  TLC_CHECK(shape.rank() <= g.dim(), ShapeError, "sum_to: expected a target rank <= ", g.dim(), ", found ", shape.str());
  std::array<bool, 4> mask{};
  for (int a = 0; a < 4; ++a) {
    TLC_CHECK(ts[a] == gs[a] || ts[a] == 1, ShapeError, "sum_to: expected ", shape.str(), " to broadcast to ",
              g.shape().str());
    mask[static_cast<size_t>(a)] = ts[a] != gs[a];
  }
  return detail::sum_keep4d(g, mask).view_as_shape(shape);
}

}  // namespace tlc::ops
