#pragma once
// Global gradient-norm clipping (torch.nn.utils.clip_grad_norm_): when the L2 norm over all
// gradients exceeds max_norm, every gradient is scaled by max_norm / (norm + 1e-6).
#include <cmath>
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/optim.hpp"
#include "tlc/ops/cuda/reduce.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/elementwise.hpp"

namespace tlc::optim {

namespace detail {
// Sum of squares of a gradient in double; on CUDA a deterministic device reduction.
template <class T>
double sum_squares(const Tensor<T>& g) {
  return TLC_DISPATCH(T, "clip_grad_norm", g.device(), sum_squares, g.data(), g.numel());
}
}  // namespace detail

// Returns the norm before clipping.
template <class T>
double clip_grad_norm(const std::vector<Tensor<T>>& params, double max_norm) {
  double sq = 0.0;
  for (const auto& p : params) {
    Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    sq += detail::sum_squares(g);
  }
  const double norm = std::sqrt(sq);
  if (norm > max_norm) {
    const T scale = static_cast<T>(max_norm / (norm + 1e-6));
    for (const auto& p : params) {
      Tensor<T> g = p.grad();
      if (!g.defined()) continue;
      // In place: the element-wise body reads and writes one element per index.
      TLC_DISPATCH(T, "clip_grad_norm", g.device(), unary_forward, static_cast<int>(kernels::Unary::MulScalar), scale,
                   g.data(), g.data(), g.numel());
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
    if (g.is_cuda()) {
      // A double sum of squared floats cannot overflow (n * FLT_MAX^2 << DBL_MAX): it is finite
      // exactly when every element is.
      if (!std::isfinite(detail::sum_squares(g))) return false;
      continue;
    }
    const T* pg = g.data();
    for (index_t i = 0; i < g.numel(); ++i)
      if (!std::isfinite(pg[i])) return false;
  }
  return true;
}

}  // namespace tlc::optim
