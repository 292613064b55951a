#pragma once
// Plane passes shared by the CUDA paths of the local ops (local.cu) and of the local norms
// (spatial_norm.cu), on contiguous planes: separable box sums (running sums in double, one thread
// per line), the gather from a valid map to the full map (local_expand) and its adjoint. The
// window rule is the one of kernels/local.hpp. Internal to cuda/.
#include "reduce.cuh"
#include "tlc/ops/kernels/local.hpp"

namespace tlc::cuda::detail {

// One axis of a box sum: out[t] = sum of in[r] over r in [t - off, t - off + k) clipped to [0, n),
// t in [0, out). valid(): the valid window sums; adjoint(): their transpose.
struct BoxAxis {
  index_t n, k, off, out;
  static BoxAxis valid(index_t n, index_t k) { return {n, k, 0, n - k + 1}; }
  static BoxAxis adjoint(index_t n_valid, index_t k) { return {n_valid, k, k - 1, n_valid + k - 1}; }
};

// The running sum of one line (elements `stride` apart), in double; each result is scaled and
// rounded to Out. Cost O(n + out) whatever the window.
template <class In, class Out>
__device__ void running_box_sum(const In* src, index_t src_stride, const BoxAxis& a, double scale, Out* dst,
                                index_t dst_stride) {
  double s = 0.0;
  const index_t first = a.k - a.off < a.n ? a.k - a.off : a.n;  // the elements of window 0
  for (index_t r = 0; r < first; ++r) s += static_cast<double>(src[r * src_stride]);
  dst[0] = static_cast<Out>(s * scale);
  for (index_t t = 1; t < a.out; ++t) {
    const index_t enter = t - a.off + a.k - 1, leave = t - a.off - 1;
    if (enter < a.n) s += static_cast<double>(src[enter * src_stride]);
    if (leave >= 0) s -= static_cast<double>(src[leave * src_stride]);
    dst[t * dst_stride] = static_cast<Out>(s * scale);
  }
}

// dst[p] = scale * (box sums of src[p] along rows, then columns), src planes rows.n x cols.n, dst
// planes rows.out x cols.out. The vertical pass runs first, one thread per plane column (neighbouring
// threads read neighbouring addresses), into a double scratch; then one thread per row.
template <class In, class Out>
void box_sums(const char* name, const In* src, Out* dst, index_t planes, BoxAxis rows, BoxAxis cols, double scale) {
  DeviceBuffer<double> mid(std::max<index_t>(1, planes * rows.out * cols.n));
  double* m = mid.get();
  for_each(name, planes * cols.n, [=] __device__(index_t i) {
    const index_t p = i / cols.n, c = i % cols.n;
    running_box_sum(src + p * rows.n * cols.n + c, cols.n, rows, 1.0, m + p * rows.out * cols.n + c, cols.n);
  });
  for_each(name, planes * rows.out, [=] __device__(index_t i) {
    running_box_sum(m + i * cols.n, 1, cols, scale, dst + i * cols.out, 1);
  });
}

// y[p, i, j] = v[p, window_start(i), window_start(j)]: every pixel reads its window's valid entry.
template <class In, class Out>
void expand_planes(const char* name, const In* v, Out* y, const kernels::PlaneWindows& g) {
  const index_t H = g.H, W = g.W, k1 = g.k1, k2 = g.k2, hv = g.hv(), wv = g.wv();
  for_each(name, g.planes * H * W, [=] __device__(index_t i) {
    const index_t j = i % W, r = (i / W) % H, p = i / (H * W);
    y[i] = static_cast<Out>(v[(p * hv + kernels::window_start(r, k1, H)) * wv + kernels::window_start(j, k2, W)]);
  });
}

// The adjoint of expand_planes: v[p, t, s] = sum of y[p] over the pixels that entry (t, s) serves,
// in double. Columns first (one thread per plane row and valid column), then rows, so that no
// thread sums more than one window's border strip.
template <class In, class Out>
void expand_planes_adjoint(const char* name, const In* y, Out* v, const kernels::PlaneWindows& g) {
  const index_t H = g.H, W = g.W, k1 = g.k1, k2 = g.k2, hv = g.hv(), wv = g.wv();
  DeviceBuffer<double> mid(std::max<index_t>(1, g.planes * H * wv));
  double* m = mid.get();
  for_each(name, g.planes * H * wv, [=] __device__(index_t i) {
    const index_t s = i % wv, row = i / wv;  // row = p * H + r
    const In* line = y + row * W;
    double acc = 0.0;
    for (index_t j = kernels::served_begin(s, k2); j < kernels::served_end(s, k2, W); ++j)
      acc += static_cast<double>(line[j]);
    m[i] = acc;
  });
  for_each(name, g.planes * hv * wv, [=] __device__(index_t i) {
    const index_t s = i % wv, t = (i / wv) % hv, p = i / (hv * wv);
    const double* col = m + p * H * wv + s;
    double acc = 0.0;
    for (index_t r = kernels::served_begin(t, k1); r < kernels::served_end(t, k1, H); ++r) acc += col[r * wv];
    v[i] = static_cast<Out>(acc);
  });
}

}  // namespace tlc::cuda::detail
