#pragma once
// Optimiser element updates (ops/kernels/optim.hpp).
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/optim.cu.
#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/optim.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

void adam_step(const kernels::AdamStep<float>& f, float* p, float* m, float* v, const float* g, index_t n);
void ema_update(float decay, const float* p, float* shadow, index_t n);

}  // namespace tlc::cuda
#endif
