#pragma once
// The overlapping window partition of Restormer's local attention (spec 6.5 step 2) and the ops
// that cut a map into those windows and merge them back, averaging overlaps.
#include <cmath>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/kernels/local.hpp"

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

// The windows of an H x W map: row starts x column starts, row-major.
struct WindowGrid {
  index_t H, W, k1, k2;
  std::vector<index_t> rows, cols;
  WindowGrid(index_t h, index_t w, index_t kh, index_t kw)
      : H(h), W(w), k1(kernels::window_extent(kh, h)), k2(kernels::window_extent(kw, w)), rows(window_starts(h, kh)),
        cols(window_starts(w, kw)) {}
  index_t count() const { return static_cast<index_t>(rows.size() * cols.size()); }
  // 1 / (number of windows covering each pixel), H x W.
  std::vector<double> inverse_coverage() const {
    std::vector<double> rc(static_cast<size_t>(H), 0.0), cc(static_cast<size_t>(W), 0.0), inv(static_cast<size_t>(H * W));
    for (index_t r : rows)
      for (index_t i = r; i < r + k1; ++i) rc[i] += 1;
    for (index_t c : cols)
      for (index_t j = c; j < c + k2; ++j) cc[j] += 1;
    for (index_t i = 0; i < H; ++i)
      for (index_t j = 0; j < W; ++j) inv[i * W + j] = 1.0 / (rc[i] * cc[j]);
    return inv;
  }
};

}  // namespace tlc::local

namespace tlc::ops {

namespace detail {

// win[(n*count + w), c] = map[n, c] cut at window w, times scale[pixel] when scale is given.
template <class T>
void windows_gather(const T* map, T* win, index_t N, index_t C, const local::WindowGrid& g, const double* scale) {
  const index_t nc = static_cast<index_t>(g.cols.size()), count = g.count(), HW = g.H * g.W, kk = g.k1 * g.k2;
  parallel_for(0, N * count * C, 1, [&](index_t lo, index_t hi) {
    for (index_t task = lo; task < hi; ++task) {  // task = (n * count + w) * C + c, the output plane
      const index_t c = task % C, w = (task / C) % count, n = task / (C * count);
      const index_t r0 = g.rows[w / nc], c0 = g.cols[w % nc];
      const T* src = map + (n * C + c) * HW;
      T* dst = win + task * kk;
      for (index_t i = 0; i < g.k1; ++i)
        for (index_t j = 0; j < g.k2; ++j) {
          const index_t p = (r0 + i) * g.W + c0 + j;
          dst[i * g.k2 + j] = scale ? static_cast<T>(src[p] * scale[p]) : src[p];
        }
    }
  });
}

// map[n, c] = sum of the windows of image n put back in place, times scale[pixel] when given.
template <class T>
void windows_scatter(const T* win, T* map, index_t N, index_t C, const local::WindowGrid& g, const double* scale) {
  const index_t nc = static_cast<index_t>(g.cols.size()), count = g.count(), HW = g.H * g.W, kk = g.k1 * g.k2;
  parallel_for(0, N * C, 1, [&](index_t lo, index_t hi) {
    std::vector<double> acc(static_cast<size_t>(HW));
    for (index_t plane = lo; plane < hi; ++plane) {  // plane = n * C + c, so windows of one plane never race
      const index_t n = plane / C, c = plane % C;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (index_t w = 0; w < count; ++w) {
        const index_t r0 = g.rows[w / nc], c0 = g.cols[w % nc];
        const T* src = win + ((n * count + w) * C + c) * kk;
        for (index_t i = 0; i < g.k1; ++i)
          for (index_t j = 0; j < g.k2; ++j) acc[(r0 + i) * g.W + c0 + j] += src[i * g.k2 + j];
      }
      T* dst = map + plane * HW;
      for (index_t p = 0; p < HW; ++p) dst[p] = static_cast<T>(scale ? acc[p] * scale[p] : acc[p]);
    }
  });
}

}  // namespace detail

// x [N,C,H,W] -> [N * nwin, C, k1, k2]: the windows of local::WindowGrid(H, W, kh, kw), image-major,
// row-major within an image (spec 6.5; batch > 1 allowed). The gradient sums overlapping windows.
template <class T>
Tensor<T> window_partition(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "window_partition";
  detail::check_rank(op, x, 4);
  detail::require_cpu(op, x);
  TLC_CHECK(x.numel() > 0, ShapeError, op, ": expected a non-empty map, found shape ", x.shape().str());
  TLC_CHECK(kh >= 1 && kw >= 1, ShapeError, op, ": expected window sizes >= 1, found ", kh, "x", kw);
  const Shape s = x.shape();
  const local::WindowGrid g(s[2], s[3], kh, kw);
  Tensor<T> y = Tensor<T>::empty({s[0] * g.count(), s[1], g.k1, g.k2});
  detail::windows_gather(x.data(), y.data(), s[0], s[1], g, nullptr);
  return autograd::record<T>(y, op, {x}, [s, g](const Tensor<T>& gy, const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::empty(s);
    detail::windows_scatter(gy.data(), gx.data(), s[0], s[1], g, nullptr);
    return std::vector<Tensor<T>>{gx};
  });
}

// Inverse of window_partition: windows [N * nwin, C, k1, k2] -> [N,C,H,W], each pixel the mean of
// the windows covering it (spec 6.5 step 4).
template <class T>
Tensor<T> window_merge(const Tensor<T>& windows, index_t N, index_t H, index_t W, index_t kh, index_t kw) {
  const char* op = "window_merge";
  detail::check_rank(op, windows, 4);
  detail::require_cpu(op, windows);
  TLC_CHECK(N >= 1 && H >= 1 && W >= 1 && kh >= 1 && kw >= 1, ShapeError, op,
            ": expected N, H, W and window sizes >= 1, found N=", N, " H=", H, " W=", W, " window ", kh, "x", kw);
  const local::WindowGrid g(H, W, kh, kw);
  const Shape expected{N * g.count(), windows.size(1), g.k1, g.k2};
  TLC_CHECK(windows.shape() == expected, ShapeError, op, ": expected windows of shape ", expected.str(), " (", g.count(),
            " windows per image), found ", windows.shape().str());
  const index_t C = windows.size(1);
  auto inv = std::make_shared<std::vector<double>>(g.inverse_coverage());
  Tensor<T> y = Tensor<T>::empty({N, C, H, W});
  detail::windows_scatter(windows.data(), y.data(), N, C, g, inv->data());
  return autograd::record<T>(y, op, {windows}, [expected, g, inv, N, C](const Tensor<T>& gy, const std::vector<bool>&) {
    Tensor<T> gw = Tensor<T>::empty(expected);
    detail::windows_gather(gy.data(), gw.data(), N, C, g, inv->data());
    return std::vector<Tensor<T>>{gw};
  });
}

}  // namespace tlc::ops
