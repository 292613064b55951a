#pragma once
// The interface every restorer in models/ implements: image in, image out, same size. Inputs
// are zero-padded bottom/right to the model's multiple and cropped back; the zeros
// take part in every global or local statistic, as in the official code.
#include <string>

#include "tlc/nn/module.hpp"
#include "tlc/ops/layout.hpp"

namespace tlc::models {

class Restorer : public nn::Module<float> {
 public:
  // Architecture name as in the registry ("nafnet", "baseline", "unet", "hinet", "restormer").
  virtual std::string arch() const = 0;
  // Inputs are padded to a multiple of this.
  virtual index_t pad_multiple() const = 0;
  // Channels of the images it takes and returns (3 for RGB, 1 for gray).
  virtual index_t image_channels() const = 0;
  // Every output of the network for the padded input (HINet has two; the last is the image).
  virtual std::vector<TensorF> forward_padded(const TensorF& x) = 0;

  // All outputs cropped back to the input size (training losses use every output).
  std::vector<TensorF> forward_all(const TensorF& x) {
    ops::detail::check_rank(arch().c_str(), x, 4);
    const index_t h = x.size(2), w = x.size(3), m = pad_multiple();
    const index_t ph = (m - h % m) % m, pw = (m - w % m) % m;
    const TensorF padded = (ph || pw) ? ops::pad(x, 0, ph, 0, pw, ops::PadMode::Zero) : x;
    std::vector<TensorF> outs = forward_padded(padded);
    if (ph || pw)
      for (auto& o : outs) o = ops::crop(o, 0, 0, h, w);
    return outs;
  }
  // The restored image.
  TensorF forward(const TensorF& x) override { return forward_all(x).back(); }
};

}  // namespace tlc::models
