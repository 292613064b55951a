#pragma once
// Parameter-free PixelShuffle / PixelUnshuffle modules (kept as Sequential entries so that the
// numbering of their neighbours matches PyTorch).
#include "tlc/nn/module.hpp"
#include "tlc/ops/layout.hpp"

namespace tlc::nn {

template <class T = float>
struct PixelShuffle : Module<T> {
  explicit PixelShuffle(index_t r) : r(r) {}
  Tensor<T> forward(const Tensor<T>& x) override { return ops::pixel_shuffle(x, r); }
  std::string type_name() const override { return "PixelShuffle"; }
  index_t r;
};

template <class T = float>
struct PixelUnshuffle : Module<T> {
  explicit PixelUnshuffle(index_t r) : r(r) {}
  Tensor<T> forward(const Tensor<T>& x) override { return ops::pixel_unshuffle(x, r); }
  std::string type_name() const override { return "PixelUnshuffle"; }
  index_t r;
};

}  // namespace tlc::nn
