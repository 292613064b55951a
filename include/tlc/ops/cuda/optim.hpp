#pragma once
// Optimiser element updates (ops/kernels/optim.hpp).
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/optim.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
  bool decoupled;
};
void adam_step(const AdamParams& a, float* p, float* m, float* v, const float* g, index_t n);
void ema_update(float decay, const float* p, float* shadow, index_t n);

}  // namespace tlc::cuda
#endif
