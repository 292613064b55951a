#pragma once
// Single-source element-wise kernel bodies: plain functors with a TLC_HD call operator, run by
// the CPU's parallel_for and by the CUDA backend's generic launcher alike.
#include <cmath>

#include "tlc/core/config.hpp"

namespace tlc::kernels {

enum class Unary : int { Neg, Exp, Log, Sqrt, Square, Abs, Relu, LeakyRelu, Gelu, Sigmoid, Tanh, AddScalar, MulScalar, PowScalar };

template <class T>
TLC_HD inline T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

// y = f(x); `alpha` is the op's scalar parameter (slope, addend, factor or exponent).
template <class T>
struct UnaryForward {
  Unary op;
  T alpha;
  TLC_HD T operator()(T x) const {
    switch (op) {
      case Unary::Neg: return -x;
      case Unary::Exp: return exp(x);
      case Unary::Log: return log(x);
      case Unary::Sqrt: return sqrt(x);
      case Unary::Square: return x * x;
      case Unary::Abs: return x < T(0) ? -x : x;
      case Unary::Relu: return x > T(0) ? x : T(0);
      case Unary::LeakyRelu: return x > T(0) ? x : alpha * x;
      case Unary::Gelu: return T(0.5) * x * erfc(x * T(-0.70710678118654752440));  // x Phi(x), no 1 + erf cancellation
      case Unary::Sigmoid: return sigmoid(x);
      case Unary::Tanh: return tanh(x);
      case Unary::AddScalar: return x + alpha;
      case Unary::MulScalar: return x * alpha;
      case Unary::PowScalar: return pow(x, alpha);
    }
    return x;
  }
};

// dx = dy * f'(x), given x and y = f(x).
template <class T>
struct UnaryBackward {
  Unary op;
  T alpha;
  TLC_HD T operator()(T x, T y, T gy) const {
    switch (op) {
      case Unary::Neg: return -gy;
      case Unary::Exp: return gy * y;
      case Unary::Log: return gy / x;
      case Unary::Sqrt: return gy * T(0.5) / y;
      case Unary::Square: return gy * T(2) * x;
      case Unary::Abs: return x > T(0) ? gy : (x < T(0) ? -gy : T(0));
      case Unary::Relu: return x > T(0) ? gy : T(0);
      case Unary::LeakyRelu: return x > T(0) ? gy : alpha * gy;
      case Unary::Gelu: {
        const T cdf = T(0.5) * erfc(x * T(-0.70710678118654752440));
        const T pdf = T(0.39894228040143267794) * exp(T(-0.5) * x * x);
        return gy * (cdf + x * pdf);
      }
      case Unary::Sigmoid: return gy * y * (T(1) - y);
      case Unary::Tanh: return gy * (T(1) - y * y);
      case Unary::AddScalar: return gy;
      case Unary::MulScalar: return gy * alpha;
      case Unary::PowScalar: return gy * alpha * pow(x, alpha - T(1));
    }
    return gy;
  }
};

enum class Binary : int { Add, Sub, Mul, Div };

template <class T>
struct BinaryForward {
  Binary op;
  TLC_HD T operator()(T a, T b) const {
    switch (op) {
      case Binary::Add: return a + b;
      case Binary::Sub: return a - b;
      case Binary::Mul: return a * b;
      case Binary::Div: return a / b;
    }
    return a;
  }
};

}  // namespace tlc::kernels
