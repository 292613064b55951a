// The local (TLC) aggregation ops (include/tlc/ops/local.hpp) on the device, with the window rule of
// kernels/local.hpp. Means: the separable running sums of box.cuh in double, O(1) per pixel
// whatever the window. Maxima: a direct scan of each window row, then of each column of the row
// maxima (O(k) per output and axis); ties go to the first element in row-major order and NaN
// propagates, as on the CPU. The max's backward recomputes the arg-max and routes the gradients
// through both scans in reverse, gathering (no atomics), so it is deterministic.
#include "box.cuh"
#include "tlc/ops/cuda/local.hpp"

namespace tlc::cuda {

namespace {

// rmax[p, r, s] = max of x[p, r, s .. s + k2); rarg (when not null) the column of the first
// maximum.
void row_max(const float* x, float* rmax, int* rarg, const kernels::PlaneWindows& g) {
  const index_t W = g.W, k2 = g.k2, wv = g.wv();
  detail::for_each("local_max_rows", g.planes * g.H * wv, [=] __device__(index_t i) {
    const index_t s = i % wv;
    const float* line = x + (i / wv) * W;
    float best = line[s];
    index_t arg = s;
    for (index_t j = s + 1; j < s + k2; ++j)
      if (kernels::max_before(line[j], best)) best = line[j], arg = j;
    rmax[i] = best;
    if (rarg) rarg[i] = static_cast<int>(arg);
  });
}

// v[p, t, s] = max of rmax[p, t .. t + k1, s] (when not null); vrow (when not null) the row of the
// first maximum. With row_max's columns: the first maximum of the window in row-major order.
void col_max(const float* rmax, float* v, int* vrow, const kernels::PlaneWindows& g) {
  const index_t H = g.H, k1 = g.k1, hv = g.hv(), wv = g.wv();
  detail::for_each("local_max_cols", g.planes * hv * wv, [=] __device__(index_t i) {
    const index_t s = i % wv, t = (i / wv) % hv, p = i / (hv * wv);
    const float* col = rmax + p * H * wv + s;
    float best = col[t * wv];
    index_t arg = t;
    for (index_t r = t + 1; r < t + k1; ++r)
      if (kernels::max_before(col[r * wv], best)) best = col[r * wv], arg = r;
    if (v) v[i] = best;
    if (vrow) vrow[i] = static_cast<int>(arg);
  });
}

// gx[p] = the gradients gv[p, t, s] of the valid maxima, each added to its window's arg-max.
void max_valid_backward(const float* x, const float* gv, float* gx, const kernels::PlaneWindows& g) {
  const index_t H = g.H, W = g.W, k1 = g.k1, k2 = g.k2, hv = g.hv(), wv = g.wv();
  detail::DeviceBuffer<float> rmax(g.planes * H * wv);
  detail::DeviceBuffer<int> rarg(g.planes * H * wv), vrow(g.planes * hv * wv);
  detail::DeviceBuffer<double> h(g.planes * H * wv);
  row_max(x, rmax.get(), rarg.get(), g);
  col_max(rmax.get(), nullptr, vrow.get(), g);
  const int *pr = rarg.get(), *pv = vrow.get();
  double* ph = h.get();
  // h[p, r, s]: the gradients of the windows (t, s) whose maximum lies in row r.
  detail::for_each("local_max_valid_backward", g.planes * H * wv, [=] __device__(index_t i) {
    const index_t s = i % wv, r = (i / wv) % H, p = i / (H * wv);
    double acc = 0.0;
    for (index_t t = r - k1 + 1 < 0 ? 0 : r - k1 + 1; t <= r && t < hv; ++t) {
      const index_t e = (p * hv + t) * wv + s;
      if (pv[e] == r) acc += static_cast<double>(gv[e]);
    }
    ph[i] = acc;
  });
  // gx[p, r, c]: the entries h[p, r, s] whose row maximum lies in column c.
  detail::for_each("local_max_valid_backward", g.planes * H * W, [=] __device__(index_t i) {
    const index_t c = i % W, row = i / W;  // row = p * H + r
    double acc = 0.0;
    for (index_t s = c - k2 + 1 < 0 ? 0 : c - k2 + 1; s <= c && s < wv; ++s)
      if (pr[row * wv + s] == c) acc += ph[row * wv + s];
    gx[i] = static_cast<float>(acc);
  });
}

}  // namespace

void local_forward(int op, const float* in, float* out, const kernels::PlaneWindows& g) {
  const detail::BoxAxis rows = detail::BoxAxis::valid(g.H, g.k1), cols = detail::BoxAxis::valid(g.W, g.k2);
  const double inv_area = 1.0 / static_cast<double>(g.k1 * g.k2);
  switch (static_cast<kernels::LocalOp>(op)) {
    case kernels::LocalOp::MeanValid:
      detail::box_sums("local_mean_valid", in, out, g.planes, rows, cols, inv_area);
      break;
    case kernels::LocalOp::Mean: {  // rounded to float before the gather, as on the CPU
      detail::DeviceBuffer<float> v(g.planes * g.hv() * g.wv());
      detail::box_sums("local_mean", in, v.get(), g.planes, rows, cols, inv_area);
      detail::expand_planes("local_mean", v.get(), out, g);
      break;
    }
    case kernels::LocalOp::Expand:
      detail::expand_planes("local_expand", in, out, g);
      break;
    case kernels::LocalOp::MaxValid: {
      detail::DeviceBuffer<float> rmax(g.planes * g.H * g.wv());
      row_max(in, rmax.get(), nullptr, g);
      col_max(rmax.get(), out, nullptr, g);
      break;
    }
  }
}

void local_backward(int op, const float* in, const float* gout, float* gin, const kernels::PlaneWindows& g) {
  const detail::BoxAxis rows = detail::BoxAxis::adjoint(g.hv(), g.k1), cols = detail::BoxAxis::adjoint(g.wv(), g.k2);
  const double inv_area = 1.0 / static_cast<double>(g.k1 * g.k2);
  switch (static_cast<kernels::LocalOp>(op)) {
    case kernels::LocalOp::MeanValid:
      detail::box_sums("local_mean_valid_backward", gout, gin, g.planes, rows, cols, inv_area);
      break;
    case kernels::LocalOp::Mean: {  // the valid-map gradient stays in double, as on the CPU
      detail::DeviceBuffer<double> gv(g.planes * g.hv() * g.wv());
      detail::expand_planes_adjoint("local_mean_backward", gout, gv.get(), g);
      detail::box_sums("local_mean_backward", gv.get(), gin, g.planes, rows, cols, inv_area);
      break;
    }
    case kernels::LocalOp::Expand:
      detail::expand_planes_adjoint("local_expand_backward", gout, gin, g);
      break;
    case kernels::LocalOp::MaxValid:
      max_valid_backward(in, gout, gin, g);
      break;
  }
}

}  // namespace tlc::cuda
