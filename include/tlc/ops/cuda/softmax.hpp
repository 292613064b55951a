#pragma once
// Softmax / L2 normalisation rows of ops/kernels/softmax.hpp: [outer, len, inner].
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/softmax.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

void softmax_forward(const float* x, float* y, index_t rows, index_t len, index_t inner);
void softmax_backward(const float* y, const float* gy, float* gx, index_t rows, index_t len, index_t inner);
void l2_normalize_forward(const float* x, float* y, float* norm, index_t rows, index_t len, index_t inner, double eps);
void l2_normalize_backward(const float* y, const float* gy, const float* norm, float* gx, index_t rows, index_t len,
                           index_t inner, double eps);

}  // namespace tlc::cuda
#endif
