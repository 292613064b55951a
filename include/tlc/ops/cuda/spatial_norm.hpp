#pragma once
// Group / instance norm (ops/spatial_norm.hpp) with global or local statistics.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/spatial_norm.cu.
#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/local.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// x [N, C, H, W] as kernels::GroupNormShape describes it; w, b: [C] or null. shift (N*G doubles,
// device) receives each group's global mean; global statistics: rstd (N*G doubles)
// 1/sqrt(var + eps); local: mean and rstd_map ([N*G, H*W] floats, the shifted local mean and
// 1/sqrt(var + eps) per pixel) when not null (needed by the backward).
void group_norm_forward(const kernels::GroupNormShape& s, const float* x, const float* w, const float* b, double eps,
                        float* y, double* shift, double* rstd, float* mean, float* rstd_map);
// Computes each of gx, gw, gb that is not null.
void group_norm_backward(const kernels::GroupNormShape& s, const float* x, const float* w, const float* gy,
                         const double* shift, const double* rstd, const float* mean, const float* rstd_map, float* gx,
                         float* gw, float* gb);

}  // namespace tlc::cuda
#endif
