#pragma once
// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_): when the L2 norm over all
// gradients exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
#include <cmath>
#include <vector>

#include "tlc/ops/common.hpp"

namespace tlc::optim {

// Returns the norm before clipping.
template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  double sq = 0.0;
  for (const auto& p : params) {
    Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    ops::detail::require_cpu("clip_grad_norm", g);
    const T* pg = g.data();
    for (index_t i = 0; i < g.numel(); ++i) sq += static_cast<double>(pg[i]) * static_cast<double>(pg[i]);
  }
  const double norm = std::sqrt(sq);
  if (norm > max_norm) {
    const T scale = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& p : params) {
      Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      T* pg = g.data();
      for (index_t i = 0; i < g.numel(); ++i) pg[i] *= scale;
    }
  }
  return norm;
}

// True when every gradient element is finite.
template <class T>
bool grads_finite(const std::vector<Tensor<T>>& params) {
  for (const auto& p : params) {
    Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    const T* pg = g.data();
    for (index_t i = 0; i < g.numel(); ++i)
      if (!std::isfinite(pg[i])) return false;
  }
  return true;
}

}  // namespace tlc::optim
