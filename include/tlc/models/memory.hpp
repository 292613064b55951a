#pragma once
// How much memory restoring an H×W image will take, found before running it. Activations grow
// linearly with the pixel count (every layer's maps are a fixed fraction of the image), so two
// small probe forwards — at a×a and a×2a — give a fixed part and a per-pixel part, whatever the
// architecture and its widths.
// TLC probes with 2×2 windows: the local statistics then take the path they take on a large image,
// where windows are small beside the map. Integral images and sliding maxima cost the same for
// any window; what runs on the map of distinct windows ((H−k+1)×(W−k+1), SE/SCA's point-wise
// layers) is largest for the smallest window, so the probe errs on the safe side. Tile mode probes
// one tile and adds the full-size accumulators.
// The estimate counts live tensors (the CPU allocator's peak); the weights, already loaded, and
// what the process holds beside its tensors are the caller's (docs/MEMORY.md compares with RSS).
#include <algorithm>
#include <utility>
#include <vector>

#include "tlc/models/inference.hpp"
#include "tlc/core/allocator.hpp"

namespace tlc::models {

struct MemoryEstimate {
  double fixed_bytes = 0, bytes_per_pixel = 0;
  index_t min_pixels = 0;  // smaller images are counted as this many pixels (memory_bound's floor)
  double at(index_t h, index_t w) const {
    return fixed_bytes + bytes_per_pixel * static_cast<double>(std::max(h * w, min_pixels));
  }
};

namespace memory_detail {
// Peak live CPU tensor bytes of one forward of an h×w input, the input included.
inline double probe(Restorer& model, index_t h, index_t w) {
  NoGrad no_grad;
  CpuAllocator& alloc = CpuAllocator::instance();
  alloc.release_cache();
  alloc.reset_peak();
  const std::size_t before = alloc.stats().live_bytes;
  model.forward(TensorF::zeros({1, model.image_channels(), h, w}));
  const double peak = static_cast<double>(alloc.stats().peak_live_bytes - before);
  alloc.release_cache();  // the probe's blocks are the wrong sizes for the real image
  return peak;
}

// fn() with the model's TLC windows set to 2x2 for the probes (mode TLC), then restored.
template <class F>
auto with_probe_windows(Restorer& model, const InferenceOptions& opt, F&& fn) {
  const auto saved = local::windows(model);
  if (opt.mode == Mode::TLC) {
    std::vector<local::LayerWindow> small = saved;
    for (auto& l : small) l.window = {2, 2};
    local::apply_windows(model, small);
  }
  const auto result = fn();
  local::apply_windows(model, saved);
  return result;
}
}  // namespace memory_detail

// The probe side: large enough for every layer of a 4-level network to have a map of 8 pixels.
constexpr index_t kMemoryProbeSide = 128;
// The allocator rounds large blocks up by at most an eighth; the probes' power-of-two maps are not
// rounded at all, an image's maps may be: the per-pixel part is scaled to cover it.
constexpr double kClassWaste = 9.0 / 8.0;

// The activation memory of restore(model, x, opt) for a [1,C,h,w] x, as a function of the pixel
// count. The model must be prepared for opt.mode (its windows are restored afterwards).
inline MemoryEstimate estimate_memory(Restorer& model, const InferenceOptions& opt) {
  const index_t a = kMemoryProbeSide;
  const double c = static_cast<double>(model.image_channels());
  if (opt.mode == Mode::Tile) {
    // One tile's forward is the peak; the input and the accumulator are full size.
    const index_t th = opt.tile > 0 ? opt.tile : opt.train_h, tw = opt.tile > 0 ? opt.tile : opt.train_w;
    return {memory_detail::probe(model, th, tw), kClassWaste * 4.0 * 2.0 * c};
  }
  const auto [p1, p2] = memory_detail::with_probe_windows(model, opt, [&] {
    return std::pair{memory_detail::probe(model, a, a), memory_detail::probe(model, a, 2 * a)};
  });
  const double per_pixel = std::max(0.0, (p2 - p1) / static_cast<double>(a * a));
  return {std::max(0.0, p1 - per_pixel * static_cast<double>(a * a)), kClassWaste * per_pixel};
}

// Half the probing of estimate_memory, for a plan that only needs to know that an image fits: the a×a
// probe alone, p1 = fixed + per_pixel · a² with fixed ≥ 0, so p1 · max(1, pixels / a²) is at least
// fixed + per_pixel · pixels; kBoundMargin covers a second probe that would have grown faster than
// linearly (allocator rounding). Where the bound does not fit, take estimate_memory. (The larger
// probe took 0.25 s of a 4 s NAFNet-width32 restore at 720p.)
constexpr double kBoundMargin = 1.25;
inline MemoryEstimate memory_bound(Restorer& model, const InferenceOptions& opt) {
  if (opt.mode == Mode::Tile) return estimate_memory(model, opt);  // one probe already
  const index_t a = kMemoryProbeSide;
  const double p1 = memory_detail::with_probe_windows(model, opt, [&] { return memory_detail::probe(model, a, a); });
  return {0.0, kBoundMargin * kClassWaste * p1 / static_cast<double>(a * a), a * a};
}

}  // namespace tlc::models
