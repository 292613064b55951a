#pragma once
// Single-source pieces of the TLC window rule (spec 6.1): the window extent along one axis and
// the clamped start of the window that serves output index i. Used by the CPU local ops and by
// any device kernel that gathers from the valid (size - k + 1) map.
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

}  // namespace tlc::kernels
