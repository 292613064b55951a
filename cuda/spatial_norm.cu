// Group / instance norm with global or local (TLC) statistics (include/tlc/ops/spatial_norm.hpp),
// the same formulas as the CPU in the same precision: statistics in double on x shifted by each
// group's global mean, so that mean^2 >> var does not cancel. Group sums are deterministic segment
// sums (segment_sum.cuh); the local statistics are channel sums per pixel, then the box sums of
// box.cuh on the valid map, gathered back through the clamped window starts.
#include "box.cuh"
#include "segment_sum.cuh"
#include "tlc/ops/cuda/spatial_norm.hpp"

namespace tlc::cuda {

namespace {

// Sizes derived from a GroupNormShape. A group's elements are contiguous: group ng of image n is
// x[ng * count, (ng + 1) * count).
struct NormDims {
  index_t N, C, G, H, W, k1, k2, HW, cg, count, NG, hv, wv, vplane;
  bool local;
  explicit NormDims(const kernels::GroupNormShape& s)
      : N(s.N), C(s.C), G(s.G), H(s.H), W(s.W), k1(s.k1), k2(s.k2), HW(s.H * s.W), cg(s.C / s.G),
        count(cg * HW), NG(s.N * s.G), hv(s.H - s.k1 + 1), wv(s.W - s.k2 + 1), vplane(hv * wv),
        local(s.k1 < s.H || s.k2 < s.W) {}
  // Valid-map index of the window that serves pixel p.
  __device__ index_t served_by(index_t p) const {
    return kernels::window_start(p / W, k1, H) * wv + kernels::window_start(p % W, k2, W);
  }
};

// The normalised value of element i (flat NCHW index) as the forward computed it, in double.
struct Xhat {
  const float* x;
  const double* shift;
  const double* rstd;     // global: per group
  const float* mean;      // local: per pixel, the shifted local mean
  const float* rstd_map;  // local: per pixel
  NormDims d;
  __device__ double operator()(index_t i) const {
    const index_t ng = i / d.count;
    if (!d.local) return (x[i] - shift[ng]) * rstd[ng];
    const index_t q = ng * d.HW + i % d.HW;
    return (x[i] - shift[ng] - mean[q]) * rstd_map[q];
  }
};

// g = dy * w at element i (flat NCHW index), in double.
struct ScaledGrad {
  const float* gy;
  const float* w;  // null: no affine
  index_t HW, C;
  __device__ double operator()(index_t i) const {
    return gy[i] * (w ? static_cast<double>(w[(i / HW) % C]) : 1.0);
  }
};

// Input gradient with global statistics: dx = r (g - mean(g) - xhat mean(g xhat)), means over
// the group, g = dy * w.
void group_norm_backward_global(const NormDims d, const Xhat xhat, const float* w, const float* gy, float* gx) {
  detail::DeviceBuffer<double> m(2 * d.NG);
  double* pm = m.get();
  const double count = static_cast<double>(d.count);
  const ScaledGrad g_at{gy, w, d.HW, d.C};
  detail::segment_sums("group_norm_backward", d.NG, d.count, g_at,
                       [=] __device__(index_t ng, double s) { pm[2 * ng] = s / count; });
  detail::segment_sums(
      "group_norm_backward", d.NG, d.count, [=] __device__(index_t i) { return g_at(i) * xhat(i); },
      [=] __device__(index_t ng, double s) { pm[2 * ng + 1] = s / count; });
  detail::for_each("group_norm_backward", d.NG * d.count, [=] __device__(index_t i) {
    const index_t ng = i / d.count;
    gx[i] = static_cast<float>(xhat.rstd[ng] * (g_at(i) - pm[2 * ng] - xhat(i) * pm[2 * ng + 1]));
  });
}

// Input gradient with local statistics, as on the CPU. Per pixel, with g_c = dy_c * w_c,
// S1 = sum_c g_c, S2 = sum_c g_c xhat_c, r = rstd, A = the shifted local mean: gv = -r^2 S2 / 2
// (dL/dvar), z1 = -r S1 - 2 A gv, z2 = gv; then dx_c = g_c r + (P^T z1 + 2 (x_c - s) P^T z2) / Cg,
// P^T = the adjoint of the local mean (expand adjoint, then the adjoint box sums).
void group_norm_backward_local(const NormDims d, const float* x, const float* w, const float* gy, const double* shift,
                               const float* mean, const float* rstd_map, float* gx) {
  const kernels::PlaneWindows zg{2 * d.NG, d.H, d.W, d.k1, d.k2};  // planes 2 ng (z1) and 2 ng + 1 (z2)
  detail::DeviceBuffer<double> z(2 * d.NG * d.HW), zv(2 * d.NG * d.vplane), adj(2 * d.NG * d.HW);
  double *pz = z.get(), *pa = adj.get();
  detail::for_each("group_norm_backward", d.NG * d.HW, [=] __device__(index_t i) {
    const index_t ng = i / d.HW, p = i % d.HW, c_first = (ng % d.G) * d.cg;
    const double s = shift[ng], m = mean[i], r = rstd_map[i];
    double s1 = 0.0, s2 = 0.0;
    for (index_t c = 0; c < d.cg; ++c) {
      const index_t e = ng * d.count + c * d.HW + p;
      const double gc = gy[e] * (w ? static_cast<double>(w[c_first + c]) : 1.0);
      s1 += gc;
      s2 += gc * (x[e] - s - m) * r;
    }
    const double gv = -0.5 * r * r * s2;
    pz[2 * ng * d.HW + p] = -r * s1 - 2.0 * m * gv;
    pz[(2 * ng + 1) * d.HW + p] = gv;
  });
  detail::expand_planes_adjoint("group_norm_backward", pz, zv.get(), zg);
  detail::box_sums("group_norm_backward", zv.get(), pa, zg.planes, detail::BoxAxis::adjoint(d.hv, d.k1),
                   detail::BoxAxis::adjoint(d.wv, d.k2), 1.0);
  const double inv_area = 1.0 / static_cast<double>(d.k1 * d.k2), inv_cg = 1.0 / static_cast<double>(d.cg);
  detail::for_each("group_norm_backward", d.NG * d.count, [=] __device__(index_t i) {
    const index_t ng = i / d.count, p = i % d.HW, q = ng * d.HW + p;
    const double wc = w ? static_cast<double>(w[(i / d.HW) % d.C]) : 1.0;
    const double a1 = pa[2 * ng * d.HW + p], a2 = pa[(2 * ng + 1) * d.HW + p];
    gx[i] = static_cast<float>(gy[i] * wc * rstd_map[q] + (a1 + 2.0 * (x[i] - shift[ng]) * a2) * inv_area * inv_cg);
  });
}

}  // namespace

void group_norm_forward(const kernels::GroupNormShape& shape, const float* x, const float* w, const float* b,
                        double eps, float* y, double* shift, double* rstd, float* mean, float* rstd_map) {
  const NormDims d(shape);
  detail::segment_sums(
      "group_norm_mean", d.NG, d.count, [=] __device__(index_t i) { return static_cast<double>(x[i]); },
      [=] __device__(index_t ng, double s) { shift[ng] = s / static_cast<double>(d.count); });
  if (!d.local) {
    detail::segment_sums(
        "group_norm_variance", d.NG, d.count,
        [=] __device__(index_t i) {
          const double v = x[i] - shift[i / d.count];
          return v * v;
        },
        [=] __device__(index_t ng, double s) { rstd[ng] = 1.0 / sqrt(s / static_cast<double>(d.count) + eps); });
    detail::for_each("group_norm_forward", d.NG * d.count, [=] __device__(index_t i) {
      const index_t c = (i / d.HW) % d.C, ng = i / d.count;
      const double wc = w ? static_cast<double>(w[c]) : 1.0, bc = b ? static_cast<double>(b[c]) : 0.0;
      y[i] = static_cast<float>((x[i] - shift[ng]) * rstd[ng] * wc + bc);
    });
    return;
  }
  // Per pixel and group: sums over the group's channels of x - shift (plane 2 ng) and of its square
  // (plane 2 ng + 1), then their valid window means, then mean and 1/sqrt(var + eps) in place.
  detail::DeviceBuffer<double> sums(2 * d.NG * d.HW), stats(2 * d.NG * d.vplane);
  double *ps = sums.get(), *pst = stats.get();
  detail::for_each("group_norm_channel_sums", d.NG * d.HW, [=] __device__(index_t i) {
    const index_t ng = i / d.HW, p = i % d.HW;
    double a = 0.0, q = 0.0;
    for (index_t c = 0; c < d.cg; ++c) {
      const double v = x[ng * d.count + c * d.HW + p] - shift[ng];
      a += v;
      q += v * v;
    }
    ps[2 * ng * d.HW + p] = a;
    ps[(2 * ng + 1) * d.HW + p] = q;
  });
  const double inv = 1.0 / static_cast<double>(d.k1 * d.k2) * (1.0 / static_cast<double>(d.cg));
  detail::box_sums("group_norm_local_stats", ps, pst, 2 * d.NG, detail::BoxAxis::valid(d.H, d.k1),
                   detail::BoxAxis::valid(d.W, d.k2), inv);
  detail::for_each("group_norm_local_stats", d.NG * d.vplane, [=] __device__(index_t i) {
    double* m = pst + 2 * (i / d.vplane) * d.vplane + i % d.vplane;  // m[0]: mean, m[vplane]: E[(x - s)^2]
    const double var = m[d.vplane] - m[0] * m[0];
    m[d.vplane] = 1.0 / sqrt((var < 0.0 ? 0.0 : var) + eps);  // NaN stays NaN, as std::max(var, 0.0)
  });
  detail::for_each("group_norm_forward", d.NG * d.count, [=] __device__(index_t i) {
    const index_t c = (i / d.HW) % d.C, ng = i / d.count;
    const double* m = pst + 2 * ng * d.vplane + d.served_by(i % d.HW);
    const double wc = w ? static_cast<double>(w[c]) : 1.0, bc = b ? static_cast<double>(b[c]) : 0.0;
    y[i] = static_cast<float>((x[i] - (shift[ng] + m[0])) * (m[d.vplane] * wc) + bc);
  });
  if (mean)
    detail::for_each("group_norm_local_stats", d.NG * d.HW, [=] __device__(index_t i) {
      const double* m = pst + 2 * (i / d.HW) * d.vplane + d.served_by(i % d.HW);
      mean[i] = static_cast<float>(m[0]);
      rstd_map[i] = static_cast<float>(m[d.vplane]);
    });
}

void group_norm_backward(const kernels::GroupNormShape& shape, const float* x, const float* w, const float* gy,
                         const double* shift, const double* rstd, const float* mean, const float* rstd_map, float* gx,
                         float* gw, float* gb) {
  const NormDims d(shape);
  const Xhat xhat{x, shift, rstd, mean, rstd_map, d};
  if (gx) {
    if (d.local) group_norm_backward_local(d, x, w, gy, shift, mean, rstd_map, gx);
    else group_norm_backward_global(d, xhat, w, gy, gx);
  }
  if (!gw && !gb) return;
  // Per (n, c) sums of dy * xhat and of dy, then summed over n in order, as on the CPU.
  const index_t NC = d.N * d.C, HW = d.HW, N = d.N, C = d.C;
  detail::DeviceBuffer<double> part(2 * NC);
  double* pp = part.get();
  if (gw)
    detail::segment_sums(
        "group_norm_weight_grad", NC, HW, [=] __device__(index_t i) { return gy[i] * xhat(i); },
        [=] __device__(index_t nc, double s) { pp[nc] = s; });
  if (gb)
    detail::segment_sums(
        "group_norm_bias_grad", NC, HW, [=] __device__(index_t i) { return static_cast<double>(gy[i]); },
        [=] __device__(index_t nc, double s) { pp[NC + nc] = s; });
  detail::for_each("group_norm_param_grad", C, [=] __device__(index_t c) {
    double aw = 0.0, ab = 0.0;
    for (index_t n = 0; n < N; ++n) aw += pp[n * C + c], ab += pp[NC + n * C + c];
    if (gw) gw[c] = static_cast<float>(aw);
    if (gb) gb[c] = static_cast<float>(ab);
  });
}

}  // namespace tlc::cuda
