#pragma once
// Single-source bodies of window_partition / window_merge (include/tlc/ops/windows.hpp). Windows
// start at rows[a] x cols[b] (sorted, window w = a * nc + b), are k1 x k2, and are laid out as
// [N * nr * nc, C, k1, k2]. Each call fills one output row, so the index arithmetic happens once
// per row and the inner loops are contiguous on the CPU.
#include "tlc/core/config.hpp"

namespace tlc::kernels {

struct WindowLayout {
  const index_t* rows;  // nr row starts
  const index_t* cols;  // nc column starts
  // The windows covering map row y are rows [row_first[y], row_last[y]] (contiguous: the starts
  // are sorted and the windows equally long); the same for columns.
  const index_t* row_first;
  const index_t* row_last;
  const index_t* col_first;
  const index_t* col_last;
  index_t nr, nc, C, H, W, k1, k2;

  // 1 / (number of windows covering pixel (y, x)).
  TLC_HD double inverse_coverage(index_t y, index_t x) const {
    const double rc = static_cast<double>(row_last[y] - row_first[y] + 1);
    return 1.0 / (rc * static_cast<double>(col_last[x] - col_first[x] + 1));
  }
};

// Window row t of [N * nr * nc, C, k1] = the map pixels under it, times the inverse coverage when
// `average` (the backward of a merge).
template <class T>
struct WindowGatherRow {
  const T* map;
  T* win;
  WindowLayout g;
  bool average;
  TLC_HD void operator()(index_t t) const {
    const index_t i = t % g.k1, plane = t / g.k1;
    const index_t c = plane % g.C, w = (plane / g.C) % (g.nr * g.nc), n = plane / (g.C * g.nr * g.nc);
    const index_t y = g.rows[w / g.nc] + i, x0 = g.cols[w % g.nc];
    const T* src = map + ((n * g.C + c) * g.H + y) * g.W + x0;
    T* dst = win + t * g.k2;
    if (average) {
      for (index_t j = 0; j < g.k2; ++j) dst[j] = static_cast<T>(src[j] * g.inverse_coverage(y, x0 + j));
    } else {
      for (index_t j = 0; j < g.k2; ++j) dst[j] = src[j];
    }
  }
};

// Map row t of [N, C, H] = the sum (the mean when `average`) of the window elements over each of
// its pixels, added in window order. The row goes in tiles of kTile pixels accumulated in double,
// each window adding its overlap with the tile as one contiguous run.
template <class T>
struct WindowMergeRow {
  static constexpr index_t kTile = 64;
  const T* win;
  T* map;
  WindowLayout g;
  bool average;
  TLC_HD void operator()(index_t t) const {
    const index_t y = t % g.H, plane = t / g.H, c = plane % g.C, n = plane / g.C;
    T* dst = map + t * g.W;
    for (index_t x0 = 0; x0 < g.W; x0 += kTile) {
      const index_t x1 = x0 + kTile < g.W ? x0 + kTile : g.W;
      double acc[kTile];
      for (index_t x = 0; x < x1 - x0; ++x) acc[x] = 0.0;
      for (index_t a = g.row_first[y]; a <= g.row_last[y]; ++a)
        for (index_t b = g.col_first[x0]; b <= g.col_last[x1 - 1]; ++b) {
          const index_t lo = g.cols[b] > x0 ? g.cols[b] : x0;
          const index_t hi = g.cols[b] + g.k2 < x1 ? g.cols[b] + g.k2 : x1;
          // Row y - rows[a] of window (a, b); its element j lies over map pixel x = cols[b] + j.
          const T* src = win + (((n * g.nr + a) * g.nc + b) * g.C + c) * g.k1 * g.k2 + (y - g.rows[a]) * g.k2;
          for (index_t x = lo; x < hi; ++x) acc[x - x0] += static_cast<double>(src[x - g.cols[b]]);
        }
      for (index_t x = x0; x < x1; ++x)
        dst[x] = static_cast<T>(average ? acc[x - x0] * g.inverse_coverage(y, x) : acc[x - x0]);
    }
  }
};

}  // namespace tlc::kernels
