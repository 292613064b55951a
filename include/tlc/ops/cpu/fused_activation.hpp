#pragma once
// A LeakyReLU (slope 0: a ReLU) that a kernel applies to its output as it writes it, while the values
// are in L1: a convolution's GEMM to each finished tile, a norm to each row it forms. The op and its
// activation then take one pass over the map instead of two (fused inference). It runs
// ops::leaky_relu's kernel, so the values are the two ops' exactly. Off by default.
#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/elementwise.hpp"

namespace tlc::cpu {

struct FusedActivation {
  bool on = false;
  double slope = 0;

  // rows x cols values, rows ld apart.
  template <class T>
  void apply(T* y, index_t ld, index_t rows, index_t cols) const {
    if (!on) return;
    const kernels::UnaryForward<T> leaky_relu{kernels::Unary::LeakyRelu, static_cast<T>(slope)};
    for (index_t i = 0; i < rows; ++i) {
      T* yr = y + i * ld;
      for (index_t j = 0; j < cols; ++j) yr[j] = leaky_relu(yr[j]);
    }
  }
  template <class T>
  void apply(T* y, index_t n) const {
    apply(y, n, 1, n);
  }
};

}  // namespace tlc::cpu
