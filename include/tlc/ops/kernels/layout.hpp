#pragma once
// Single-source bodies of the layout ops. Each call fills one output row (the last axis), so the
// inner loops are contiguous on the CPU and the index arithmetic happens once per row.
#include "tlc/core/config.hpp"

namespace tlc::kernels {

// out[n, c, r*h + i, r*w + j] = in[n, c*r*r + i*r + j, h, w] (PyTorch PixelShuffle) when `shuffle`,
// otherwise the inverse (PixelUnshuffle). Sizes are those of the high-resolution side: C channels
// of H x W; the low-resolution side has C*r*r channels of (H/r) x (W/r). One call per output row.
template <class T>
struct PixelShuffleRow {
  const T* in;
  T* out;
  index_t C, H, W, r;
  bool shuffle;

  TLC_HD void operator()(index_t row) const {
    const index_t h = H / r, w = W / r;
    if (shuffle) {  // output rows: [N, C, H]
      const index_t oh = row % H, c = (row / H) % C, n = row / (H * C);
      const index_t i = oh % r, lh = oh / r;
      T* o = out + row * W;
      for (index_t j = 0; j < r; ++j) {
        const T* src = in + ((n * C * r * r + c * r * r + i * r + j) * h + lh) * w;
        for (index_t x = 0; x < w; ++x) o[x * r + j] = src[x];
      }
    } else {  // output rows: [N, C*r*r, H/r]
      const index_t lh = row % h, oc = (row / h) % (C * r * r), n = row / (h * C * r * r);
      const index_t c = oc / (r * r), i = (oc / r) % r, j = oc % r;
      const T* src = in + ((n * C + c) * H + lh * r + i) * W + j;
      T* o = out + row * w;
      for (index_t x = 0; x < w; ++x) o[x] = src[x * r];
    }
  }
};

enum class Border : int { Zero, Replicate, Reflect };

// Index into [0, n) for a coordinate that may lie outside it; -1 means "zero" under Border::Zero.
// Reflect mirrors without repeating the edge (PyTorch 'reflect'); it needs |overhang| < n.
TLC_HD inline index_t border_index(index_t i, index_t n, Border b) {
  if (i >= 0 && i < n) return i;
  switch (b) {
    case Border::Zero: return -1;
    case Border::Replicate: return i < 0 ? 0 : n - 1;
    case Border::Reflect: return i < 0 ? -i : 2 * (n - 1) - i;
  }
  return -1;
}

// A window of OH x OW read from every H x W plane at offset (top, left), out-of-range positions
// filled by `border`: padding uses negative offsets, cropping non-negative ones. One call per
// output row; rows are [planes, OH].
template <class T>
struct WindowRow {
  const T* in;
  T* out;
  index_t H, W, OH, OW, top, left;
  Border border;

  TLC_HD void operator()(index_t row) const {
    const index_t p = row / OH, oh = row % OH;
    T* o = out + row * OW;
    const index_t sh = border_index(oh + top, H, border);
    if (sh < 0) {
      for (index_t x = 0; x < OW; ++x) o[x] = T(0);
      return;
    }
    const T* src = in + (p * H + sh) * W;
    for (index_t x = 0; x < OW; ++x) {
      const index_t sw = border_index(x + left, W, border);
      o[x] = sw < 0 ? T(0) : src[sw];
    }
  }
};

// Backward of a Replicate/Reflect window: every output gradient is added to the input position it
// was read from. One call per plane (planes never share input positions, so no races).
template <class T>
struct WindowScatterPlane {
  const T* gout;
  T* gin;  // zero-initialised
  index_t H, W, OH, OW, top, left;
  Border border;

  TLC_HD void operator()(index_t p) const {
    T* gi = gin + p * H * W;
    for (index_t oh = 0; oh < OH; ++oh) {
      const index_t sh = border_index(oh + top, H, border);
      if (sh < 0) continue;
      const T* go = gout + (p * OH + oh) * OW;
      for (index_t x = 0; x < OW; ++x) {
        const index_t sw = border_index(x + left, W, border);
        if (sw >= 0) gi[sh * W + sw] += go[x];
      }
    }
  }
};

}  // namespace tlc::kernels
