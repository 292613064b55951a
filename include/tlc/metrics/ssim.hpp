#pragma once
// SSIM exactly as the NAFNet/TLC/HINet repositories compute it: their 3-D SSIM. The image is a volume over (rows, cols,
// channels), filtered by the separable 11-tap Gaussian (sigma 1.5, OpenCV getGaussianKernel) along
// all three axes with replicate padding of 5 (so the 3 channels mix), no border cropping;
// C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = 1 if max(img1) <= 1 else 255; the mean of the SSIM map
// over all voxels. Computed in float64 (the reference uses float32 conv3d: agreement ~1e-6).
#include <array>
#include <cmath>

#include "tlc/metrics/common.hpp"

namespace tlc::metrics {

namespace detail {

inline const std::array<double, 11>& gaussian11() {
  static const std::array<double, 11> g = [] {
    std::array<double, 11> k{};
    double sum = 0;
    for (int i = 0; i < 11; ++i) sum += k[i] = std::exp(-double((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
    for (double& v : k) v /= sum;
    return k;
  }();
  return g;
}

// The 3-D Gaussian filter of a volume, one axis at a time, replicate borders.
inline std::vector<double> gaussian3d(const std::vector<double>& in, index_t C, index_t H, index_t W) {
  const auto& g = gaussian11();
  const index_t dims[3] = {C, H, W}, strides[3] = {H * W, W, 1};
  std::vector<double> cur = in, next(in.size());
  for (int axis = 0; axis < 3; ++axis) {
    const index_t n = dims[axis], st = strides[axis];
    for (index_t c = 0; c < C; ++c)
      for (index_t y = 0; y < H; ++y)
        for (index_t x = 0; x < W; ++x) {
          const index_t idx = (c * H + y) * W + x, pos = axis == 0 ? c : (axis == 1 ? y : x);
          double acc = 0;
          for (int t = 0; t < 11; ++t) {
            const index_t q = std::min(std::max(pos + t - 5, index_t(0)), n - 1);
            acc += g[t] * cur[static_cast<std::size_t>(idx + (q - pos) * st)];
          }
          next[static_cast<std::size_t>(idx)] = acc;
        }
    std::swap(cur, next);
  }
  return cur;
}

}  // namespace detail

template <class T>
double ssim(const Tensor<T>& img1, const Tensor<T>& img2, const MetricOptions& opt = {}) {
  detail::check_pair("ssim", img1, img2);
  const detail::Volume a = detail::prepare("ssim", img1, opt), b = detail::prepare("ssim", img2, opt);
  const double L = a.max() <= 1 ? 1.0 : 255.0, C1 = (0.01 * L) * (0.01 * L), C2 = (0.03 * L) * (0.03 * L);
  const std::size_t n = a.v.size();
  std::vector<double> aa(n), bb(n), ab(n);
  for (std::size_t i = 0; i < n; ++i) aa[i] = a.v[i] * a.v[i], bb[i] = b.v[i] * b.v[i], ab[i] = a.v[i] * b.v[i];
  auto F = [&](const std::vector<double>& v) { return detail::gaussian3d(v, a.C, a.H, a.W); };
  const auto mu1 = F(a.v), mu2 = F(b.v), f11 = F(aa), f22 = F(bb), f12 = F(ab);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double m1 = mu1[i], m2 = mu2[i];
    const double s11 = f11[i] - m1 * m1, s22 = f22[i] - m2 * m2, s12 = f12[i] - m1 * m2;
    sum += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s11 + s22 + C2));
  }
  return sum / static_cast<double>(n);
}

}  // namespace tlc::metrics
