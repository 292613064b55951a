#pragma once
// The window of a TLC aggregation (Chu et al., ECCV 2022): global, or local with a fixed size per
// axis. Taken by the ops that aggregate locally (ops/spatial_norm.hpp) and held by every
// aggregating module (nn/aggregating.hpp); named in tlc::local with the rest of TLC's vocabulary.
#include "tlc/core/config.hpp"

namespace tlc::local {

struct WindowSize {
  index_t kh = 0, kw = 0;  // 0 = global
  bool is_global() const { return kh <= 0 || kw <= 0; }
  // Whether aggregating over this window equals the global aggregation on an h x w map.
  bool covers(index_t h, index_t w) const { return is_global() || (kh >= h && kw >= w); }
  bool operator==(const WindowSize& o) const { return kh == o.kh && kw == o.kw; }
};

}  // namespace tlc::local
