#pragma once
// Element-wise kernel bodies shared with the CPU (ops/kernels/elementwise.hpp).
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/elementwise.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// `op` a kernels::Unary / kernels::Binary.
void unary_forward(int op, float alpha, const float* x, float* y, index_t n);
void unary_backward(int op, float alpha, const float* x, const float* y, const float* gy, float* gx, index_t n);
// y[out_shape] = a op b, a and b read through broadcast strides (0 on broadcast axes), all rank 4.
void binary_forward(int op, const float* a, const float* b, float* y, const index_t* a_strides,
                    const index_t* b_strides, const index_t* out_shape);

}  // namespace tlc::cuda
#endif
