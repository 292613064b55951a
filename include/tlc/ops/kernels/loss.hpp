#pragma once
// Single-source per-element terms of the pixel losses, as functions of d = pred - target.
#include <cmath>

#include "tlc/core/config.hpp"

namespace tlc::kernels {

enum class PointLoss : int { Abs, Square, Charbonnier };

template <class T>
struct PointLossTerm {
  PointLoss kind;
  T eps;  // Charbonnier only

  TLC_HD double value(T d) const {
    const double x = static_cast<double>(d);
    switch (kind) {
      case PointLoss::Abs: return x < 0 ? -x : x;
      case PointLoss::Square: return x * x;
      case PointLoss::Charbonnier: return sqrt(x * x + static_cast<double>(eps) * static_cast<double>(eps));
    }
    return 0.0;
  }
  // d value / d d (the Abs gradient at 0 is 0, as PyTorch's sign).
  TLC_HD T grad(T d) const {
    switch (kind) {
      case PointLoss::Abs: return d > T(0) ? T(1) : (d < T(0) ? T(-1) : T(0));
      case PointLoss::Square: return T(2) * d;
      case PointLoss::Charbonnier: return d / sqrt(d * d + eps * eps);
    }
    return T(0);
  }
};

}  // namespace tlc::kernels
