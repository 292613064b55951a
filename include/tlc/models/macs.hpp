#pragma once
// MACs of one forward at a given input size, counted from the convolutions and matrix products
// a real forward performs, with the model's aggregations as they are set (global, or the windows
// of local::convert: exact TLC runs SE/SCA's point-wise layers at every valid window, which adds
// 5.1 % to NAFNet-width32 at 720x1280).
#include "tlc/models/restorer.hpp"
#include "tlc/ops/mac_counter.hpp"
#include "tlc/tape/grad_mode.hpp"

namespace tlc::models {

inline double count_macs(Restorer& model, index_t h, index_t w) {
  NoGrad no_grad;
  ops::MacCounter counter;
  model.forward(TensorF::zeros({1, model.image_channels(), h, w}));
  return counter.macs();
}

}  // namespace tlc::models
