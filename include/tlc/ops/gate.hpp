#pragma once
// Channel gates, fused with their own backward: simple_gate (NAFNet SimpleGate) and gelu_gate
// (Restormer GDFN). Both split axis 1 into halves x1 = x[:, :C/2], x2 = x[:, C/2:].
#include <vector>

#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/vec_math.hpp"
#include "tlc/ops/cuda/gate.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/gate.hpp"

namespace tlc::ops {

namespace detail {

// Runs fn(n, lo, hi) over [0, outer*half) cut into pieces that never cross a multiple of `half`
// (n = the index along axis 0, lo/hi offsets inside that half).
template <class F>
void for_each_half_segment(index_t outer, index_t half, const F& fn) {
  cpu::parallel_for_vectorised(0, outer * half, kElementwiseGrain, [&](index_t lo, index_t hi) {
    while (lo < hi) {
      const index_t n = lo / half, r = lo % half, len = std::min(hi - lo, half - r);
      fn(n, r, r + len);
      lo += len;
    }
  });
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/gate.cu's entry points (same arguments; `kind` a kernels::Gate):
// x [outer, 2 * half] -> y [outer, half].
namespace tlc::cpu {

template <class T>
void gate_forward(int kind, const T* px, T* py, index_t outer, index_t half) {
  const kernels::GateForward<T> f{static_cast<kernels::Gate>(kind)};
  ops::detail::for_each_half_segment(outer, half, [&](index_t n, index_t lo, index_t hi) {
    const T *a = px + 2 * n * half, *b = a + half;
    T* o = py + n * half;
    if constexpr (std::is_same_v<T, float>) {
      if (f.kind == kernels::Gate::Gelu) return gelu_gate(a + lo, b + lo, o + lo, hi - lo);
    }
    for (index_t i = lo; i < hi; ++i) o[i] = f(a[i], b[i]);
  });
}

template <class T>
void gate_backward(int kind, const T* px, const T* pg, T* pgx, index_t outer, index_t half) {
  const kernels::GateBackward<T> bwd{static_cast<kernels::Gate>(kind)};
  ops::detail::for_each_half_segment(outer, half, [&](index_t n, index_t lo, index_t hi) {
    const T *a = px + 2 * n * half, *b = a + half, *gy = pg + n * half;
    T *ga = pgx + 2 * n * half, *gb = ga + half;
    if constexpr (std::is_same_v<T, float>) {
      if (bwd.kind == kernels::Gate::Gelu)
        return gelu_gate_backward(a + lo, b + lo, gy + lo, ga + lo, gb + lo, hi - lo);
    }
    for (index_t i = lo; i < hi; ++i) bwd(a[i], b[i], gy[i], ga[i], gb[i]);
  });
}

}  // namespace tlc::cpu

namespace tlc::ops {
namespace detail {

template <class T>
Tensor<T> gate(const char* op, kernels::Gate kind, const Tensor<T>& x) {
  check_defined(op, x);
  TLC_CHECK(x.dim() >= 2 && x.size(1) % 2 == 0, ShapeError, op,
            ": expected a tensor of rank >= 2 with an even number of channels (axis 1), found shape ", x.shape().str());
  Shape out_shape = x.shape();
  out_shape[1] /= 2;
  const index_t outer = out_shape[0], half = out_shape.numel() / std::max<index_t>(outer, 1);
  Tensor<T> y = Tensor<T>::empty(out_shape, x.device());
  TLC_DISPATCH(T, op, x.device(), gate_forward, static_cast<int>(kind), x.data(), y.data(), outer, half);
  return autograd::record<T>(y, op, {x}, [op, x, kind, outer, half](const Tensor<T>& g, const std::vector<bool>&) {
    Tensor<T> gx = Tensor<T>::empty(x.shape(), x.device());
    TLC_DISPATCH(T, op, x.device(), gate_backward, static_cast<int>(kind), x.data(), g.data(), gx.data(), outer, half);
    return std::vector<Tensor<T>>{gx};
  });
}

}  // namespace detail

// x1 * x2 (NAFNet SimpleGate): [N, C, ...] -> [N, C/2, ...].
template <class T>
Tensor<T> simple_gate(const Tensor<T>& x) {
  return detail::gate("simple_gate", kernels::Gate::Product, x);
}

// gelu(x1) * x2 with the exact erf GELU (Restormer GDFN).
template <class T>
Tensor<T> gelu_gate(const Tensor<T>& x) {
  return detail::gate("gelu_gate", kernels::Gate::Gelu, x);
}

}  // namespace tlc::ops
