#pragma once
// cuBLAS GEMM on row-major matrices.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/gemm.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, batched with strides.
void gemm_batched(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha, const float* a,
                  index_t lda, index_t stride_a, const float* b, index_t ldb, index_t stride_b, float beta,
                  float* c, index_t ldc, index_t stride_c, index_t batch);

}  // namespace tlc::cuda
#endif
