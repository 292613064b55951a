#pragma once
// CPU convolution kernels on NCHW: forward, gradient w.r.t. the input (also the forward of the
// transposed convolution) and w.r.t. the filter. Three strategies:
//   - 1x1, stride 1, no padding: the image already is the GEMM operand (no im2col);
//   - depthwise (groups == Cin == Cout): direct row-wise loops, vectorisable along the width;
//   - otherwise a GEMM per image and group whose B operand, the im2col columns, is gathered from the
//     image panel by panel as the GEMM packs it (ConvColumns); the gradients still go through im2col
//     over column chunks of bounded size.
// Whole images run in parallel when there are enough of them; otherwise the GEMM and the
// im2col loops inside one image use the threads.
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/conv_geom.hpp"
#include "tlc/ops/cpu/gemm.hpp"

namespace tlc::cpu {

namespace conv_detail {

// Elements of one thread's im2col buffer: bounds memory whatever the image size.
inline constexpr index_t kColumnBudget = index_t(1) << 20;

// Output indices o in [0, out) whose input index o * stride + offset lies in [0, in).
inline void valid_range(index_t out, index_t stride, index_t offset, index_t in, index_t& lo, index_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = in - offset <= 0 ? 0 : (in - offset - 1) / stride + 1;
  lo = std::min(lo, out);
  hi = std::max(lo, std::min(hi, out));
}

// Output-position columns per im2col chunk.
inline index_t chunk_columns(const ConvGeom& g) {
  return std::min(g.out_plane(), std::max<index_t>(64, kColumnBudget / std::max<index_t>(1, g.k_g())));
}

// Calls fn(lo, hi, row, ow0, ow1) for each output row segment of output positions [p0, p1).
template <class F>
void for_each_row_segment(const ConvGeom& g, index_t p0, index_t p1, F&& fn) {
  for (index_t p = p0; p < p1;) {
    const index_t oh = p / g.out_w, ow0 = p % g.out_w, ow1 = std::min(g.out_w, ow0 + (p1 - p));
    fn(oh, ow0, ow1, p - p0);
    p += ow1 - ow0;
  }
}

// d[ow - ow0] = x_row[ow * sw] for output positions ow in [ow0, ow1) of one output row, 0 outside the
// valid positions [wlo, whi) (x_row at input column -pw + j; null for an input row outside the image).
template <class T>
void column_segment(const ConvGeom& g, const T* x_row, index_t wlo, index_t whi, index_t ow0, index_t ow1, T* d) {
  if (!x_row) {
    std::fill(d, d + (ow1 - ow0), T(0));
    return;
  }
  const index_t a = std::clamp(wlo, ow0, ow1), b = std::clamp(whi, a, ow1);
  std::fill(d, d + (a - ow0), T(0));
  if (g.stride_w == 1)
    std::memcpy(d + (a - ow0), x_row + a, static_cast<std::size_t>(b - a) * sizeof(T));
  else
    for (index_t ow = a; ow < b; ++ow) d[ow - ow0] = x_row[ow * g.stride_w];
  std::fill(d + (b - ow0), d + (ow1 - ow0), T(0));
}

// The input row that output row oh reads through filter row i of channel xc (shifted to input column
// -pw), or null outside the image.
template <class T>
const T* column_source_row(const ConvGeom& g, const T* xc, index_t oh, index_t i) {
  const index_t ih = oh * g.stride_h - g.pad_h + i;
  return ih < 0 || ih >= g.h ? nullptr : xc + ih * g.w - g.pad_w;
}

// col[r][p - p0] = x[c][oh*sh - ph + i][ow*sw - pw + j] (0 outside), r = (c, i, j), for one group.
template <class T>
void im2col(const ConvGeom& g, const T* x, index_t p0, index_t p1, T* col) {
  const index_t len = p1 - p0, kk = g.kh * g.kw;
  parallel_for(0, g.k_g(), std::max<index_t>(1, 16384 / len), [&](index_t lo, index_t hi) {
    for (index_t r = lo; r < hi; ++r) {
      const index_t c = r / kk, i = (r / g.kw) % g.kh, j = r % g.kw;
      index_t wlo, whi;
      valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, wlo, whi);
      for_each_row_segment(g, p0, p1, [&](index_t oh, index_t ow0, index_t ow1, index_t at) {
        const T* row = column_source_row(g, x + c * g.in_plane(), oh, i);
        column_segment(g, row ? row + j : nullptr, wlo, whi, ow0, ow1, col + r * len + at);
      });
    }
  });
}

// The input channels of one image and group: planes of `plane` values, channels [0, split) from
// `first`, the rest from `second` — a decoder's upsampled map and its skip connection read where they
// lie instead of copied into one concatenation (ops/conv_fused.hpp).
template <class T>
struct ChannelPlanes {
  const T* first;
  index_t split;
  const T* second;
  index_t plane;

  static ChannelPlanes one(const T* x, index_t plane) {
    return {x, std::numeric_limits<index_t>::max(), nullptr, plane};
  }
  const T* channel(index_t c) const { return c < split ? first + c * plane : second + (c - split) * plane; }
};

// The im2col matrix of one image and group ([k_g, out_plane], x at the group's first channel) as a
// B source of cpu::gemm_b_source: each panel of columns is gathered from the image as the GEMM packs
// it, so the columns never go through memory (for a 16-channel 3x3 conv at 720p they were 530 MB
// written and read again per call, a fifth of a UNet's restore).
template <class T>
class ConvColumns {
 public:
  ConvColumns(const ConvGeom& g, const T* x) : ConvColumns(g, ChannelPlanes<T>::one(x, g.in_plane())) {}
  ConvColumns(const ConvGeom& g, ChannelPlanes<T> x) : g_(g), x_(x), wlo_(g.kw), whi_(g.kw) {
    for (index_t j = 0; j < g.kw; ++j) valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, wlo_[j], whi_[j]);
  }

  template <class K>
  void pack(index_t jc, index_t pc, index_t j0, index_t j1, index_t nc, index_t kc, typename K::P* out) const {
    constexpr int NR = K::NR;
    for (index_t jp = j0; jp < j1; jp += NR) {
      const index_t cols = std::min<index_t>(NR, nc - jp);
      if constexpr (std::is_same_v<typename K::P, T>) {
        gather<NR>(jc + jp, cols, pc, kc, out + jp * kc);  // float panels are the gathered rows
      } else {
        alignas(64) T rows[K::KC * NR];
        gather<NR>(jc + jp, cols, pc, kc, rows);
        K::pack_b(false, 0, NR, cols, kc, rows, NR, out + jp * K::steps(kc));
      }
    }
  }

 private:
  // Rows [pc, pc + kc) of columns [q0, q0 + cols) into d, NR apart, zero past cols. The output-row
  // segments of the columns are found once per panel and the row's (c, i, j) advance by counting.
  template <int NR>
  void gather(index_t q0, index_t cols, index_t pc, index_t kc, T* d) const {
    struct Segment {
      index_t oh, ow0, ow1, at;
    } segments[NR];
    int n_segments = 0;
    for_each_row_segment(g_, q0, q0 + cols, [&](index_t oh, index_t ow0, index_t ow1, index_t at) {
      segments[n_segments++] = {oh, ow0, ow1, at};
    });
    // A whole panel within one output row: most rows are one fixed-size copy (strided for a strided conv).
    const bool one_run = n_segments == 1 && cols == NR;
    const index_t sw = g_.stride_w;
    index_t c = pc / (g_.kh * g_.kw), i = (pc / g_.kw) % g_.kh, j = pc % g_.kw;
    for (index_t r = 0; r < kc; ++r, d += NR) {
      const T* xc = x_.channel(c);
      const T* run = one_run ? column_source_row(g_, xc, segments[0].oh, i) : nullptr;
      if (run && wlo_[j] <= segments[0].ow0 && whi_[j] >= segments[0].ow1) {
        const T* src = run + j + segments[0].ow0 * sw;
        if (sw == 1) std::memcpy(d, src, NR * sizeof(T));
        else
          for (int t = 0; t < NR; ++t) d[t] = src[t * sw];
        // The next panels read the same rows further on: dozens of streams (channels x filter rows),
        // more than the hardware prefetchers follow.
        __builtin_prefetch(src + 2 * NR * sw);
      } else {
        for (int s = 0; s < n_segments; ++s) {
          const Segment& seg = segments[s];
          const T* row = column_source_row(g_, xc, seg.oh, i);
          column_segment(g_, row ? row + j : nullptr, wlo_[j], whi_[j], seg.ow0, seg.ow1, d + seg.at);
        }
        std::fill(d + cols, d + NR, T(0));
      }
      if (++j == g_.kw) {
        j = 0;
        if (++i == g_.kh) i = 0, ++c;
      }
    }
  }

  const ConvGeom& g_;
  ChannelPlanes<T> x_;
  std::vector<index_t> wlo_, whi_;
};

// The adjoint of im2col: x[c][ih][iw] += col[r][p - p0]. Parallel over channels (disjoint rows of x).
template <class T>
void col2im_add(const ConvGeom& g, const T* col, index_t p0, index_t p1, T* x) {
  const index_t len = p1 - p0, kk = g.kh * g.kw;
  parallel_for(0, g.cin_g(), std::max<index_t>(1, 16384 / (len * kk)), [&](index_t lo, index_t hi) {
    for (index_t c = lo; c < hi; ++c)
      for (index_t ij = 0; ij < kk; ++ij) {
        const index_t i = ij / g.kw, j = ij % g.kw;
        const T* src = col + (c * kk + ij) * len;
        index_t wlo, whi;
        valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, wlo, whi);
        for_each_row_segment(g, p0, p1, [&](index_t oh, index_t ow0, index_t ow1, index_t at) {
          const index_t ih = oh * g.stride_h - g.pad_h + i;
          if (ih < 0 || ih >= g.h) return;
          const T* s = src + at - ow0;
          T* d = x + c * g.in_plane() + ih * g.w + j - g.pad_w;
          const index_t a = std::clamp(wlo, ow0, ow1), b = std::clamp(whi, a, ow1);
          for (index_t ow = a; ow < b; ++ow) d[ow * g.stride_w] += s[ow];
        });
      }
  });
}

// Sum of a[i] * b[i * stride]: independent lanes, so the compiler vectorises without reassociating.
template <class T>
T dot(const T* a, const T* b, index_t n, index_t stride) {
  if (stride != 1) {
    T s = 0;
    for (index_t i = 0; i < n; ++i) s += a[i] * b[i * stride];
    return s;
  }
  constexpr int L = 16;
  T lanes[L] = {};
  index_t i = 0;
  for (; i + L <= n; i += L)
    for (int l = 0; l < L; ++l) lanes[l] += a[i + l] * b[i + l];
  T s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int l = 0; l < L; ++l) s += lanes[l];
  return s;
}

// Sum of a[0..n) in independent lanes (vectorised), each lane flushed to double every block of
// 4096 elements so long planes keep double-like accuracy.
template <class T>
double sum(const T* a, index_t n) {
  constexpr int L = 16;
  constexpr index_t kBlock = 4096;
  double total = 0;
  for (index_t b0 = 0; b0 < n; b0 += kBlock) {
    const index_t b1 = std::min(n, b0 + kBlock);
    T lanes[L] = {};
    index_t i = b0;
    for (; i + L <= b1; i += L)
      for (int l = 0; l < L; ++l) lanes[l] += a[i + l];
    for (; i < b1; ++i) total += static_cast<double>(a[i]);
    for (int l = 0; l < L; ++l) total += static_cast<double>(lanes[l]);
  }
  return total;
}

// Runs fn(image) for every image: one image per thread when there are enough images, else
// serially so that the work inside one image uses the threads.
template <class F>
void for_each_image(index_t n, F&& fn) {
  if (n > 1 && n >= num_threads()) {
    parallel_for(0, n, 1, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) fn(i);
    });
  } else {
    for (index_t i = 0; i < n; ++i) fn(i);
  }
}

// ---- depthwise: one plane per task, the filter taps as row-wise multiply-adds ------------------

// 3x3, stride 1, padding 1 (the depthwise conv of NAFNet, Baseline and Restormer): all nine taps
// of an output row in one pass, so each output is written once instead of once per tap. Rows
// outside the image get zero taps and alias the centre row (no zero buffer needed).
template <class T>
bool depthwise_3x3_same(const ConvGeom& g) {
  return g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 1 && g.pad_w == 1;
}

// One output row of a 3x3 "same" depthwise filter: y[ow] = bias + sum_{i,j} k[i][j] * rows[i][ow - 1 + j]
// over a row of width w, rows[0..2] the input rows above, at and below (null above the first or below
// the last row: zero taps, aliased to the centre row so no zero buffer is needed). The fused block
// inference calls it on rows of its own band buffers.
template <class T>
void depthwise_3x3_row(index_t w, const T* const rows[3], const T* k, T bias, T* yr) {
  const T* r[3];
  T t[3][3];
  for (int i = 0; i < 3; ++i) {
    r[i] = rows[i] ? rows[i] : rows[1];
    for (int j = 0; j < 3; ++j) t[i][j] = rows[i] ? k[i * 3 + j] : T(0);
  }
  auto at = [&](index_t ow) {  // one output with bounds checks along the row
    T s = bias;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) {
        const index_t iw = ow - 1 + j;
        if (iw >= 0 && iw < w) s += t[i][j] * r[i][iw];
      }
    return s;
  };
  yr[0] = at(0);
  if (w > 1) yr[w - 1] = at(w - 1);
  const T *r0 = r[0], *r1 = r[1], *r2 = r[2];
  // The interior [1, w - 1) in runs of a fixed length the compiler turns into whole vectors; the last
  // run overlaps the one before instead of leaving a scalar remainder (at the 32-pixel rows of a 256x256
  // NAFNet's middle blocks the remainder was half of each row). An overlapped output is computed twice
  // by the same expression, so it gets the same value.
  auto run = [&](auto length, index_t o) {
#pragma GCC ivdep
    for (index_t j = 0; j < decltype(length)::value; ++j) {
      const index_t ow = o + j;
      yr[ow] = bias + t[0][0] * r0[ow - 1] + t[0][1] * r0[ow] + t[0][2] * r0[ow + 1] + t[1][0] * r1[ow - 1] +
               t[1][1] * r1[ow] + t[1][2] * r1[ow + 1] + t[2][0] * r2[ow - 1] + t[2][1] * r2[ow] + t[2][2] * r2[ow + 1];
    }
  };
  auto runs = [&](auto length) {
    constexpr index_t V = decltype(length)::value;
    if (w - 2 < V) return false;
    for (index_t o = 1; o < w - 1; o += V) run(length, std::min(o, w - 1 - V));
    return true;
  };
  runs(std::integral_constant<index_t, 16>{}) || runs(std::integral_constant<index_t, 8>{}) ||
      runs(std::integral_constant<index_t, 1>{});
}

// y = bias + sum_{i,j} k[i][j] * x[oh - 1 + i][ow - 1 + j] over one h x w plane (k row-major 3x3).
template <class T>
void depthwise_3x3_plane(index_t h, index_t w, const T* x, const T* k, T bias, T* y) {
  for (index_t oh = 0; oh < h; ++oh) {
    const T* const rows[3] = {oh > 0 ? x + (oh - 1) * w : nullptr, x + oh * w, oh + 1 < h ? x + (oh + 1) * w : nullptr};
    depthwise_3x3_row(w, rows, k, bias, y + oh * w);
  }
}

template <class T>
void depthwise_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  if (depthwise_3x3_same<T>(g)) {
    cpu::parallel_for_vectorised(0, g.n * g.cin, 1, [&](index_t lo, index_t hi) {
      for (index_t plane = lo; plane < hi; ++plane) {
        const index_t c = plane % g.cin;
        depthwise_3x3_plane(g.h, g.w, x + plane * g.in_plane(), w + c * 9, bias ? bias[c] : T(0),
                            y + plane * g.out_plane());
      }
    });
    return;
  }
  cpu::parallel_for_vectorised(0, g.n * g.cin, 1, [&](index_t lo, index_t hi) {
    for (index_t plane = lo; plane < hi; ++plane) {
      const index_t c = plane % g.cin;
      const T* xp = x + plane * g.in_plane();
      const T* wc = w + c * g.kh * g.kw;
      T* yp = y + plane * g.out_plane();
      std::fill(yp, yp + g.out_plane(), bias ? bias[c] : T(0));
      for (index_t oh = 0; oh < g.out_h; ++oh) {
        T* yr = yp + oh * g.out_w;  // stays in L1 for all kh * kw taps
        for (index_t i = 0; i < g.kh; ++i) {
          const index_t ih = oh * g.stride_h - g.pad_h + i;
          if (ih < 0 || ih >= g.h) continue;
          for (index_t j = 0; j < g.kw; ++j) {
            index_t lo_w, hi_w;
            valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, lo_w, hi_w);
            const T wv = wc[i * g.kw + j];
            const T* xr = xp + ih * g.w + j - g.pad_w;
            if (g.stride_w == 1)
              for (index_t ow = lo_w; ow < hi_w; ++ow) yr[ow] += wv * xr[ow];
            else
              for (index_t ow = lo_w; ow < hi_w; ++ow) yr[ow] += wv * xr[ow * g.stride_w];
          }
        }
      }
    }
  });
}

template <class T>
void depthwise_backward_data(const ConvGeom& g, const T* w, const T* gy, T* gx) {
  if (depthwise_3x3_same<T>(g)) {
    // The adjoint of a 3x3 "same" correlation is the same correlation with the kernel rotated 180°.
    cpu::parallel_for_vectorised(0, g.n * g.cin, 1, [&](index_t lo, index_t hi) {
      for (index_t plane = lo; plane < hi; ++plane) {
        const T* wc = w + (plane % g.cin) * 9;
        T rot[9];
        for (int t = 0; t < 9; ++t) rot[t] = wc[8 - t];
        depthwise_3x3_plane(g.h, g.w, gy + plane * g.out_plane(), rot, T(0), gx + plane * g.in_plane());
      }
    });
    return;
  }
  cpu::parallel_for_vectorised(0, g.n * g.cin, 1, [&](index_t lo, index_t hi) {
    for (index_t plane = lo; plane < hi; ++plane) {
      const index_t c = plane % g.cin;
      const T* gyp = gy + plane * g.out_plane();
      const T* wc = w + c * g.kh * g.kw;
      T* gxp = gx + plane * g.in_plane();
      std::fill(gxp, gxp + g.in_plane(), T(0));
      for (index_t j = 0; j < g.kw; ++j) {
        index_t lo_w, hi_w;
        valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, lo_w, hi_w);
        for (index_t oh = 0; oh < g.out_h; ++oh) {
          const T* gr = gyp + oh * g.out_w;
          for (index_t i = 0; i < g.kh; ++i) {
            const index_t ih = oh * g.stride_h - g.pad_h + i;
            if (ih < 0 || ih >= g.h) continue;
            const T wv = wc[i * g.kw + j];
            T* xr = gxp + ih * g.w + j - g.pad_w;
            if (g.stride_w == 1)
              for (index_t ow = lo_w; ow < hi_w; ++ow) xr[ow] += wv * gr[ow];
            else
              for (index_t ow = lo_w; ow < hi_w; ++ow) xr[ow * g.stride_w] += wv * gr[ow];
          }
        }
      }
    }
  });
}

// acc[i*3 + j] += sum_{oh,ow} gy[oh][ow] * x[oh - 1 + i][ow - 1 + j] over one h x w plane (3x3 "same").
// One pass: each row pair feeds all three taps of its kernel row; 16 float lanes per tap, flushed to
// double about every 4096 products per lane-set so long planes keep their accuracy.
template <class T>
void depthwise_3x3_filter_plane(index_t h, index_t w, const T* x, const T* gy, double* acc) {
  constexpr int L = 16;
  T lanes[9][L] = {}, edge[9] = {};
  const index_t flush_rows = std::max<index_t>(1, 4096 / w);
  for (index_t oh = 0; oh < h; ++oh) {
    const T* gr = gy + oh * w;
    for (int i = 0; i < 3; ++i) {
      const index_t ih = oh - 1 + i;
      if (ih < 0 || ih >= h) continue;
      const T* r = x + ih * w;
      T *l0 = lanes[i * 3], *l1 = lanes[i * 3 + 1], *l2 = lanes[i * 3 + 2];
      index_t ow = 1;
      for (; ow + L <= w - 1; ow += L)
        for (int l = 0; l < L; ++l) {
          const T gv = gr[ow + l];
          l0[l] += gv * r[ow + l - 1];
          l1[l] += gv * r[ow + l];
          l2[l] += gv * r[ow + l + 1];
        }
      for (; ow < w - 1; ++ow) {
        edge[i * 3] += gr[ow] * r[ow - 1];
        edge[i * 3 + 1] += gr[ow] * r[ow];
        edge[i * 3 + 2] += gr[ow] * r[ow + 1];
      }
      edge[i * 3 + 1] += gr[0] * r[0];  // ow = 0 has no left neighbour, ow = w - 1 no right one
      if (w > 1) {
        edge[i * 3 + 2] += gr[0] * r[1];
        edge[i * 3] += gr[w - 1] * r[w - 2];
        edge[i * 3 + 1] += gr[w - 1] * r[w - 1];
      }
    }
    if ((oh + 1) % flush_rows == 0 || oh == h - 1)
      for (int t = 0; t < 9; ++t) {
        double s = static_cast<double>(edge[t]);
        for (int l = 0; l < L; ++l) s += static_cast<double>(lanes[t][l]);
        acc[t] += s;
        edge[t] = T(0);
        for (int l = 0; l < L; ++l) lanes[t][l] = T(0);
      }
  }
}

// One task per channel; per-row partial sums go to double accumulators (long reductions). Output
// rows outside, taps inside: the rows of gy and x stay in L1 across all kh * kw taps, so each
// plane is read once.
template <class T>
void depthwise_backward_filter(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  if (depthwise_3x3_same<T>(g)) {
    cpu::parallel_for_vectorised(0, g.cin, 1, [&](index_t lo, index_t hi) {
      for (index_t c = lo; c < hi; ++c) {
        double acc[9] = {};
        for (index_t img = 0; img < g.n; ++img)
          depthwise_3x3_filter_plane(g.h, g.w, x + (img * g.cin + c) * g.in_plane(),
                                     gy + (img * g.cin + c) * g.out_plane(), acc);
        for (int t = 0; t < 9; ++t) gw[c * 9 + t] = static_cast<T>(acc[t]);
      }
    });
    return;
  }
  parallel_for(0, g.cin, 1, [&](index_t lo, index_t hi) {
    const index_t taps = g.kh * g.kw;
    std::vector<double> acc(static_cast<std::size_t>(taps));
    std::vector<index_t> lo_w(static_cast<std::size_t>(g.kw)), hi_w(static_cast<std::size_t>(g.kw));
    for (index_t j = 0; j < g.kw; ++j) valid_range(g.out_w, g.stride_w, j - g.pad_w, g.w, lo_w[j], hi_w[j]);
    for (index_t c = lo; c < hi; ++c) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (index_t img = 0; img < g.n; ++img) {
        const T* xp = x + (img * g.cin + c) * g.in_plane();
        const T* gyp = gy + (img * g.cin + c) * g.out_plane();
        for (index_t oh = 0; oh < g.out_h; ++oh) {
          const T* gr = gyp + oh * g.out_w;
          for (index_t i = 0; i < g.kh; ++i) {
            const index_t ih = oh * g.stride_h - g.pad_h + i;
            if (ih < 0 || ih >= g.h) continue;
            for (index_t j = 0; j < g.kw; ++j) {
              const T* xr = xp + ih * g.w + j - g.pad_w;
              acc[static_cast<std::size_t>(i * g.kw + j)] +=
                  dot(gr + lo_w[j], xr + lo_w[j] * g.stride_w, hi_w[j] - lo_w[j], g.stride_w);
            }
          }
        }
      }
      for (index_t t = 0; t < taps; ++t) gw[c * taps + t] = static_cast<T>(acc[static_cast<std::size_t>(t)]);
    }
  });
}

}  // namespace conv_detail

// y = act(conv(x, w) + bias + beta * y) (bias may be null; beta == 0 never reads y; no activation by
// default). The sum and the activation are formed by the GEMM as it stores each tile (ops/conv_fused.hpp);
// the depthwise filters take neither.
template <class T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y, T beta = T(0),
                    FusedActivation act = {}) {
  using namespace conv_detail;
  if (g.depthwise()) {
    TLC_CHECK(beta == T(0) && !act.on, Error, "conv2d_forward: a depthwise filter adds no output and no activation");
    return depthwise_forward(g, x, w, bias, y);
  }
  const index_t P = g.out_plane(), K = g.k_g();
  for_each_image(g.n, [&](index_t img) {
    for (index_t gi = 0; gi < g.groups; ++gi) {
      const T* xg = x + (img * g.cin + gi * g.cin_g()) * g.in_plane();
      const T* wg = w + gi * g.cout_g() * K;
      T* yg = y + (img * g.cout + gi * g.cout_g()) * P;
      const T* bg = bias ? bias + gi * g.cout_g() : nullptr;  // added by the GEMM as it stores
      if (g.pointwise()) {
        gemm<T>(false, false, g.cout_g(), P, K, T(1), wg, K, xg, P, beta, yg, P, bg, act);
        continue;
      }
      gemm_b_source<T>(g.cout_g(), P, K, wg, K, ConvColumns<T>(g, xg), yg, P, bg, beta, act);
    }
  });
}

// conv2d_forward of the channel concatenation of xa (ca channels per image) and xb, without forming
// it; one group.
template <class T>
void conv2d_forward_stacked(const ConvGeom& g, const T* xa, index_t ca, const T* xb, const T* w, const T* bias, T* y,
                            T beta = T(0), FusedActivation act = {}) {
  using namespace conv_detail;
  TLC_CHECK(g.groups == 1 && ca > 0 && ca < g.cin, Error, "conv2d_forward_stacked: expected one group and two parts");
  const index_t P = g.out_plane(), K = g.k_g(), plane = g.in_plane();
  for_each_image(g.n, [&](index_t img) {
    const ChannelPlanes<T> in{xa + img * ca * plane, ca, xb + img * (g.cin - ca) * plane, plane};
    gemm_b_source<T>(g.cout, P, K, w, K, ConvColumns<T>(g, in), y + img * g.cout * P, P, bias, beta, act);
  });
}

// gx = d(conv)/dx applied to gy (overwrites gx). Also the forward of conv_transpose2d.
template <class T>
void conv2d_backward_data(const ConvGeom& g, const T* w, const T* gy, T* gx) {
  using namespace conv_detail;
  if (g.depthwise()) return depthwise_backward_data(g, w, gy, gx);
  const index_t P = g.out_plane(), K = g.k_g(), chunk = chunk_columns(g);
  for_each_image(g.n, [&](index_t img) {
    for (index_t gi = 0; gi < g.groups; ++gi) {
      const T* wg = w + gi * g.cout_g() * K;
      const T* gyg = gy + (img * g.cout + gi * g.cout_g()) * P;
      T* gxg = gx + (img * g.cin + gi * g.cin_g()) * g.in_plane();
      if (g.pointwise()) {
        gemm<T>(true, false, K, P, g.cout_g(), T(1), wg, K, gyg, P, T(0), gxg, P);
        continue;
      }
      std::fill(gxg, gxg + g.cin_g() * g.in_plane(), T(0));
      for (index_t p0 = 0; p0 < P; p0 += chunk) {
        const index_t p1 = std::min(P, p0 + chunk);
        T* col = thread_scratch<T>(Scratch::Columns, K * (p1 - p0));
        gemm<T>(true, false, K, p1 - p0, g.cout_g(), T(1), wg, K, gyg + p0, P, T(0), col, p1 - p0);
        col2im_add(g, col, p0, p1, gxg);
      }
    }
  });
}

// gw = d(conv)/dw applied to gy, summed over the batch (overwrites gw).
template <class T>
void conv2d_backward_filter(const ConvGeom& g, const T* x, const T* gy, T* gw) {
  using namespace conv_detail;
  if (g.depthwise()) return depthwise_backward_filter(g, x, gy, gw);
  const index_t P = g.out_plane(), K = g.k_g(), chunk = chunk_columns(g), wsize = g.cout * K;
  // With one image per thread, each thread sums its images into its own partial filter.
  const index_t parts = g.n > 1 && g.n >= num_threads() ? std::min<index_t>(g.n, num_threads()) : 1;
  std::vector<T> partials(static_cast<std::size_t>((parts - 1) * wsize));
  auto run_part = [&](index_t part) {
    T* acc = part == 0 ? gw : partials.data() + (part - 1) * wsize;
    std::fill(acc, acc + wsize, T(0));
    for (index_t img = part * g.n / parts; img < (part + 1) * g.n / parts; ++img)
      for (index_t gi = 0; gi < g.groups; ++gi) {
        const T* xg = x + (img * g.cin + gi * g.cin_g()) * g.in_plane();
        const T* gyg = gy + (img * g.cout + gi * g.cout_g()) * P;
        T* gwg = acc + gi * g.cout_g() * K;
        if (g.pointwise()) {
          gemm<T>(false, true, g.cout_g(), K, P, T(1), gyg, P, xg, P, T(1), gwg, K);
          continue;
        }
        for (index_t p0 = 0; p0 < P; p0 += chunk) {
          const index_t p1 = std::min(P, p0 + chunk);
          T* col = thread_scratch<T>(Scratch::Columns, K * (p1 - p0));
          im2col(g, xg, p0, p1, col);
          gemm<T>(false, true, g.cout_g(), K, p1 - p0, T(1), gyg + p0, P, col, p1 - p0, T(1), gwg, K);
        }
      }
  };
  if (parts == 1) {
    run_part(0);
    return;
  }
  parallel_for(0, parts, 1, [&](index_t lo, index_t hi) {
    for (index_t part = lo; part < hi; ++part) run_part(part);
  });
  parallel_for(0, wsize, 4096, [&](index_t lo, index_t hi) {
    for (index_t part = 1; part < parts; ++part)
      for (index_t i = lo; i < hi; ++i) gw[i] += partials[static_cast<std::size_t>((part - 1) * wsize + i)];
  });
}

// gb[c] = sum of gy[:, c, :, :] over n and the plane (overwrites gb).
template <class T>
void channel_sum(index_t n, index_t channels, index_t plane, const T* gy, T* gb) {
  parallel_for(0, channels, 1, [&](index_t lo, index_t hi) {
    for (index_t c = lo; c < hi; ++c) {
      double s = 0;
      for (index_t img = 0; img < n; ++img) s += conv_detail::sum(gy + (img * channels + c) * plane, plane);
      gb[c] = static_cast<T>(s);
    }
  });
}

// The bias gradient of a convolution: gy summed per output channel.
template <class T>
void conv2d_backward_bias(const ConvGeom& g, const T* gy, T* gb) {
  channel_sum(g.n, g.cout, g.out_plane(), gy, gb);
}

// y[:, c, :, :] += bias[c], in place.
template <class T>
void add_channel_bias(index_t n, index_t channels, index_t plane, const T* bias, T* y) {
  const index_t grain = std::max<index_t>(1, 16384 / std::max<index_t>(plane, 1));
  cpu::parallel_for_vectorised(0, n * channels, grain, [&](index_t lo, index_t hi) {
    for (index_t nc = lo; nc < hi; ++nc) {
      const T b = bias[nc % channels];
      T* p = y + nc * plane;
      for (index_t i = 0; i < plane; ++i) p[i] += b;
    }
  });
}

}  // namespace tlc::cpu
