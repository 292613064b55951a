#pragma once
// Pixel losses (ops/kernels/loss.hpp).
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/loss.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// `partial` (host, images * ceil(len / chunk) values) receives the sum of the loss term over each
// chunk of each image; the gradient is coef[i / len] * term'(pred - target), coef on the device.
void pixel_loss_partials(int kind, float eps, const float* pred, const float* target, index_t images, index_t len,
                         index_t chunk, double* partial);
void pixel_loss_grad(int kind, float eps, const float* pred, const float* target, const float* coef, index_t len,
                     float* grad, index_t n);

}  // namespace tlc::cuda
#endif
