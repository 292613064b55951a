#pragma once
// The local (TLC) ops of ops/local.hpp: box means, window maxima and their adjoints.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/local.cu.
#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/local.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// `op` a kernels::LocalOp, on the planes `g` describes: forward in -> out, backward gout -> gin.
// `in` is read by the backward of MaxValid only (it recomputes the arg-max); it may be null otherwise.
void local_forward(int op, const float* in, float* out, const kernels::PlaneWindows& g);
void local_backward(int op, const float* in, const float* gout, float* gin, const kernels::PlaneWindows& g);

}  // namespace tlc::cuda
#endif
