#pragma once
// local_expand_mul(x, v, kh, kw) = x * local_expand(v, H, W, kh, kw) without building the expanded
// map: the per-pixel channel attention of SE / SCA / GE under TLC scales x by a value
// that is constant along each clamped window start, so each output row reads one row of the small
// valid map v. Saves a full-size write and read per attention (the global form broadcasts a
// [N,C,1,1] map and costs one pass). CUDA tensors take the unfused composition.
#include <vector>

#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/local.hpp"

namespace tlc::ops {

namespace detail {

// y row = x row * gathered v row: the two clamped edges read v[0] / v[wv-1], the middle is
// contiguous (vectorises).
template <class T>
void scale_row(const T* x, const T* v, T* y, const BoxGeom& g) {
  const index_t left = (g.k2 - 1) / 2, wv = g.wv();
  for (index_t j = 0; j < left; ++j) y[j] = x[j] * v[0];
  for (index_t j = 0; j < wv; ++j) y[left + j] = x[left + j] * v[j];
  for (index_t j = left + wv; j < g.W; ++j) y[j] = x[j] * v[wv - 1];
}

// out[N,C,H,W] = a * expand(v), plane by plane.
template <class T>
Tensor<T> scale_planes(const Tensor<T>& a, const Tensor<T>& v, const BoxGeom& g) {
  const index_t planes = a.size(0) * a.size(1), plane = g.H * g.W, vplane = g.hv() * g.wv();
  Tensor<T> y = Tensor<T>::empty(a.shape());
  const T *pa = a.data(), *pv = v.data();
  T* py = y.data();
  for_plane_rows(planes, g.hv(), 1, [&](index_t p, index_t lo, index_t hi) {
    for (index_t t = lo; t < hi; ++t)
      for (index_t i = g.row_begin(t); i < g.row_end(t); ++i)
        scale_row(pa + p * plane + i * g.W, pv + p * vplane + t * g.wv(), py + p * plane + i * g.W, g);
  });
  return y;
}

}  // namespace detail

template <class T>
Tensor<T> local_expand_mul(const Tensor<T>& x, const Tensor<T>& v, index_t kh, index_t kw) {
  const char* op = "local_expand_mul";
  detail::check_local_input(op, x);
  detail::check_local_input(op, v);
  detail::check_window_args(op, kh, kw);
  detail::check_same_device(op, x, v);
  const detail::BoxGeom g(x.size(2), x.size(3), kh, kw);
  detail::check_valid_map(op, v, g);
  TLC_CHECK(v.size(0) == x.size(0) && v.size(1) == x.size(1), ShapeError, op, ": expected the valid map to have x's [",
            x.size(0), ", ", x.size(1), "] batch and channels, found shape ", v.shape().str());
  if (x.is_cuda()) return mul(x, local_expand(v, g.H, g.W, kh, kw));
  Tensor<T> y = detail::scale_planes(x, v, g);
  return autograd::record<T>(y, op, {x, v}, [x, v, g](const Tensor<T>& gy, const std::vector<bool>& need) {
    std::vector<Tensor<T>> grads(2);
    if (need[0]) grads[0] = detail::scale_planes(gy, v, g);
    if (need[1]) {  // gv[t, c0] = sum of gy * x over the output pixels that valid entry serves
      const index_t planes = x.size(0) * x.size(1), plane = g.H * g.W, wv = g.wv(), vplane = g.hv() * wv;
      const index_t left = (g.k2 - 1) / 2;
      Tensor<T> gv = Tensor<T>::empty(v.shape());
      const T *px = x.data(), *pg = gy.data();
      T* pgv = gv.data();
      detail::for_plane_rows(planes, g.hv(), 1, [&](index_t p, index_t lo, index_t hi) {
        std::vector<double> acc(static_cast<size_t>(wv));
        for (index_t t = lo; t < hi; ++t) {
          std::fill(acc.begin(), acc.end(), 0.0);
          for (index_t i = g.row_begin(t); i < g.row_end(t); ++i) {
            const T *xr = px + p * plane + i * g.W, *gr = pg + p * plane + i * g.W;
            for (index_t j = 0; j < left; ++j) acc[0] += double(gr[j]) * xr[j];
            for (index_t j = 0; j < wv; ++j) acc[j] += double(gr[left + j]) * xr[left + j];
            for (index_t j = left + wv; j < g.W; ++j) acc[wv - 1] += double(gr[j]) * xr[j];
          }
          for (index_t j = 0; j < wv; ++j) pgv[p * vplane + t * wv + j] = static_cast<T>(acc[j]);
        }
      });
      grads[1] = gv;
    }
    return grads;
  });
}

}  // namespace tlc::ops
