#pragma once
// Channel gates (ops/kernels/gate.hpp).
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/gate.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// `kind` a kernels::Gate: x [outer, 2 * half] -> y [outer, half].
void gate_forward(int kind, const float* x, float* y, index_t outer, index_t half);
void gate_backward(int kind, const float* x, const float* gy, float* gx, index_t outer, index_t half);

}  // namespace tlc::cuda
#endif
