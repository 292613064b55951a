#pragma once
// LayerNorm2d (ops/kernels/layer_norm.hpp), x [N, C, HW].
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/layer_norm.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// b null for BiasFree (centre false). mean and rstd ([N, HW]) are saved for the backward, which
// computes each of gx, gw, gb that is not null.
void layer_norm2d_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, index_t N,
                          index_t C, index_t HW, double eps, bool centre);
void layer_norm2d_backward(const float* x, const float* w, const float* gy, const float* mean, const float* rstd,
                           float* gx, float* gw, float* gb, index_t N, index_t C, index_t HW, bool centre);

}  // namespace tlc::cuda
#endif
