#pragma once
// MACs of one forward at a given input size, counted from the convolutions and matrix products
// a real forward performs (global mode; TLC adds almost none).
#include "models/restorer.hpp"
#include "tlc/autograd/grad_mode.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/ops/mac_counter.hpp"

namespace tlc::models {

inline double count_macs(Restorer& model, index_t h, index_t w, index_t channels = 3) {
  const auto windows = local::windows(model);
  local::to_global(model);
  NoGrad no_grad;
  ops::MacCounter counter;
  model.forward(TensorF::zeros({1, channels, h, w}));
  local::apply_windows(model, windows);
  return counter.macs();
}

}  // namespace tlc::models
