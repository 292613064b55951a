#pragma once
// PSNR exactly as the official psnr_ssim.py computes it: mse over all values in float64; max_value = 1 if max(img1) <= 1
// else 255, decided from img1 (the restored image) only; +inf when mse = 0. Average per-image
// values over a data set.
#include <cmath>
#include <limits>

#include "tlc/metrics/common.hpp"

namespace tlc::metrics {

template <class T>
double psnr(const Tensor<T>& img1, const Tensor<T>& img2, const MetricOptions& opt = {}) {
  detail::check_pair("psnr", img1, img2);
  const detail::Volume a = detail::prepare("psnr", img1, opt), b = detail::prepare("psnr", img2, opt);
  double sum = 0;
  for (std::size_t i = 0; i < a.v.size(); ++i) sum += (a.v[i] - b.v[i]) * (a.v[i] - b.v[i]);
  const double mse = sum / static_cast<double>(a.v.size());
  if (mse == 0) return std::numeric_limits<double>::infinity();
  const double max_value = a.max() <= 1 ? 1.0 : 255.0;
  return 20.0 * std::log10(max_value / std::sqrt(mse));
}

}  // namespace tlc::metrics
