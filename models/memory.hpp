#pragma once
// How much memory restoring an H×W image will take, found before running it. Activations grow
// linearly with the pixel count (every layer's maps are a fixed fraction of the image), so two
// small probe forwards — at a×a and a×2a, measured by the CPU allocator's peak of live bytes —
// give a fixed part and a per-pixel part exactly, whatever the architecture and its widths.
// TLC probes with every window set to half its probe map: the local statistics (integral images,
// sliding maxima) then take the path they take on a large image, and their memory does not
// depend on the window size. Tile mode probes one tile and adds the full-size accumulators.
// What the allocator does not see (the weights, already loaded; the decoded image file; the
// encoder's buffers) is outside this estimate: docs/MEMORY.md compares it with measured peak RSS.
#include <algorithm>

#include "models/inference.hpp"
#include "tlc/core/allocator.hpp"

namespace tlc::models {

struct MemoryEstimate {
  double fixed_bytes = 0, bytes_per_pixel = 0;
  double at(index_t h, index_t w) const { return fixed_bytes + bytes_per_pixel * static_cast<double>(h * w); }
};

namespace memory_detail {
// Peak live CPU bytes of one forward of an h×w input, the input included.
inline double probe(Restorer& model, index_t h, index_t w) {
  NoGrad no_grad;
  CpuAllocator& alloc = CpuAllocator::instance();
  alloc.reset_peak();
  const std::size_t before = alloc.stats().live_bytes;
  model.forward(TensorF::zeros({1, model.image_channels(), h, w}));
  const double peak = static_cast<double>(alloc.stats().peak_live_bytes - before);
  alloc.release_cache();  // the probe's blocks are the wrong sizes for the real image
  return peak;
}
}  // namespace memory_detail

// The probe side: large enough for every layer of a 4-level network to have a map of 8 pixels.
constexpr index_t kMemoryProbeSide = 128;

// The activation memory of restore(model, x, opt) for a [1,C,h,w] x, as a function of the pixel
// count. The model must be prepared for opt.mode (its windows are restored afterwards).
inline MemoryEstimate estimate_memory(Restorer& model, const InferenceOptions& opt) {
  const index_t a = kMemoryProbeSide;
  const double c = static_cast<double>(model.image_channels());
  if (opt.mode == Mode::Tile) {
    // One tile's forward is the peak; the input, the accumulator and the weight plane are full size.
    const index_t th = opt.tile > 0 ? opt.tile : opt.train_h, tw = opt.tile > 0 ? opt.tile : opt.train_w;
    return {memory_detail::probe(model, th, tw), 4.0 * (2.0 * c + 1.0)};
  }
  const auto saved = local::windows(model);
  if (opt.mode == Mode::TLC) {
    std::vector<local::LayerWindow> half = saved;
    for (auto& l : half)  // the layer's map at the probe size, halved
      l.window = {std::max<index_t>(1, l.map_h * a / opt.train_h / 2), std::max<index_t>(1, l.map_w * a / opt.train_w / 2)};
    local::apply_windows(model, half);
  }
  const double p1 = memory_detail::probe(model, a, a), p2 = memory_detail::probe(model, a, 2 * a);
  local::apply_windows(model, saved);
  const double per_pixel = std::max(0.0, (p2 - p1) / static_cast<double>(a * a));
  return {std::max(0.0, p1 - per_pixel * static_cast<double>(a * a)), per_pixel};
}

}  // namespace tlc::models
