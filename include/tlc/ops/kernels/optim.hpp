#pragma once
// Single-source optimiser update bodies (one parameter element per call).
#include <cmath>

#include "tlc/core/config.hpp"

namespace tlc::kernels {

// Adam / AdamW element update, PyTorch's formulation:
//   decoupled: p -= lr*wd*p;  else g += wd*p
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   p -= lr * (m/bc1) / (sqrt(v/bc2) + eps)
template <class T>
struct AdamStep {
  T lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
  bool decoupled;
  TLC_HD void operator()(T& p, T& m, T& v, T g) const { apply(p, m, sqrt(moments(p, m, v, g))); }
  // The two halves, for a CPU loop that takes the square roots in between, vectorised. moments
  // returns the bias-corrected v, whose square root apply takes.
  TLC_HD T moments(T& p, T& m, T& v, T g) const {
    if (weight_decay != T(0)) {
      if (decoupled) p -= lr * weight_decay * p;
      else g += weight_decay * p;
    }
    m = beta1 * m + (T(1) - beta1) * g;
    v = beta2 * v + (T(1) - beta2) * g * g;
    return v / bias_correction2;
  }
  TLC_HD void apply(T& p, T m, T sqrt_corrected_v) const { p -= lr * (m / bias_correction1) / (sqrt_corrected_v + eps); }
};

// Exponential moving average: shadow = decay * shadow + (1 - decay) * p.
template <class T>
struct EmaStep {
  T decay;
  TLC_HD void operator()(T& shadow, T p) const { shadow = decay * shadow + (T(1) - decay) * p; }
};

}  // namespace tlc::kernels
