#pragma once
// Reductions, deterministic: a fixed summation order, accumulated in double.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/reduce.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// out = x [shape[0..3]] summed over the axes where reduce[a], keeping them as size 1.
void sum_keep4d(const float* x, float* out, const index_t* shape, const bool* reduce);
double sum_squares(const float* x, index_t n);  // returned to the host (synchronises)

}  // namespace tlc::cuda
#endif
