#pragma once
// Single-source bodies of the channel gates: y = f(a) * b for a from the first half of the
// channels and b from the second (SimpleGate: f = identity; Restormer GDFN: f = exact GELU).
#include "tlc/ops/kernels/elementwise.hpp"

namespace tlc::kernels {

enum class Gate : int { Product, Gelu };

template <class T>
struct GateForward {
  Gate kind;
  TLC_HD T operator()(T a, T b) const {
    return (kind == Gate::Gelu ? UnaryForward<T>{Unary::Gelu, T(0)}(a) : a) * b;
  }
};

// Gradients of y = f(a) * b: ga = gy * b * f'(a), gb = gy * f(a).
template <class T>
struct GateBackward {
  Gate kind;
  TLC_HD void operator()(T a, T b, T gy, T& ga, T& gb) const {
    if (kind == Gate::Gelu) {
      ga = UnaryBackward<T>{Unary::Gelu, T(0)}(a, T(0), gy * b);
      gb = gy * UnaryForward<T>{Unary::Gelu, T(0)}(a);
    } else {
      ga = gy * b;
      gb = gy * a;
    }
  }
};

}  // namespace tlc::kernels
