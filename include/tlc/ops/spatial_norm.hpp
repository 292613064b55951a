#pragma once
// Group and instance norm with global or local (TLC) statistics, as one fused primitive with its
// own backward. Global (PyTorch GroupNorm/InstanceNorm2d): mean and biased variance per
// (n, group) over the group's channels x H x W. Local (TLC's form of the norms): per pixel,
// mu = mean over the group's channels of local_mean(x_c), E2 likewise of x_c^2, var = E2 - mu^2
// clamped at 0, with the clamped windows of local_mean. Statistics are one pass of sums of x - s
// and (x - s)^2 in double (variance is shift-invariant; s = the mean of the group's first rows),
// so that mean^2 >> var does not cancel: data with mean 100 and std 0.01 normalises accurately and
// never gives NaN.
#include <array>
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "tlc/ops/cpu/fused_activation.hpp"
#include "tlc/ops/cpu/sum.hpp"
#include "tlc/ops/cpu/vec_math.hpp"
#include "tlc/ops/cuda/spatial_norm.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/elementwise.hpp"
#include "tlc/ops/layout.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/window_size.hpp"

namespace tlc::ops {

// {kh, kw}: global when is_global() (a size <= 0); each axis is global where its size >= the map.
using Window = local::WindowSize;

namespace detail {

// Whether the statistics are local: a window smaller than the map along some axis.
inline bool local_statistics(const kernels::GroupNormShape& s) { return s.k1 < s.H || s.k2 < s.W; }

// The geometry of one group norm and what its forward keeps for the backward (the buffers of
// cpu:: / cuda::group_norm_forward).
template <class T>
struct NormState {
  index_t N, C, G, H, W;
  BoxGeom box;
  bool local;
  const double* shift;  // per (n, group): global mean, or the first rows' mean for local statistics
  const double* rstd;   // per (n, group), global statistics only
  const T* mean;        // local only, [N*G, H*W]: local mean minus shift, 1/sqrt(var + eps);
  const T* rstd_map;    // null when no backward will run

  NormState(const kernels::GroupNormShape& s, const double* shift_, const double* rstd_, const T* mean_,
            const T* rstd_map_)
      : N(s.N), C(s.C), G(s.G), H(s.H), W(s.W), box(s.H, s.W, s.k1, s.k2), local(local_statistics(s)),
        shift(shift_), rstd(rstd_), mean(mean_), rstd_map(rstd_map_) {}
  index_t cg() const { return C / G; }
  index_t hw() const { return H * W; }
};

// Per (n, c) plane of [N, C, H, W] data: the sums {f(p, q)[0], f(p, q)[1]} over its pixels q, each
// plane in 16 fixed lanes (so the result does not depend on the thread count).
template <class F>
std::vector<std::array<double, 2>> plane_sum_pairs(index_t planes, index_t hw, F&& f) {
  std::vector<std::array<double, 2>> out(static_cast<size_t>(planes));
  parallel_for(0, planes, 1, [&](index_t lo, index_t hi) {
    for (index_t p = lo; p < hi; ++p) out[p] = cpu::sums_indexed<2>(hw, [&](index_t q) { return f(p, q); });
  });
  return out;
}

// r[j] = 1/sqrt(max(e2[j] - m[j]^2, 0) + eps) and m[j] for the box sums m (of x - s) and e2 (of
// (x - s)^2), both scaled by `inv` in place. The variance is formed in double; a float model takes
// the 1/sqrt in float, vectorised (its error is float rounding, below what the float output keeps).
template <class T>
void local_moments(double* m, const double* e2, index_t n, double inv, double eps, T* r) {
  for (index_t j = 0; j < n; ++j) {
    m[j] *= inv;
    r[j] = static_cast<T>(e2[j] * inv - m[j] * m[j]);
  }
  if constexpr (std::is_same_v<T, float>) {
    cpu::inv_sqrt_clamped(r, n, static_cast<float>(eps));
  } else {
    for (index_t j = 0; j < n; ++j) r[j] = 1.0 / std::sqrt(std::max(r[j], 0.0) + eps);
  }
}

// Local statistics and output for the output rows served by window rows [t_lo, t_hi) of group ng;
// the maps of the local mean and 1/std into mean_out and rstd_out when not null. The output is
// formed in T as ((x - s) - mean) * (rstd * w) + b with s exact in T, so that x - s loses nothing
// when the data sit far from zero (mean 100, std 0.01).
template <class T>
void local_norm_forward_rows(const NormState<T>& st, const T* x, const T* w, const T* b, double eps, T* y, T* mean_out,
                             T* rstd_out, index_t ng, index_t t_lo, index_t t_hi, cpu::FusedActivation act) {
  const BoxGeom& g = st.box;
  const index_t W = g.W, HW = st.hw(), cg = st.cg(), c_first = (ng % st.G) * cg, wv = g.wv();
  const T* xg = x + ng * cg * HW;
  T* yg = y + ng * cg * HW;
  const double s = st.shift[ng], inv = g.inv_area() / static_cast<double>(cg);
  const T s_t = static_cast<T>(s);
  T* mean_map = mean_out ? mean_out + ng * HW : nullptr;
  T* rstd_map = mean_out ? rstd_out + ng * HW : nullptr;
  std::vector<double> m(static_cast<size_t>(wv)), e2(m.size());
  std::vector<T> r(m.size()), mu(static_cast<size_t>(W)), rs(mu.size()), scale(mu.size());
  sliding_row_steps(
      g.H, g.k1, 0, t_lo, t_hi, 2 * W,
      [&](index_t enter, index_t leave, double* acc) {  // channel sums of (x - s) and (x - s)^2
        for (index_t c = 0; c < cg; ++c) {
          const T* xc = xg + c * HW;
          const T *xe = enter >= 0 ? xc + enter * W : nullptr, *xl = leave >= 0 ? xc + leave * W : nullptr;
          chunks_prefetching(enter >= 0 && enter + 2 < g.H ? xe : nullptr, 2 * W, W, [&](index_t j0, index_t j1) {
            if (xe && xl) {  // one pass for the entering and the leaving row
              for (index_t j = j0; j < j1; ++j) {
                const double v = xe[j] - s, u = xl[j] - s;
                acc[j] += v - u;
                acc[W + j] += v * v - u * u;
              }
            } else {
              const T* xr = xe ? xe : xl;
              const double sign = xe ? 1.0 : -1.0;
              for (index_t j = j0; j < j1; ++j) {
                const double v = xr[j] - s;
                acc[j] += sign * v;
                acc[W + j] += sign * v * v;
              }
            }
          });
        }
      },
      [&](index_t t, const double* acc) {
        box_sum_1d(acc, W, g.k2, 0, wv, m.data());
        box_sum_1d(acc + W, W, g.k2, 0, wv, e2.data());
        local_moments(m.data(), e2.data(), wv, inv, eps, r.data());
        gather_row(m.data(), mu.data(), g, [](double v) { return static_cast<T>(v); });
        gather_row(r.data(), rs.data(), g, [](T v) { return v; });
        for (index_t i = g.row_begin(t); i < g.row_end(t); ++i) {
          if (mean_map) {
            std::copy(mu.begin(), mu.end(), mean_map + i * W);
            std::copy(rs.begin(), rs.end(), rstd_map + i * W);
          }
          for (index_t c = 0; c < cg; ++c) {
            const T wc = w ? w[c_first + c] : T(1), bc = b ? b[c_first + c] : T(0);
            for (index_t j = 0; j < W; ++j) scale[j] = rs[j] * wc;
            const T* xr = xg + c * HW + i * W;
            T* yr = yg + c * HW + i * W;
            for (index_t j = 0; j < W; ++j) yr[j] = ((xr[j] - s_t) - mu[j]) * scale[j] + bc;
            act.apply(yr, W);
          }
        }
      });
}

// Input gradient of the local norm for rows [a_lo, a_hi) of group ng. With g_c = dy_c * w_c,
// S1 = sum_c g_c, S2 = sum_c g_c * xhat_c, gv = -r^2 S2 / 2 (dL/dvar) and A = the shifted local
// mean: dx_c = g_c r + (P^T(-r S1 - 2 A gv) + 2 (x_c - s) P^T(gv)) / Cg, P = the local mean.
template <class T>
void local_norm_backward_rows(const NormState<T>& st, const T* x, const T* w, const T* gy, T* gx, index_t ng,
                              index_t a_lo, index_t a_hi) {
  const BoxGeom& g = st.box;
  const index_t W = g.W, HW = st.hw(), cg = st.cg(), c_first = (ng % st.G) * cg, wv = g.wv();
  const T *xg = x + ng * cg * HW, *gyg = gy + ng * cg * HW;
  T* gxg = gx + ng * cg * HW;
  const T* mean = st.mean + ng * HW;
  const T* rstd = st.rstd_map + ng * HW;
  const double s = st.shift[ng], inv = g.inv_area(), inv_cg = 1.0 / static_cast<double>(cg);
  std::vector<double> s1(static_cast<size_t>(W)), s2(s1.size()), z(2 * s1.size()), d1(s1.size()), d2(s1.size());
  sliding_row_sums(
      g.hv(), g.k1, g.k1 - 1, a_lo, a_hi, 2 * wv,
      [&](index_t r0, double sign, double* acc) {  // dL/dA and dL/dE2 of the output rows whose window starts at r0
        for (index_t i = g.row_begin(r0); i < g.row_end(r0); ++i) {
          std::fill(s1.begin(), s1.end(), 0.0);
          std::fill(s2.begin(), s2.end(), 0.0);
          for (index_t c = 0; c < cg; ++c) {
            const double wc = w ? w[c_first + c] : 1.0;
            const T *xr = xg + c * HW + i * W, *gr = gyg + c * HW + i * W;
            for (index_t j = 0; j < W; ++j) {
              const double gc = gr[j] * wc;
              s1[j] += gc;
              s2[j] += gc * (xr[j] - s - mean[i * W + j]) * rstd[i * W + j];
            }
          }
          for (index_t j = 0; j < W; ++j) {
            const double r = rstd[i * W + j], gv = -0.5 * r * r * s2[j];
            z[j] = -r * s1[j] - 2.0 * mean[i * W + j] * gv;
            z[W + j] = gv;
          }
          scatter_row_add(z.data(), sign, acc, g);
          scatter_row_add(z.data() + W, sign, acc + wv, g);
        }
      },
      [&](index_t a, const double* acc) {
        box_sum_1d(acc, wv, g.k2, g.k2 - 1, W, d1.data());
        box_sum_1d(acc + wv, wv, g.k2, g.k2 - 1, W, d2.data());
        for (index_t c = 0; c < cg; ++c) {
          const double wc = w ? w[c_first + c] : 1.0;
          const T *xr = xg + c * HW + a * W, *gr = gyg + c * HW + a * W;
          T* out = gxg + c * HW + a * W;
          for (index_t j = 0; j < W; ++j)
            out[j] = static_cast<T>(gr[j] * wc * rstd[a * W + j] +
                                    (d1[j] + 2.0 * (xr[j] - s) * d2[j]) * inv * inv_cg);
        }
      });
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/spatial_norm.cu's entry points (same arguments): x [N, C, H, W] as `s`
// describes it; w, b: [C] or null. The forward writes each group's shift (and, with global
// statistics, its 1/sqrt(var + eps)) and, when not null, the local maps the backward needs, and applies
// `act` to the output as it forms it (ops::group_norm_leaky_relu; none by default); the backward
// computes each of gx, gw, gb that is not null.
namespace tlc::cpu {

template <class T>
void group_norm_forward(const kernels::GroupNormShape& shape, const T* px, const T* pw, const T* pb, double eps, T* py,
                        double* shift, double* rstd, T* mean, T* rstd_map, FusedActivation act = {}) {
  using namespace ops::detail;
  const NormState<T> st(shape, shift, rstd, mean, rstd_map);
  const index_t N = st.N, C = st.C, W = st.W, NG = N * st.G, cg = st.cg(), HW = st.hw(), count = cg * HW;

  // Sums of x - s and (x - s)^2 in double with s any value inside the data's range stay free of
  // cancellation; the mean of each group's first rows costs no pass over the map. Rounded to T so
  // that the local output's x - s is formed exactly.
  for (index_t ng = 0; ng < NG; ++ng) {
    double sum = 0;
    for (index_t c = 0; c < cg; ++c)
      for (index_t j = 0; j < W; ++j) sum += px[ng * count + c * HW + j];
    shift[ng] = static_cast<double>(static_cast<T>(sum / static_cast<double>(cg * W)));
  }
  if (st.local) {
    for_plane_rows(NG, st.box.hv(), st.box.k1, [&](index_t ng, index_t lo, index_t hi) {
      local_norm_forward_rows(st, px, pw, pb, eps, py, mean, rstd_map, ng, lo, hi, act);
    });
  } else {
    // One pass: the group's mean is shift + E[x - shift], its variance E[(x - shift)^2] - that^2.
    const auto sums = plane_sum_pairs(N * C, HW, [&](index_t p, index_t q) {
      const double v = px[p * HW + q] - shift[p / cg];
      return std::array<double, 2>{v, v * v};
    });
    for (index_t ng = 0; ng < NG; ++ng) {
      double s1 = 0, s2 = 0;
      for (index_t c = 0; c < cg; ++c) s1 += sums[ng * cg + c][0], s2 += sums[ng * cg + c][1];
      const double m = s1 / count;
      shift[ng] += m;
      rstd[ng] = 1.0 / std::sqrt(std::max(s2 / count - m * m, 0.0) + eps);
    }
    cpu::parallel_for_vectorised(0, N * C, 1, [&](index_t lo, index_t hi) {
      for (index_t p = lo; p < hi; ++p) {
        const index_t c = p % C, ng = p / cg;
        const double s = shift[ng], r = rstd[ng], wc = pw ? pw[c] : 1.0, bc = pb ? pb[c] : 0.0;
        constexpr index_t kChunk = 2048;  // the activation's pass while the values are in L1
        for (index_t i0 = p * HW; i0 < (p + 1) * HW; i0 += kChunk) {
          const index_t i1 = std::min((p + 1) * HW, i0 + kChunk);
          for (index_t i = i0; i < i1; ++i) py[i] = static_cast<T>((px[i] - s) * r * wc + bc);
          act.apply(py + i0, i1 - i0);
        }
      }
    });
  }
}

template <class T>
void group_norm_backward(const kernels::GroupNormShape& shape, const T* px, const T* pw, const T* pg,
                         const double* shift, const double* rstd, const T* mean, const T* rstd_map, T* pgx, T* gw,
                         T* gb) {
  using namespace ops::detail;
  const NormState<T> st(shape, shift, rstd, mean, rstd_map);
  const index_t N = st.N, C = st.C, cg = st.cg(), HW = st.hw(), NG = N * st.G, count = cg * HW;
  // Per (n, c) plane: {sum of dy, sum of dy * xhat}, what the global input gradient and the
  // affine gradients take.
  std::vector<std::array<double, 2>> sums;
  if (gw || gb || (pgx && !st.local)) {
    if (st.local) {
      sums = plane_sum_pairs(N * C, HW, [&](index_t p, index_t q) {
        const index_t m = p / cg * HW + q;
        const double g = pg[p * HW + q];
        return std::array<double, 2>{g, g * (px[p * HW + q] - shift[p / cg] - mean[m]) * rstd_map[m]};
      });
    } else {
      sums = plane_sum_pairs(N * C, HW, [&](index_t p, index_t q) {
        const double g = pg[p * HW + q];
        return std::array<double, 2>{g, g * (px[p * HW + q] - shift[p / cg]) * rstd[p / cg]};
      });
    }
  }
  if (pgx) {
    if (st.local) {
      for_plane_rows(NG, st.H, st.box.k1, [&](index_t ng, index_t lo, index_t hi) {
        local_norm_backward_rows(st, px, pw, pg, pgx, ng, lo, hi);
      });
    } else {  // dx = r (g - mean(g) - xhat mean(g xhat)), means over the group, g = dy * w
      parallel_for(0, NG, 1, [&](index_t lo, index_t hi) {
        for (index_t ng = lo; ng < hi; ++ng) {
          const index_t c_first = (ng % st.G) * cg;
          double m1 = 0, m2 = 0;
          for (index_t c = 0; c < cg; ++c) {
            const double wc = pw ? pw[c_first + c] : 1.0;
            m1 += wc * sums[ng * cg + c][0], m2 += wc * sums[ng * cg + c][1];
          }
          m1 /= count, m2 /= count;
          const double s = shift[ng], r = rstd[ng];
          for (index_t c = 0; c < cg; ++c) {
            const double wc = pw ? pw[c_first + c] : 1.0;
            const index_t base = (ng * cg + c) * HW;
            for (index_t q = 0; q < HW; ++q)
              pgx[base + q] = static_cast<T>(r * (pg[base + q] * wc - m1 - (px[base + q] - s) * r * m2));
          }
        }
      });
    }
  }
  for (int k = 1; k <= 2; ++k) {  // summed over n in order
    T* t = k == 1 ? gw : gb;
    if (!t) continue;
    for (index_t c = 0; c < C; ++c) {
      double acc = 0;
      for (index_t n = 0; n < N; ++n) acc += sums[n * C + c][k == 1 ? 1 : 0];
      t[c] = static_cast<T>(acc);
    }
  }
}

}  // namespace tlc::cpu

namespace tlc::ops {

namespace detail {

// The checked geometry of a group norm of an [N,C,H,W] map on `dev` (x, or leading channels of x).
template <class T>
kernels::GroupNormShape group_norm_shape(const Shape& xs, Device dev, index_t groups, const Tensor<T>& weight,
                                         const Tensor<T>& bias, double eps, Window win) {
  const char* op = "group_norm";
  const index_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  TLC_CHECK(groups >= 1 && C % groups == 0, ShapeError, op, ": expected channels divisible by groups, found ", C,
            " channels and ", groups, " groups");
  TLC_CHECK(eps >= 0, Error, op, ": expected eps >= 0, found ", eps);
  for (const Tensor<T>* p : {&weight, &bias}) {
    if (!p->defined()) continue;
    TLC_CHECK(p->device() == dev, DeviceError, op, ": expected tensors on one device, found ", dev.str(), " and ",
              p->device().str());
    TLC_CHECK(p->shape() == Shape({C}), ShapeError, op, ": expected ", p == &weight ? "weight" : "bias", " of shape [",
              C, "], found ", p->shape().str());
  }
  return {N, C, groups, H, W, kernels::window_extent(win.is_global() ? 0 : win.kh, H),
          kernels::window_extent(win.is_global() ? 0 : win.kw, W)};
}
template <class T>
kernels::GroupNormShape group_norm_shape(const Tensor<T>& x, index_t groups, const Tensor<T>& weight,
                                         const Tensor<T>& bias, double eps, Window win) {
  check_local_input("group_norm", x);
  return group_norm_shape(x.shape(), x.device(), groups, weight, bias, eps, win);
}

// The CPU forward of a group norm of the map `s` describes, at x, with its LeakyReLU applied to each row
// as the norm forms it (cpu::FusedActivation), into y; nothing kept for a backward.
template <class T>
void group_norm_leaky_relu_cpu(const kernels::GroupNormShape& s, const T* x, const Tensor<T>& weight,
                               const Tensor<T>& bias, double eps, T slope, T* y) {
  const bool local = local_statistics(s);
  std::vector<double> shift(static_cast<size_t>(s.N * s.G)), rstd(local ? 0 : shift.size());
  cpu::group_norm_forward(s, x, data_or_null(weight), data_or_null(bias), eps, y, shift.data(),
                          local ? nullptr : rstd.data(), static_cast<T*>(nullptr), static_cast<T*>(nullptr),
                          cpu::FusedActivation{true, static_cast<double>(slope)});
}

}  // namespace detail

// Group norm of x [N,C,H,W] over `groups` groups of C/groups channels; weight/bias [C] or
// undefined (no affine). win: global, or the TLC window (see the header comment).
template <class T>
Tensor<T> group_norm(const Tensor<T>& x, index_t groups, const Tensor<T>& weight = Tensor<T>(),
                     const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5, Window win = Window()) {
  const char* op = "group_norm";
  const kernels::GroupNormShape s = detail::group_norm_shape(x, groups, weight, bias, eps, win);
  const index_t C = s.C, H = s.H, W = s.W, NG = s.N * groups;
  const bool local = detail::local_statistics(s);
  const Device dev = x.device();
  Tensor<T> y = Tensor<T>::empty(x.shape(), dev);
  // Kept for the backward: each group's shift and, with global statistics, its 1/sqrt(var + eps),
  // in double; with local ones, the per-pixel maps, only when a backward will run.
  const TensorD shift = TensorD::empty({NG}, dev), rstd = local ? TensorD() : TensorD::empty({NG}, dev);
  const bool backward = autograd::records({&x, &weight, &bias});
  Tensor<T> mean, rstd_map;
  if (local && backward) {
    mean = Tensor<T>::empty({NG, H * W}, dev);
    rstd_map = Tensor<T>::empty({NG, H * W}, dev);
  }
  using detail::data_or_null;
  TLC_DISPATCH(T, op, dev, group_norm_forward, s, x.data(), data_or_null(weight), data_or_null(bias), eps, y.data(),
               shift.data(), data_or_null(rstd), data_or_null(mean), data_or_null(rstd_map));
  return autograd::record<T>(y, op, {x, weight, bias}, [=](const Tensor<T>& gy, const std::vector<bool>& need) {
    std::vector<Tensor<T>> grads(3);
    for (size_t k = 0; k < 3; ++k)
      if (need[k]) grads[k] = Tensor<T>::empty(k == 0 ? x.shape() : Shape{C}, dev);
    TLC_DISPATCH(T, op, dev, group_norm_backward, s, x.data(), data_or_null(weight), gy.data(), shift.data(),
                 data_or_null(rstd), data_or_null(mean), data_or_null(rstd_map), data_or_null(grads[0]),
                 data_or_null(grads[1]), data_or_null(grads[2]));
    return grads;
  });
}

// leaky_relu(group_norm(x, groups, weight, bias, eps, win), slope). On the CPU, when no tape records,
// the norm applies the activation to each row as it forms it (cpu::FusedActivation): one pass over
// the map and one map fewer, the same values. Otherwise the two ops.
template <class T>
Tensor<T> group_norm_leaky_relu(const Tensor<T>& x, index_t groups, const Tensor<T>& weight, const Tensor<T>& bias,
                                double eps, Window win, T slope) {
  if (autograd::records({&x, &weight, &bias}) || !x.device().is_cpu())
    return leaky_relu(group_norm(x, groups, weight, bias, eps, win), slope);
  Tensor<T> y = Tensor<T>::empty(x.shape());
  detail::group_norm_leaky_relu_cpu(detail::group_norm_shape(x, groups, weight, bias, eps, win), x.data(), weight,
                                    bias, eps, slope, y.data());
  return y;
}

// leaky_relu(concat(group_norm(x[:, :c], groups, weight, bias, eps, win), x[:, c:])): a group norm of
// x's first c channels (weight, bias [c]), the others passed through, then the LeakyReLU — HINet's
// half instance norm (c = C/2, groups = c) and the activation after it. On the CPU, when no tape
// records, one pass reads x and writes the result: no slices, no concatenated copy, the same values.
// Otherwise those ops.
template <class T>
Tensor<T> leading_group_norm_leaky_relu(const Tensor<T>& x, index_t c, index_t groups, const Tensor<T>& weight,
                                        const Tensor<T>& bias, double eps, Window win, T slope) {
  const char* op = "leading_group_norm_leaky_relu";
  detail::check_local_input(op, x);
  const index_t N = x.size(0), C = x.size(1), HW = x.size(2) * x.size(3);
  TLC_CHECK(c > 0 && c <= C, ShapeError, op, ": expected 0 < normalised channels <= ", C, ", found ", c);
  if (c == C) return group_norm_leaky_relu(x, groups, weight, bias, eps, win, slope);
  if (autograd::records({&x, &weight, &bias}) || !x.device().is_cpu()) {
    const Tensor<T> head = group_norm(slice(x, 1, 0, c), groups, weight, bias, eps, win);
    return leaky_relu(concat(std::vector<Tensor<T>>{head, slice(x, 1, c, C)}, 1), slope);
  }
  const kernels::GroupNormShape s =
      detail::group_norm_shape(Shape{1, c, x.size(2), x.size(3)}, x.device(), groups, weight, bias, eps, win);
  Tensor<T> y = Tensor<T>::empty(x.shape());
  for (index_t n = 0; n < N; ++n) {  // the head of each image is contiguous, its pass-through part too
    const T* xn = x.data() + n * C * HW;
    T* yn = y.data() + n * C * HW;
    detail::group_norm_leaky_relu_cpu(s, xn, weight, bias, eps, slope, yn);
    cpu::unary_forward(static_cast<int>(kernels::Unary::LeakyRelu), slope, xn + c * HW, yn + c * HW, (C - c) * HW);
  }
  return y;
}

// Instance norm = group norm with one channel per group (HINet's InstanceNorm2d, TLC's
// LocalInstanceNorm2d when win is local).
template <class T>
Tensor<T> instance_norm(const Tensor<T>& x, const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                        double eps = 1e-5, Window win = Window()) {
  detail::check_rank("instance_norm", x, 4);
  return group_norm(x, x.size(1), weight, bias, eps, win);
}

}  // namespace tlc::ops
