#pragma once
// The overlapping window partition of Restormer's local attention under TLC (windows of a fixed
// size at an adaptive stride, covering the map) and the ops that cut a map into those windows and
// merge them back, averaging overlaps.
#include <cmath>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cuda/windows.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/local.hpp"
#include "tlc/ops/kernels/windows.hpp"

namespace tlc::local {

// Window starts along an axis of `size` for window K (k = min(K, size); K <= 0 = the whole axis):
// nr = ceil(size / k) windows, stride k if nr == 1 else ceil((size - k) / (nr - 1) - 1e-8); starts
// 0, stride, 2*stride, ... and the first start whose window reaches the end becomes size - k.
inline std::vector<index_t> window_starts(index_t size, index_t K) {
  TLC_CHECK(size >= 1, ShapeError, "window_starts: expected a size >= 1, found ", size);
  const index_t k = kernels::window_extent(K, size);
  const index_t nr = (size + k - 1) / k;
  const index_t step =
      nr == 1 ? k : static_cast<index_t>(std::ceil(static_cast<double>(size - k) / static_cast<double>(nr - 1) - 1e-8));
  std::vector<index_t> starts;
  for (index_t i = 0;; i += step) {
    if (i + k >= size) {
      starts.push_back(size - k);
      return starts;
    }
    starts.push_back(i);
  }
}

// For each position along an axis of `size`, the first and last of the windows (sorted `starts`,
// extent k) that cover it.
inline void covering_windows(const std::vector<index_t>& starts, index_t k, index_t size, std::vector<index_t>& first,
                             std::vector<index_t>& last) {
  first.assign(static_cast<size_t>(size), -1);
  last.assign(static_cast<size_t>(size), -1);
  for (size_t a = 0; a < starts.size(); ++a)
    for (index_t i = starts[a]; i < starts[a] + k; ++i) {
      if (first[static_cast<size_t>(i)] < 0) first[static_cast<size_t>(i)] = static_cast<index_t>(a);
      last[static_cast<size_t>(i)] = static_cast<index_t>(a);
    }
}

// The windows of an H x W map: row starts x column starts, row-major.
struct WindowGrid {
  index_t H, W, k1, k2;
  std::vector<index_t> rows, cols;
  std::vector<index_t> row_first, row_last, col_first, col_last;  // see kernels::WindowLayout
  WindowGrid(index_t h, index_t w, index_t kh, index_t kw)
      : H(h), W(w), k1(kernels::window_extent(kh, h)), k2(kernels::window_extent(kw, w)), rows(window_starts(h, kh)),
        cols(window_starts(w, kw)) {
    covering_windows(rows, k1, H, row_first, row_last);
    covering_windows(cols, k2, W, col_first, col_last);
  }
  index_t count() const { return static_cast<index_t>(rows.size() * cols.size()); }
  index_t nr() const { return static_cast<index_t>(rows.size()); }
  index_t nc() const { return static_cast<index_t>(cols.size()); }
  // The layout seen by the row bodies of kernels/windows.hpp, with its arrays on the host.
  kernels::WindowLayout host_layout(index_t C) const {
    return {rows.data(), cols.data(), row_first.data(), row_last.data(), col_first.data(), col_last.data(), nr(), nc(),
            C,           H,           W,                k1,              k2};
  }
};

}  // namespace tlc::local

// The CPU functions of cuda/windows.cu's entry points (same arguments): the row bodies of
// kernels/windows.hpp in a parallel_for. `l` holds host arrays.
namespace tlc::cpu {

// win [N * nr * nc, C, k1, k2] = the windows of map [N, C, H, W] (times the inverse coverage when
// `average`).
template <class T>
void window_gather(const T* map, T* win, index_t N, const kernels::WindowLayout& l, bool average) {
  const kernels::WindowGatherRow<T> k{map, win, l, average};
  const index_t rows = N * l.nr * l.nc * l.C * l.k1;
  parallel_for(0, rows, std::max<index_t>(1, ops::detail::kElementwiseGrain / l.k2), [&](index_t lo, index_t hi) {
    for (index_t t = lo; t < hi; ++t) k(t);
  });
}

// map [N, C, H, W] = the sum (the mean when `average`) of the windows over each pixel.
template <class T>
void window_merge(const T* win, T* map, index_t N, const kernels::WindowLayout& l, bool average) {
  const kernels::WindowMergeRow<T> k{win, map, l, average};
  parallel_for(0, N * l.C * l.H, std::max<index_t>(1, ops::detail::kElementwiseGrain / l.W),
               [&](index_t lo, index_t hi) {
                 for (index_t t = lo; t < hi; ++t) k(t);
               });
}

}  // namespace tlc::cpu

namespace tlc::ops {

namespace detail {

template <class T>
void windows_gather(const char* op, const Tensor<T>& map, const Tensor<T>& win, const local::WindowGrid& g,
                    bool average) {
  TLC_DISPATCH(T, op, map.device(), window_gather, map.data(), win.data(), map.size(0), g.host_layout(map.size(1)),
               average);
}

template <class T>
void windows_merge(const char* op, const Tensor<T>& win, const Tensor<T>& map, const local::WindowGrid& g,
                   bool average) {
  TLC_DISPATCH(T, op, win.device(), window_merge, win.data(), map.data(), map.size(0), g.host_layout(map.size(1)),
               average);
}

}  // namespace detail

// x [N,C,H,W] -> [N * nwin, C, k1, k2]: the windows of local::WindowGrid(H, W, kh, kw), image-major,
// row-major within an image (batch > 1 allowed). The gradient sums overlapping windows.
template <class T>
Tensor<T> window_partition(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "window_partition";
  detail::check_rank(op, x, 4);
  TLC_CHECK(x.numel() > 0, ShapeError, op, ": expected a non-empty map, found shape ", x.shape().str());
  TLC_CHECK(kh >= 1 && kw >= 1, ShapeError, op, ": expected window sizes >= 1, found ", kh, "x", kw);
  const Shape s = x.shape();
  const local::WindowGrid g(s[2], s[3], kh, kw);
  Tensor<T> y = Tensor<T>::empty({s[0] * g.count(), s[1], g.k1, g.k2}, x.device());
  detail::windows_gather(op, x, y, g, false);
  return autograd::record<T>(y, op, {x}, [op, s, g](const Tensor<T>& gy, const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::empty(s, gy.device());
    detail::windows_merge(op, gy, gx, g, false);
    return std::vector<Tensor<T>>{gx};
  });
}

// Inverse of window_partition: windows [N * nwin, C, k1, k2] -> [N,C,H,W], each pixel the mean of
// the windows covering it.
template <class T>
Tensor<T> window_merge(const Tensor<T>& windows, index_t N, index_t H, index_t W, index_t kh, index_t kw) {
  const char* op = "window_merge";
  detail::check_rank(op, windows, 4);
  TLC_CHECK(N >= 1 && H >= 1 && W >= 1 && kh >= 1 && kw >= 1, ShapeError, op,
            ": expected N, H, W and window sizes >= 1, found N=", N, " H=", H, " W=", W, " window ", kh, "x", kw);
  const local::WindowGrid g(H, W, kh, kw);
  const Shape expected{N * g.count(), windows.size(1), g.k1, g.k2};
  TLC_CHECK(windows.shape() == expected, ShapeError, op, ": expected windows of shape ", expected.str(), " (", g.count(),
            " windows per image), found ", windows.shape().str());
  Tensor<T> y = Tensor<T>::empty({N, windows.size(1), H, W}, windows.device());
  detail::windows_merge(op, windows, y, g, true);
  return autograd::record<T>(y, op, {windows}, [op, expected, g](const Tensor<T>& gy, const std::vector<bool>&) {
    Tensor<T> gw = Tensor<T>::empty(expected, gy.device());
    detail::windows_gather(op, gy, gw, g, true);
    return std::vector<Tensor<T>>{gw};
  });
}

}  // namespace tlc::ops
