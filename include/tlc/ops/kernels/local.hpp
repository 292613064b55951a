#pragma once
// Single-source pieces of the TLC window rule (Chu et al., ECCV 2022: a k-wide window centred on
// each pixel, shifted inward at the borders): the window extent along one axis and the clamped
// start of the window that serves output index i. Used by the CPU local ops and by any device
// kernel that gathers from the valid (size - k + 1) map.
#include "tlc/core/config.hpp"

namespace tlc::kernels {

// k = min(K, size); K <= 0 means the whole axis.
TLC_HD inline index_t window_extent(index_t K, index_t size) { return (K <= 0 || K > size) ? size : K; }

// r0 = clamp(i - (k-1)/2, 0, size-k): centred (even k reaches one further down/right), sliding
// inward at the borders so that the window always lies inside the map.
TLC_HD inline index_t window_start(index_t i, index_t k, index_t size) {
  const index_t s = i - (k - 1) / 2;
  return s < 0 ? 0 : (s > size - k ? size - k : s);
}

// The output indices [served_begin, served_end) whose clamped window starts at t (the inverse of
// window_start): t = 0 and t = size - k also serve the border indices.
TLC_HD inline index_t served_begin(index_t t, index_t k) { return t == 0 ? 0 : t + (k - 1) / 2; }
TLC_HD inline index_t served_end(index_t t, index_t k, index_t size) {
  return t == size - k ? size : t + (k - 1) / 2 + 1;
}

// The order of the local max: NaN ranks above every number, so a NaN in a window propagates (as in
// PyTorch's max pooling); equal values keep the earlier one.
template <class T>
TLC_HD inline bool max_before(T a, T b) {
  return a > b || (a != a && b == b);
}

// `planes` contiguous H x W planes aggregated over k1 x k2 windows (already clamped to the map);
// their valid maps are hv() x wv(). What the CUDA paths of the local ops receive.
struct PlaneWindows {
  index_t planes, H, W, k1, k2;
  TLC_HD index_t hv() const { return H - k1 + 1; }
  TLC_HD index_t wv() const { return W - k2 + 1; }
};

// A group norm of x [N, C, H, W] in G groups over k1 x k2 windows (clamped to the map): global
// statistics when k1 == H and k2 == W, local ones otherwise. What the CPU and CUDA kernels of
// ops/spatial_norm.hpp receive.
struct GroupNormShape {
  index_t N, C, G, H, W, k1, k2;
};

// The local ops with a CUDA path (include/tlc/ops/local.hpp); local_max is MaxValid then Expand.
enum class LocalOp : int { MeanValid, Mean, Expand, MaxValid };

}  // namespace tlc::kernels
