#pragma once
// Shared by the CUDA tests (tests/cuda_*.cpp): every case skips at run time without a device.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

#define TLC_SKIP_WITHOUT_GPU()         \
  if (tlc::cuda_device_count() == 0) { \
    WARN("no CUDA device, skipped");   \
    return;                            \
  }

namespace tlc::test {

inline const Device kGpu = Device::cuda(0);

// max |a - b| / max(1, max |b|); infinite when a NaN of one is not a NaN of the other (a plain
// max_abs_diff would skip NaN).
inline double scaled_diff(const TensorF& a, const TensorF& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double scale = 1.0, diff = 0.0;
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) != std::isnan(vb[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(vb[i])) continue;
    scale = std::max(scale, std::abs(double(vb[i])));
    diff = std::max(diff, std::abs(double(va[i]) - double(vb[i])));
  }
  return diff / scale;
}

using OpFn = std::function<TensorF(const std::vector<TensorF>&)>;
using DiffFn = std::function<double(const TensorF&, const TensorF&)>;

// Runs f on CPU leaves and on their CUDA copies, backpropagates sum(f(x) * w) for a random w, and
// compares the outputs and every input gradient with `diff` (the GPU value first).
inline void check_op(const std::string& what, const OpFn& f, const std::vector<TensorF>& inputs, double tol,
                     const DiffFn& diff) {
  INFO(what);
  std::vector<TensorF> cpu, gpu;
  for (const auto& x : inputs) {
    cpu.push_back(x.clone());
    cpu.back().requires_grad_();
    gpu.push_back(x.to(kGpu));
    gpu.back().requires_grad_();
  }
  const TensorF yc = f(cpu), yg = f(gpu);
  REQUIRE(yg.is_cuda());
  REQUIRE(yg.shape() == yc.shape());
  CHECK(diff(yg, yc) <= tol);
  const TensorF w = random<float>(yc.shape(), 99);
  autograd::backward(ops::sum(ops::mul(yc, w)));
  autograd::backward(ops::sum(ops::mul(yg, w.to(kGpu))));
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(gpu[i].grad().defined());
    CHECK(gpu[i].grad().is_cuda());
    CHECK(diff(gpu[i].grad(), cpu[i].grad()) <= tol);
  }
}

}  // namespace tlc::test
