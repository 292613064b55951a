#pragma once
// Shared by the CUDA tests (tests/cuda_*.cpp). Cases that need a device carry the tag [gpu]: their
// main (catch_main_cuda.cpp) does not run them without one, and CTest reports them as skipped.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tlc::test {

inline const Device kGpu = Device::cuda(0);

// How a CUDA result is compared with the CPU's (the GPU value first).
enum class Metric {
  Abs,     // max |a - b|
  Scaled,  // max |a - b| / max(1, max |b|), infinite when a NaN of one is not a NaN of the other
  Rel,     // max over elements of |a - b| / max(1, |b|)
};

inline double diff(Metric m, const TensorF& a, const TensorF& b) {
  REQUIRE(a.shape() == b.shape());
  if (m == Metric::Abs) return max_abs_diff(a, b);
  const auto va = a.to_vector(), vb = b.to_vector();
  double scale = 1.0, worst = 0.0;
  for (size_t i = 0; i < va.size(); ++i) {
    if (m == Metric::Rel) {
      worst = std::max(worst, std::abs(double(va[i]) - double(vb[i])) / std::max(1.0, std::abs(double(vb[i]))));
      continue;
    }
    // A plain max of differences would skip NaN.
    if (std::isnan(va[i]) != std::isnan(vb[i])) return std::numeric_limits<double>::infinity();
    if (std::isnan(vb[i])) continue;
    scale = std::max(scale, std::abs(double(vb[i])));
    worst = std::max(worst, std::abs(double(va[i]) - double(vb[i])));
  }
  return m == Metric::Rel ? worst : worst / scale;
}

using OpFn = std::function<TensorF(const std::vector<TensorF>&)>;

// Runs f on CPU leaves and on their CUDA copies, backpropagates sum(f(x) * w) for a random w, and
// compares the outputs and every input gradient.
inline void check_op(const std::string& what, const OpFn& f, const std::vector<TensorF>& inputs, Metric metric,
                     double tol) {
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
  CHECK(diff(metric, yg, yc) <= tol);
  const TensorF w = random<float>(yc.shape(), 99);
  autograd::backward(ops::sum(ops::mul(yc, w)));
  autograd::backward(ops::sum(ops::mul(yg, w.to(kGpu))));
  for (size_t i = 0; i < inputs.size(); ++i) {
    INFO("gradient of input " << i);
    REQUIRE(gpu[i].grad().defined());
    CHECK(gpu[i].grad().is_cuda());
    CHECK(diff(metric, gpu[i].grad(), cpu[i].grad()) <= tol);
  }
}

}  // namespace tlc::test
