// The channel gates (include/tlc/ops/gate.hpp): the single-source bodies of kernels/gate.hpp, one
// output element per index. x is [outer, 2 * half] (the two channel halves of each image), y is
// [outer, half]. The index arithmetic runs in int32 when x fits (64-bit division is slow on GPUs).
#include <cstdint>
#include <limits>

#include "launch.cuh"
#include "tlc/ops/cuda/gate.hpp"
#include "tlc/ops/kernels/gate.hpp"

namespace tlc::cuda {

namespace {

template <class I>
void gate_forward_as(kernels::GateForward<float> f, const float* x, float* y, index_t outer, index_t half_) {
  const I half = static_cast<I>(half_);
  detail::for_each("gate_forward", outer * half_, [=] __device__(index_t flat) {
    const I i = static_cast<I>(flat), a = 2 * (i / half) * half + i % half;  // y[n, r] = f(x[n, r], x[n, half + r])
    y[flat] = f(x[a], x[a + half]);
  });
}

template <class I>
void gate_backward_as(kernels::GateBackward<float> f, const float* x, const float* gy, float* gx, index_t outer,
                      index_t half_) {
  const I half = static_cast<I>(half_);
  detail::for_each("gate_backward", outer * half_, [=] __device__(index_t flat) {
    const I i = static_cast<I>(flat), a = 2 * (i / half) * half + i % half;
    f(x[a], x[a + half], gy[flat], gx[a], gx[a + half]);
  });
}

bool fits_int32(index_t outer, index_t half) { return 2 * outer * half <= std::numeric_limits<std::int32_t>::max(); }

}  // namespace

void gate_forward(int kind, const float* x, float* y, index_t outer, index_t half) {
  const kernels::GateForward<float> f{static_cast<kernels::Gate>(kind)};
  if (fits_int32(outer, half)) gate_forward_as<std::int32_t>(f, x, y, outer, half);
  else gate_forward_as<index_t>(f, x, y, outer, half);
}

void gate_backward(int kind, const float* x, const float* gy, float* gx, index_t outer, index_t half) {
  const kernels::GateBackward<float> f{static_cast<kernels::Gate>(kind)};
  if (fits_int32(outer, half)) gate_backward_as<std::int32_t>(f, x, gy, gx, outer, half);
  else gate_backward_as<index_t>(f, x, gy, gx, outer, half);
}

}  // namespace tlc::cuda
