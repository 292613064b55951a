#pragma once
// TLC's local aggregation primitives (Chu et al., ECCV 2022): local_mean, the stride-1 box mean whose
// window slides inward at the borders, and local_max with the same window rule. local_mean costs
// O(H*W) per plane whatever the window (running sums in double); local_max runs van Herk/Gil-Werman
// block maxima (O(1) per element) down the columns and in its backward, and along the rows of the
// forward log2(k2) vectorised doubling passes (measured faster than van Herk on transposed row
// blocks, and flat in the window: docs/BENCHMARKS.md). Both work on the valid (H-k1+1) x (W-k2+1)
// map, then gather through the clamped starts, so the replicate-padded tensor of the reference
// code is never built. A window covering the map
// gives the global mean/max at every pixel. The two halves are ops of their own as well:
// local_mean_valid / local_max_valid return the valid map and local_expand gathers it back to
// H x W, so point-wise layers after a pool can run on the smaller map:
// local_mean(x) == local_expand(local_mean_valid(x)) exactly.
#include <algorithm>
#include <cstring>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/scan.hpp"
#include "tlc/ops/cuda/local.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/local.hpp"

namespace tlc::ops {

namespace detail {

// Window geometry of one H x W plane.
struct BoxGeom {
  index_t H, W, k1, k2;
  BoxGeom(index_t h, index_t w, index_t kh, index_t kw)
      : H(h), W(w), k1(kernels::window_extent(kh, h)), k2(kernels::window_extent(kw, w)) {}
  index_t hv() const { return H - k1 + 1; }  // valid window starts per axis
  index_t wv() const { return W - k2 + 1; }
  double inv_area() const { return 1.0 / static_cast<double>(k1 * k2); }
  // Output rows [row_begin(t), row_end(t)) are served by the window starting at row t.
  index_t row_begin(index_t t) const { return t == 0 ? 0 : t + (k1 - 1) / 2; }
  index_t row_end(index_t t) const { return t == hv() - 1 ? H : t + (k1 - 1) / 2 + 1; }
};

inline void check_window_args(const char* op, index_t kh, index_t kw) {
  TLC_CHECK(kh >= 1 && kw >= 1, ShapeError, op, ": expected window sizes >= 1, found ", kh, "x", kw);
}

template <class T>
void check_local_input(const char* op, const Tensor<T>& x) {
  check_rank(op, x, 4);
  TLC_CHECK(x.numel() > 0, ShapeError, op, ": expected a non-empty map, found shape ", x.shape().str());
}

// Runs f(plane, lo, hi) over every plane and a range of its `rows` output rows. Rows are split only
// when there are too few planes to occupy the threads, and never into chunks shorter than
// `min_rows` (each chunk first sums a window's worth of source rows).
template <class F>
void for_plane_rows(index_t planes, index_t rows, index_t min_rows, F&& f) {
  const index_t threads = num_threads();
  index_t chunks = 1;
  if (planes < 2 * threads)
    chunks = std::clamp<index_t>((2 * threads + planes - 1) / planes, 1, std::max<index_t>(1, rows / std::max<index_t>(min_rows, 1)));
  const index_t step = (rows + chunks - 1) / chunks;
  chunks = (rows + step - 1) / step;
  cpu::parallel_for_vectorised(0, planes * chunks, 1, [&](index_t lo, index_t hi) {
    for (index_t task = lo; task < hi; ++task) {
      const index_t c = task % chunks;
      f(task / chunks, c * step, std::min(rows, (c + 1) * step));
    }
  });
}

// dst[t] = sum of src[r] over r in [t - off, t - off + k) clipped to [0, n), for t in [0, n_out).
// off = 0 gives the valid window sums of length k; off = k - 1 gives their adjoint. The running sum
// is vectorised where the CPU allows and otherwise takes four differences at a time, so that its
// dependency chain is one add per four outputs.
inline void box_sum_1d(const double* src, index_t n, index_t k, index_t off, index_t n_out, double* dst) {
  double s = 0;
  for (index_t r = 0; r < std::min(k - off, n); ++r) s += src[r];
  dst[0] = s;
  auto step = [&](index_t t) {
    const index_t enter = t - off + k - 1, leave = t - off - 1;
    if (enter < n) s += src[enter];
    if (leave >= 0) s -= src[leave];
    dst[t] = s;
  };
  // Outputs whose window both gains and loses an element: t in [t0, t1).
  const index_t t0 = std::max<index_t>(1, off + 1), t1 = std::min(n_out, n + off - k + 1);
  index_t t = 1;
  for (; t < std::min(t0, n_out); ++t) step(t);
  const index_t in = k - 1 - off, out = -off - 1;  // src offsets of the entering and leaving elements
  t = cpu::running_sum_of_differences(src + in, src + out, t, t1, s, dst);
  for (; t + 4 <= t1; t += 4) {
    const double d0 = src[t + in] - src[t + out], d1 = src[t + 1 + in] - src[t + 1 + out],
                 d2 = src[t + 2 + in] - src[t + 2 + out], d3 = src[t + 3 + in] - src[t + 3 + out];
    const double p1 = d0 + d1, p2 = p1 + d2, p3 = p2 + d3;
    dst[t] = s + d0, dst[t + 1] = s + p1, dst[t + 2] = s + p2, dst[t + 3] = s + p3;
    s += p3;
  }
  for (; t < n_out; ++t) step(t);
}

// The vertical counterpart over whole rows of `width` doubles: for each t in [t_lo, t_hi),
// acc = sum of source rows r in [t - off, t - off + k) clipped to [0, n), then emit(t, acc).
// step(enter, leave, acc) adds source row `enter` to acc and subtracts row `leave`; either is -1
// when no row enters or leaves (so that a caller can fuse the two rows into one pass).
template <class Step, class Emit>
void sliding_row_steps(index_t n, index_t k, index_t off, index_t t_lo, index_t t_hi, index_t width, Step&& step,
                       Emit&& emit) {
  if (t_lo >= t_hi) return;
  std::vector<double> acc(static_cast<size_t>(width), 0.0);
  for (index_t r = std::max<index_t>(0, t_lo - off); r < std::min(n, t_lo - off + k); ++r) step(r, -1, acc.data());
  emit(t_lo, acc.data());
  for (index_t t = t_lo + 1; t < t_hi; ++t) {
    const index_t enter = t - off + k - 1, leave = t - off - 1;
    step(enter < n ? enter : -1, leave, acc.data());
    emit(t, acc.data());
  }
}

// sliding_row_sums with add(r, sign, acc), which adds sign * (source row r) to acc, for rows
// entering (+1) and leaving (-1).
template <class Add, class Emit>
void sliding_row_sums(index_t n, index_t k, index_t off, index_t t_lo, index_t t_hi, index_t width, Add&& add,
                      Emit&& emit) {
  sliding_row_steps(
      n, k, off, t_lo, t_hi, width,
      [&](index_t enter, index_t leave, double* acc) {
        if (enter >= 0) add(enter, 1.0, acc);
        if (leave >= 0) add(leave, -1.0, acc);
      },
      emit);
}

// dst[j] = f(v[c0(j)]) for one output row, where v holds the valid-map row (g.wv() values).
template <class S, class Out, class F>
void gather_row(const S* v, Out* dst, const BoxGeom& g, F&& f) {
  const index_t left = (g.k2 - 1) / 2, wv = g.wv();
  const Out first = f(v[0]), last = f(v[wv - 1]);
  for (index_t j = 0; j < left; ++j) dst[j] = first;
  for (index_t j = 0; j < wv; ++j) dst[left + j] = f(v[j]);
  for (index_t j = left + wv; j < g.W; ++j) dst[j] = last;
}

// Output rows [row_begin(t), row_end(t)) of the plane y, all served by valid row t (values v).
template <class S, class Out, class F>
void expand_rows(const S* v, Out* y, const BoxGeom& g, index_t t, F&& f) {
  Out* first = y + g.row_begin(t) * g.W;
  gather_row(v, first, g, f);
  for (index_t i = g.row_begin(t) + 1; i < g.row_end(t); ++i)
    std::memcpy(y + i * g.W, first, sizeof(Out) * static_cast<size_t>(g.W));
}

// Adjoint of gather_row: acc[c0(j)] += sign * v[j].
template <class S>
void scatter_row_add(const S* v, double sign, double* acc, const BoxGeom& g) {
  for (index_t j = 0; j < g.W; ++j) acc[kernels::window_start(j, g.k2, g.W)] += sign * v[j];
}

// Adjoint of expand_rows: scatter_row_add over the output rows of gy that valid row t serves.
template <class T>
void expand_rows_adjoint(const T* gy, double sign, double* acc, const BoxGeom& g, index_t t) {
  for (index_t i = g.row_begin(t); i < g.row_end(t); ++i) scatter_row_add(gy + i * g.W, sign, acc, g);
}

// Runs body(j0, j1) over [0, W) in chunks of a few cache lines, first asking for the same chunk
// `ahead` elements past `row` (when row is not null). The rows entering a sliding window stream
// from memory one per step, with much work in between; the hardware prefetcher stops at page
// boundaries, so without this every row starts with cache misses.
template <class T, class Body>
void chunks_prefetching(const T* row, index_t ahead, index_t W, Body&& body) {
  constexpr index_t line = 64 / sizeof(T), chunk = 16 * line;
  for (index_t j0 = 0; j0 < W; j0 += chunk) {
    const index_t j1 = std::min(W, j0 + chunk);
    if (row)
      for (index_t j = j0; j < j1; j += line) __builtin_prefetch(row + ahead + j);
    body(j0, j1);
  }
}

// Valid window sums of one plane for valid rows [t_lo, t_hi): emit(t, sums), g.wv() doubles.
template <class In, class Emit>
void box_sum_rows(const In* x, const BoxGeom& g, index_t t_lo, index_t t_hi, Emit&& emit) {
  std::vector<double> v(static_cast<size_t>(g.wv()));
  sliding_row_steps(
      g.H, g.k1, 0, t_lo, t_hi, g.W,
      [&](index_t enter, index_t leave, double* acc) {  // one pass for the entering and the leaving row
        const In *xe = enter >= 0 ? x + enter * g.W : nullptr, *xl = leave >= 0 ? x + leave * g.W : nullptr;
        chunks_prefetching(enter >= 0 && enter + 2 < g.H ? xe : nullptr, 2 * g.W, g.W, [&](index_t j0, index_t j1) {
          if (xe && xl) {
            for (index_t j = j0; j < j1; ++j) acc[j] += static_cast<double>(xe[j]) - static_cast<double>(xl[j]);
          } else {
            const In* row = xe ? xe : xl;
            const double sign = xe ? 1.0 : -1.0;
            for (index_t j = j0; j < j1; ++j) acc[j] += sign * row[j];
          }
        });
      },
      [&](index_t t, const double* acc) {
        box_sum_1d(acc, g.W, g.k2, 0, g.wv(), v.data());
        emit(t, static_cast<const double*>(v.data()));
      });
}

// Adjoint of the valid window means for output (= input-gradient) rows [a_lo, a_hi): each
// valid-map gradient is spread over its window by a full box sum. add_row(t, sign, acc) adds
// sign * (the gradient of valid row t, g.wv() values) to acc.
template <class T, class AddRow>
void box_mean_adjoint_plane(T* gx, const BoxGeom& g, index_t a_lo, index_t a_hi, AddRow&& add_row) {
  const double inv = g.inv_area();
  std::vector<double> row(static_cast<size_t>(g.W));
  sliding_row_sums(g.hv(), g.k1, g.k1 - 1, a_lo, a_hi, g.wv(), add_row, [&](index_t a, const double* acc) {
    box_sum_1d(acc, g.wv(), g.k2, g.k2 - 1, g.W, row.data());
    for (index_t j = 0; j < g.W; ++j) gx[a * g.W + j] = static_cast<T>(row[j] * inv);
  });
}

using kernels::max_before;  // NaN first, then larger; ties keep the earlier

// Sliding arg-max over n positions of m lanes each (position i, lane l at v[i*m + l]):
// out[t*m + l] = max over positions [t, t+k), t in [0, n-k+1), with van Herk/Gil-Werman block
// prefix/suffix maxima (O(1) per element). Ties go to the lowest position. With kArg, arg[i*m + l]
// is the index attached to each input and out_arg receives the winner's; without, both are unused.
template <bool kArg, class T>
void sliding_argmax(const T* v, const index_t* arg, index_t n, index_t m, index_t k, T* out, index_t* out_arg,
                    std::vector<T>& pre, std::vector<index_t>& pre_arg, std::vector<T>& suf,
                    std::vector<index_t>& suf_arg) {
  const size_t total = static_cast<size_t>(n * m);
  pre.resize(total), suf.resize(total);
  if constexpr (kArg) pre_arg.resize(total), suf_arg.resize(total);
  auto take = [&](T* dv, index_t* da, index_t d, const T* sv, const index_t* sa, index_t s) {
    dv[d] = sv[s];
    if constexpr (kArg) da[d] = sa[s];
  };
  for (index_t b0 = 0; b0 < n; b0 += k) {  // blocks [b0, b1)
    const index_t b1 = std::min(n, b0 + k);
    for (index_t l = 0; l < m; ++l) take(pre.data(), pre_arg.data(), b0 * m + l, v, arg, b0 * m + l);
    for (index_t i = b0 + 1; i < b1; ++i)
      for (index_t l = 0; l < m; ++l) {
        const index_t e = i * m + l;  // strict comparison: earlier positions win ties
        if (max_before(v[e], pre[e - m])) take(pre.data(), pre_arg.data(), e, v, arg, e);
        else take(pre.data(), pre_arg.data(), e, pre.data(), pre_arg.data(), e - m);
      }
    for (index_t l = 0; l < m; ++l) take(suf.data(), suf_arg.data(), (b1 - 1) * m + l, v, arg, (b1 - 1) * m + l);
    for (index_t i = b1 - 2; i >= b0; --i)
      for (index_t l = 0; l < m; ++l) {
        const index_t e = i * m + l;  // on ties the lower position i wins
        if (!max_before(suf[e + m], v[e])) take(suf.data(), suf_arg.data(), e, v, arg, e);
        else take(suf.data(), suf_arg.data(), e, suf.data(), suf_arg.data(), e + m);
      }
  }
  for (index_t t = 0; t + k <= n; ++t)
    for (index_t l = 0; l < m; ++l) {
      const index_t a = t * m + l, b = (t + k - 1) * m + l;  // suf covers [t, block end], pre the rest
      if (max_before(pre[b], suf[a])) take(out, out_arg, a, pre.data(), pre_arg.data(), b);
      else take(out, out_arg, a, suf.data(), suf_arg.data(), a);
    }
}

// out[t] = max of v[t, t+k) for t in [0, n-k+1), values only (NaN propagates): maxima over 2, 4,
// ... p <= k elements by doubling, then out[t] = max(M_p[t], M_p[t+k-p]) (the two windows overlap
// and cover [t, t+k)). log2(k) passes, each a vectorised loop over the row, where the block
// prefix/suffix scans of van Herk run one compare-and-branch per element.
template <class T>
void sliding_max_doubling(const T* v, index_t n, index_t k, T* out, std::vector<T>& a, std::vector<T>& b) {
  auto max_nan = [](T x, T y) { return (x != x || x > y) ? x : y; };
  a.assign(v, v + n);
  index_t p = 1;
  for (; 2 * p <= k; p *= 2) {  // a[j] = max of v[j, j+p) for j < n-p+1; then the same for 2p
    b.resize(a.size());
    const T* src = a.data();
    T* dst = b.data();
    for (index_t j = 0; j + 2 * p <= n; ++j) dst[j] = max_nan(src[j], src[j + p]);
    a.swap(b);
  }
  const T* m = a.data();
  for (index_t t = 0; t + k <= n; ++t) out[t] = max_nan(m[t], m[t + k - p]);
}

// Buffers of window_max_plane, kept across the planes one thread handles.
template <class T>
struct WindowMaxScratch {
  std::vector<T> rmax, pre, suf;
  std::vector<index_t> rarg, idx, pre_arg, suf_arg;
};

// Max (and with kArg the arg-max as a flat index in the plane) of every valid window of one plane
// into vmax (and varg), g.hv() x g.wv() values. Ties go to the first element in row-major order.
template <bool kArg, class T>
void window_max_plane(const T* x, const BoxGeom& g, T* vmax, index_t* varg, WindowMaxScratch<T>& s) {
  const index_t H = g.H, W = g.W, wv = g.wv();
  s.rmax.resize(static_cast<size_t>(H * wv));
  if constexpr (kArg) s.rarg.resize(s.rmax.size()), s.idx.resize(static_cast<size_t>(W));
  for (index_t r = 0; r < H; ++r) {
    if constexpr (kArg) {
      for (index_t c = 0; c < W; ++c) s.idx[c] = r * W + c;
      sliding_argmax<kArg>(x + r * W, s.idx.data(), W, 1, g.k2, s.rmax.data() + r * wv, s.rarg.data() + r * wv, s.pre,
                           s.pre_arg, s.suf, s.suf_arg);
    } else {
      sliding_max_doubling(x + r * W, W, g.k2, s.rmax.data() + r * wv, s.pre, s.suf);
    }
  }
  sliding_argmax<kArg>(s.rmax.data(), s.rarg.data(), H, wv, g.k1, vmax, varg, s.pre, s.pre_arg, s.suf, s.suf_arg);
}

template <class T>
void check_valid_map(const char* op, const Tensor<T>& v, const BoxGeom& g) {
  TLC_CHECK(v.size(2) == g.hv() && v.size(3) == g.wv(), ShapeError, op, ": expected a ", g.hv(), "x", g.wv(),
            " valid map for ", g.k1, "x", g.k2, " windows on a ", g.H, "x", g.W, " map, found shape ", v.shape().str());
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/local.cu's entry points (same arguments; `op` a kernels::LocalOp) on
// the planes `w` describes: forward in -> out, backward gout -> gin. Expand reads the valid map
// and writes H x W; the backward of MaxValid recomputes the arg-max from `in`.
namespace tlc::cpu {

template <class T>
void local_forward(int op, const T* in, T* out, const kernels::PlaneWindows& w) {
  using namespace ops::detail;
  const BoxGeom g(w.H, w.W, w.k1, w.k2);
  const index_t plane = g.H * g.W, vplane = g.hv() * g.wv();
  const double inv = g.inv_area();
  switch (static_cast<kernels::LocalOp>(op)) {
    case kernels::LocalOp::MeanValid:
      for_plane_rows(w.planes, g.hv(), g.k1, [&](index_t p, index_t lo, index_t hi) {
        box_sum_rows(in + p * plane, g, lo, hi, [&](index_t t, const double* sums) {
          T* dst = out + p * vplane + t * g.wv();
          for (index_t j = 0; j < g.wv(); ++j) dst[j] = static_cast<T>(sums[j] * inv);
        });
      });
      return;
    case kernels::LocalOp::Mean:
      for_plane_rows(w.planes, g.hv(), g.k1, [&](index_t p, index_t lo, index_t hi) {
        box_sum_rows(in + p * plane, g, lo, hi, [&](index_t t, const double* sums) {
          // Rounded to T before the gather, as local_mean_valid stores it: the composition is exact.
          expand_rows(sums, out + p * plane, g, t, [inv](double a) { return static_cast<T>(a * inv); });
        });
      });
      return;
    case kernels::LocalOp::Expand:
      for_plane_rows(w.planes, g.hv(), 1, [&](index_t p, index_t lo, index_t hi) {
        for (index_t t = lo; t < hi; ++t)
          expand_rows(in + p * vplane + t * g.wv(), out + p * plane, g, t, [](T a) { return a; });
      });
      return;
    case kernels::LocalOp::MaxValid:
      parallel_for(0, w.planes, 1, [&](index_t lo, index_t hi) {
        WindowMaxScratch<T> scratch;
        for (index_t p = lo; p < hi; ++p)
          window_max_plane<false>(in + p * plane, g, out + p * vplane, nullptr, scratch);
      });
      return;
  }
}

template <class T>
void local_backward(int op, const T* in, const T* gout, T* gin, const kernels::PlaneWindows& w) {
  using namespace ops::detail;
  const BoxGeom g(w.H, w.W, w.k1, w.k2);
  const index_t plane = g.H * g.W, vplane = g.hv() * g.wv();
  switch (static_cast<kernels::LocalOp>(op)) {
    case kernels::LocalOp::MeanValid:
      for_plane_rows(w.planes, g.H, g.k1, [&](index_t p, index_t lo, index_t hi) {
        const T* gp = gout + p * vplane;
        box_mean_adjoint_plane(gin + p * plane, g, lo, hi, [&](index_t t, double sign, double* acc) {
          const T* row = gp + t * g.wv();
          for (index_t j = 0; j < g.wv(); ++j) acc[j] += sign * row[j];
        });
      });
      return;
    case kernels::LocalOp::Mean:
      for_plane_rows(w.planes, g.H, g.k1, [&](index_t p, index_t lo, index_t hi) {
        box_mean_adjoint_plane(gin + p * plane, g, lo, hi, [&](index_t t, double sign, double* acc) {
          expand_rows_adjoint(gout + p * plane, sign, acc, g, t);
        });
      });
      return;
    case kernels::LocalOp::Expand:  // gin: the valid map
      for_plane_rows(w.planes, g.hv(), 1, [&](index_t p, index_t lo, index_t hi) {
        std::vector<double> acc(static_cast<size_t>(g.wv()));
        for (index_t t = lo; t < hi; ++t) {
          std::fill(acc.begin(), acc.end(), 0.0);
          expand_rows_adjoint(gout + p * plane, 1.0, acc.data(), g, t);
          for (index_t j = 0; j < g.wv(); ++j) gin[p * vplane + t * g.wv() + j] = static_cast<T>(acc[j]);
        }
      });
      return;
    case kernels::LocalOp::MaxValid:
      parallel_for(0, w.planes, 1, [&](index_t lo, index_t hi) {
        std::vector<T> vmax(static_cast<size_t>(vplane));
        std::vector<index_t> varg(vmax.size());
        WindowMaxScratch<T> scratch;
        for (index_t p = lo; p < hi; ++p) {
          std::fill(gin + p * plane, gin + (p + 1) * plane, T(0));
          // recomputed: nothing kept alive between passes
          window_max_plane<true>(in + p * plane, g, vmax.data(), varg.data(), scratch);
          for (index_t e = 0; e < vplane; ++e) gin[p * plane + varg[e]] += gout[p * vplane + e];
        }
      });
      return;
  }
}

}  // namespace tlc::cpu

namespace tlc::ops {
namespace detail {

// `kind` on the [N, C, ., .] tensor `in` for windows kh x kw on H x W maps, arguments checked:
// the map is `in` itself except for Expand, whose `in` is the valid map and H x W the size to
// expand to.
template <class T>
Tensor<T> local_op(const char* op, kernels::LocalOp kind, const Tensor<T>& in, index_t H, index_t W, index_t kh,
                   index_t kw) {
  const kernels::PlaneWindows g{in.size(0) * in.size(1), H, W, kernels::window_extent(kh, H),
                                kernels::window_extent(kw, W)};
  const bool valid_out = kind == kernels::LocalOp::MeanValid || kind == kernels::LocalOp::MaxValid;
  const Shape in_shape = in.shape();
  const Device dev = in.device();
  Tensor<T> out = Tensor<T>::empty({in_shape[0], in_shape[1], valid_out ? g.hv() : H, valid_out ? g.wv() : W}, dev);
  TLC_DISPATCH(T, op, dev, local_forward, static_cast<int>(kind), in.data(), out.data(), g);
  // Only the max reads its input again (to recompute the arg-max).
  const Tensor<T> saved = kind == kernels::LocalOp::MaxValid ? in.detach() : Tensor<T>();
  return autograd::record<T>(out, op, {in}, [=](const Tensor<T>& gout, const std::vector<bool>&) {
    Tensor<T> gin = Tensor<T>::empty(in_shape, dev);
    TLC_DISPATCH(T, op, dev, local_backward, static_cast<int>(kind), data_or_null(saved), gout.data(), gin.data(), g);
    return std::vector<Tensor<T>>{gin};
  });
}

}  // namespace detail

// out[n,c,t,s] = mean of x[n,c] over rows [t, t+k1) and cols [s, s+k2), k = min(K, size) per axis:
// the valid window means, [N, C, H-k1+1, W-k2+1]. Sums accumulate in double.
template <class T>
Tensor<T> local_mean_valid(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "local_mean_valid";
  detail::check_local_input(op, x);
  detail::check_window_args(op, kh, kw);
  return detail::local_op(op, kernels::LocalOp::MeanValid, x, x.size(2), x.size(3), kh, kw);
}

// out[n,c,i,j] = v[n,c,r0(i),c0(j)] with the clamped window starts r0 = clamp(i - (k1-1)/2, 0, H-k1),
// c0 likewise, k = min(K, size) per axis; v must be the [N, C, H-k1+1, W-k2+1] valid map.
// The gradient of each valid entry is the sum over the pixels it serves.
template <class T>
Tensor<T> local_expand(const Tensor<T>& v, index_t H, index_t W, index_t kh, index_t kw) {
  const char* op = "local_expand";
  detail::check_local_input(op, v);
  detail::check_window_args(op, kh, kw);
  TLC_CHECK(H >= 1 && W >= 1, ShapeError, op, ": expected an output size >= 1, found ", H, "x", W);
  detail::check_valid_map(op, v, detail::BoxGeom(H, W, kh, kw));
  return detail::local_op(op, kernels::LocalOp::Expand, v, H, W, kh, kw);
}

// out[n,c,i,j] = mean of x[n,c] over rows [r0, r0+k1) and cols [c0, c0+k2), k = min(K, size) per
// axis, r0 = clamp(i - (k1-1)/2, 0, H-k1), c0 likewise. Sums accumulate in double.
// local_expand(local_mean_valid(x)) fused: each valid row is gathered while still in double.
template <class T>
Tensor<T> local_mean(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "local_mean";
  detail::check_local_input(op, x);
  detail::check_window_args(op, kh, kw);
  return detail::local_op(op, kernels::LocalOp::Mean, x, x.size(2), x.size(3), kh, kw);
}

// out[n,c,t,s] = max of x[n,c] over rows [t, t+k1) and cols [s, s+k2): the valid window maxima,
// [N, C, H-k1+1, W-k2+1]. The gradient of each output goes to its window's arg-max; ties pick the
// first element in row-major order (topmost row, then leftmost column). NaN propagates.
template <class T>
Tensor<T> local_max_valid(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "local_max_valid";
  detail::check_local_input(op, x);
  detail::check_window_args(op, kh, kw);
  return detail::local_op(op, kernels::LocalOp::MaxValid, x, x.size(2), x.size(3), kh, kw);
}

// out[n,c,i,j] = max of x[n,c] over the same clamped window as local_mean: local_max_valid, then
// local_expand (ties and NaN as there).
template <class T>
Tensor<T> local_max(const Tensor<T>& x, index_t kh, index_t kw) {
  const char* op = "local_max";
  detail::check_local_input(op, x);
  detail::check_window_args(op, kh, kw);
  return local_expand(local_max_valid(x, kh, kw), x.size(2), x.size(3), kh, kw);
}

}  // namespace tlc::ops
