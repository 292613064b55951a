#pragma once
// Full-image inference in the three modes the paper compares:
//   global — the network as trained, every aggregation over the whole (padded) image;
//   tlc    — Test-time Local Conversion: windows calibrated at the training size × scale;
//   tile   — overlapping tiles of the training size run globally, blended with linear ramps in
//            the overlaps (no seams), HINet's way of testing.
#include <algorithm>
#include <string>
#include <vector>

#include "tlc/models/defaults.hpp"
#include "tlc/models/restorer.hpp"
#include "tlc/core/thread_pool.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/tape/grad_mode.hpp"

namespace tlc::models {

enum class Mode { Global, TLC, Tile };

inline Mode parse_mode(const std::string& s) {
  if (s == "global") return Mode::Global;
  if (s == "tlc") return Mode::TLC;
  if (s == "tile") return Mode::Tile;
  throw Error("mode: expected global, tlc or tile, found '" + s + "'");
}
inline std::string mode_name(Mode m) { return m == Mode::Global ? "global" : m == Mode::TLC ? "tlc" : "tile"; }

struct InferenceOptions {
  Mode mode = Mode::TLC;
  double scale = kDefaultScale;    // TLC window = scale × the training-time map size
  index_t train_h = kDefaultTrainSize, train_w = kDefaultTrainSize;
  index_t tile = 0;                // tile side; 0 = the training size
  index_t overlap = 32;            // tile overlap in pixels
  // Map sizes of the aggregating layers recorded at recorded_h x recorded_w (a model file's
  // tlc.windows, see load_model): when that is the training size above, TLC takes its windows
  // from them instead of running the calibration forward.
  std::vector<local::LayerWindow> recorded_maps;
  index_t recorded_h = 0, recorded_w = 0;
};

// Sets the model's aggregations for `opt.mode` (TLC: calibrated once, from the recorded maps when
// they apply, else by a forward at the training size; the others are global). Returns the TLC
// listing (empty for global/tile).
inline std::vector<local::LayerWindow> prepare(Restorer& model, const InferenceOptions& opt) {
  if (opt.mode != Mode::TLC) {
    local::to_global(model);
    return {};
  }
  const local::ConvertOptions convert{opt.train_h, opt.train_w, opt.scale, model.image_channels()};
  if (opt.recorded_h == opt.train_h && opt.recorded_w == opt.train_w)
    if (auto listing = local::convert_recorded(model, convert, opt.recorded_maps)) return *listing;
  return local::convert(model, convert);
}

// Tile starts covering [0, size) with tiles of `tile` overlapping by at least `overlap`.
inline std::vector<index_t> tile_starts(index_t size, index_t tile, index_t overlap) {
  if (tile >= size) return {0};
  const index_t step = std::max<index_t>(1, tile - overlap);
  const index_t n = (size - tile + step - 1) / step + 1;
  std::vector<index_t> starts;
  for (index_t i = 0; i < n; ++i) starts.push_back(n == 1 ? 0 : (size - tile) * i / (n - 1));
  return starts;
}

// Weight of position p in a tile of length len at [start, start+len) inside [0, size): 1 in the
// interior, a linear ramp over `overlap` pixels toward edges shared with a neighbouring tile.
inline float tile_weight(index_t p, index_t len, index_t start, index_t size, index_t overlap) {
  float w = 1.0f;
  if (overlap <= 0) return w;
  if (start > 0) w = std::min(w, static_cast<float>(p + 1) / static_cast<float>(overlap + 1));
  if (start + len < size) w = std::min(w, static_cast<float>(len - p) / static_cast<float>(overlap + 1));
  return w;
}

// Runs the model, as it is prepared, on overlapping th×tw tiles of x [N,C,H,W] and blends them.
inline TensorF restore_tiled(Restorer& model, const TensorF& x, index_t tile_h, index_t tile_w, index_t overlap) {
  NoGrad no_grad;
  const index_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const index_t th = std::min(tile_h, h), tw = std::min(tile_w, w);
  TLC_CHECK(overlap >= 0 && overlap < std::min(th, tw), Error, "tile: expected 0 <= overlap < tile, found overlap ",
            overlap, " for tiles ", tw, "x", th);
  TensorF acc = TensorF::zeros({n, c, h, w});
  std::vector<float> weight(static_cast<size_t>(h * w), 0.0f), wy(static_cast<size_t>(th)), wx(static_cast<size_t>(tw));
  float* pa = acc.data();
  for (index_t top : tile_starts(h, th, overlap))
    for (index_t left : tile_starts(w, tw, overlap)) {
      const TensorF out = model.forward(ops::crop(x, top, left, th, tw)).cpu();
      // The blending weight is separable: a ramp per axis.
      for (index_t i = 0; i < th; ++i) wy[static_cast<size_t>(i)] = tile_weight(i, th, top, h, overlap);
      for (index_t j = 0; j < tw; ++j) wx[static_cast<size_t>(j)] = tile_weight(j, tw, left, w, overlap);
      for (index_t i = 0; i < th; ++i) {
        float* wrow = weight.data() + (top + i) * w + left;
        for (index_t j = 0; j < tw; ++j) wrow[j] += wy[static_cast<size_t>(i)] * wx[static_cast<size_t>(j)];
      }
      parallel_for(0, n * c, 1, [&](index_t lo, index_t hi) {
        for (index_t plane = lo; plane < hi; ++plane) {
          const float* po = out.data() + plane * th * tw;
          for (index_t i = 0; i < th; ++i) {
            float* row = pa + (plane * h + top + i) * w + left;
            const float wi = wy[static_cast<size_t>(i)];
            for (index_t j = 0; j < tw; ++j) row[j] += wi * wx[static_cast<size_t>(j)] * po[i * tw + j];
          }
        }
      });
    }
  parallel_for(0, n * c, 1, [&](index_t lo, index_t hi) {
    for (index_t plane = lo; plane < hi; ++plane)
      for (index_t p = 0; p < h * w; ++p) pa[plane * h * w + p] /= weight[static_cast<size_t>(p)];
  });
  return acc.to(x.device());
}

// Restores x [N,C,H,W] (no gradients kept). The model must have been prepared for opt.mode.
inline TensorF restore(Restorer& model, const TensorF& x, const InferenceOptions& opt) {
  NoGrad no_grad;
  if (opt.mode != Mode::Tile) return model.forward(x);
  return restore_tiled(model, x, opt.tile > 0 ? opt.tile : opt.train_h, opt.tile > 0 ? opt.tile : opt.train_w, opt.overlap);
}

}  // namespace tlc::models
