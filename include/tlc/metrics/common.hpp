#pragma once
// Shared preparation for PSNR and SSIM, exactly as the NAFNet/TLC/HINet psnr_ssim.py:
// use_image = true: clamp to [0,1], x255, round half to even (numpy round), as uint8 values in
// float64; use_image = false: the raw values (not clamped) in float64. Then crop_border pixels
// are cut from every side. Channel order (RGB vs BGR) and layout (CHW vs HWC) do not change
// either metric, so images stay planar.
#include <string>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/data/image.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::metrics {

struct MetricOptions {
  int crop_border = 0;
  bool use_image = true;  // the uint8 path (false: the float path, as for SIDD)
};

namespace detail {

// A [C,H,W] volume in float64.
struct Volume {
  index_t C = 0, H = 0, W = 0;
  std::vector<double> v;
  double max() const {
    double m = v.empty() ? 0.0 : v[0];
    for (double x : v) m = x > m ? x : m;
    return m;
  }
};

template <class T>
Volume prepare(const char* op, const Tensor<T>& img, const MetricOptions& opt) {
  const Shape s = img.shape();
  TLC_CHECK((s.rank() == 4 && s[0] == 1) || s.rank() == 3, ShapeError, op,
            ": expected an image of shape [1,C,H,W] or [C,H,W], found ", s.str());
  const Shape s4 = s.as4d();
  const index_t cb = opt.crop_border;
  TLC_CHECK(cb >= 0 && 2 * cb < s4[2] && 2 * cb < s4[3], ShapeError, op, ": expected crop_border in [0, ",
            (std::min(s4[2], s4[3]) - 1) / 2, "] for a ", s4[2], "x", s4[3], " image, found ", cb);
  Volume out{s4[1], s4[2] - 2 * cb, s4[3] - 2 * cb, {}};
  out.v.reserve(static_cast<std::size_t>(out.C * out.H * out.W));
  const Tensor<T> c = img.cpu();
  for (index_t ch = 0; ch < out.C; ++ch)
    for (index_t y = cb; y < s4[2] - cb; ++y)
      for (index_t x = cb; x < s4[3] - cb; ++x) {
        const T v = c.at(0, ch, y, x);
        out.v.push_back(opt.use_image ? static_cast<double>(data::quantize_unit(v, T(255))) : static_cast<double>(v));
      }
  return out;
}

template <class T>
void check_pair(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  TLC_CHECK(a.shape() == b.shape(), ShapeError, op, ": expected two images of the same shape, found ", a.shape().str(),
            " and ", b.shape().str());
}

}  // namespace detail
}  // namespace tlc::metrics
