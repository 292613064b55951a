#pragma once
// Broadcasting helpers: sum_keep4d and sum_to, the reduction that undoes broadcasting.
#include <array>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/sum.hpp"
#include "tlc/ops/cuda/reduce.hpp"
#include "tlc/ops/dispatch.hpp"

// The CPU function of cuda::sum_keep4d: out = x [S[0..3]] summed over the axes where reduce[a],
// keeping them as size 1; in double, in a fixed order.
namespace tlc::cpu {

template <class T>
void sum_keep4d(const T* px, T* po, const index_t* S, const bool* reduce) {
  index_t o[4];
  for (int a = 0; a < 4; ++a) o[a] = reduce[a] ? 1 : S[a];
  const index_t out_numel = o[0] * o[1] * o[2] * o[3];
  const index_t strides[4] = {S[1] * S[2] * S[3], S[2] * S[3], S[3], 1};
  // The reduced axes at the end of the shape are one contiguous run per output; when the last
  // axis is kept, each output row of S[3] values is summed row by row instead.
  int run_axis = 4;
  index_t run = 1;
  while (run_axis > 0 && reduce[run_axis - 1]) run *= S[--run_axis];
  index_t lim[4];
  for (int a = 0; a < 4; ++a) lim[a] = a < run_axis && reduce[a] ? S[a] : 1;
  auto for_each_reduced_row = [&](index_t base, auto&& f) {  // f(start of one run or row) over the outer reduced axes
    for (index_t i0 = 0; i0 < lim[0]; ++i0)
      for (index_t i1 = 0; i1 < lim[1]; ++i1)
        for (index_t i2 = 0; i2 < lim[2]; ++i2) f(px + base + i0 * strides[0] + i1 * strides[1] + i2 * strides[2]);
  };
  auto base_of = [&](index_t oi) {  // input offset of output oi's first element
    index_t base = 0;
    for (int a = 3; a >= 0; --a) {
      base += (oi % o[a]) * strides[a];
      oi /= o[a];
    }
    return base;
  };
  const index_t per_output = std::max<index_t>(1, run * lim[0] * lim[1] * lim[2]);  // values summed into each
  if (out_numel == 0) return;
  if (run_axis < 4) {
    parallel_for(0, out_numel, std::max<index_t>(1, (1 << 14) / per_output), [&](index_t lo, index_t hi) {
      for (index_t oi = lo; oi < hi; ++oi) {
        double acc = 0.0;
        for_each_reduced_row(base_of(oi), [&](const T* r) { acc += cpu::sum_as_double(r, run); });
        po[oi] = static_cast<T>(acc);
      }
    });
  } else {
    const index_t w = S[3], rows = out_numel / w;
    parallel_for(0, rows, std::max<index_t>(1, (1 << 14) / (w * per_output)), [&](index_t lo, index_t hi) {
      std::vector<double> acc(static_cast<size_t>(w));
      for (index_t row = lo; row < hi; ++row) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for_each_reduced_row(base_of(row * w), [&](const T* r) { cpu::add_to_double_row(r, w, acc.data()); });
        for (index_t j = 0; j < w; ++j) po[row * w + j] = static_cast<T>(acc[static_cast<size_t>(j)]);
      }
    });
  }
}

}  // namespace tlc::cpu

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
  const index_t shape4[4] = {s[0], s[1], s[2], s[3]};
  TLC_DISPATCH(T, "sum", x.device(), sum_keep4d, x.data(), out.data(), shape4, reduce.data());
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
