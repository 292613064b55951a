// Row-major GEMM on cuBLAS. cuBLAS is column-major, and a row-major matrix is its transpose seen
// column-major, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T: operands swapped, the
// same transpose flags and leading dimensions.
#include <limits>

#include "check.cuh"
#include "handles.cuh"
#include "runtime.cuh"
#include "tlc/core/cuda_runtime.hpp"
#include "tlc/ops/cuda/gemm.hpp"

namespace tlc::cuda {

namespace {
int as_int(const char* what, index_t v) {
  TLC_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), ShapeError, "cuda::gemm: expected ", what,
            " in [0, 2^31), found ", v);
  return static_cast<int>(v);
}
}  // namespace

void gemm_batched(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha, const float* a,
                  index_t lda, index_t stride_a, const float* b, index_t ldb, index_t stride_b, float beta, float* c,
                  index_t ldc, index_t stride_c, index_t batch) {
  // Row-major leading dimensions are the stored row lengths.
  const index_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
  TLC_CHECK(lda >= std::max<index_t>(1, a_cols), ShapeError, "cuda::gemm: expected lda >= ", a_cols, ", found ", lda);
  TLC_CHECK(ldb >= std::max<index_t>(1, b_cols), ShapeError, "cuda::gemm: expected ldb >= ", b_cols, ", found ", ldb);
  TLC_CHECK(ldc >= std::max<index_t>(1, n), ShapeError, "cuda::gemm: expected ldc >= ", n, ", found ", ldc);
  TLC_CHECK(batch >= 0, ShapeError, "cuda::gemm: expected batch >= 0, found ", batch);
  const int M = as_int("m", m), N = as_int("n", n), K = as_int("k", k);
  const int LDA = as_int("lda", lda), LDB = as_int("ldb", ldb), LDC = as_int("ldc", ldc);
  if (m == 0 || n == 0 || batch == 0) return;

  cublasHandle_t h = detail::cublas_handle();
  TLC_CUBLAS_CHECK(cublasSetMathMode(h, allow_tf32() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (batch == 1) {
    TLC_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, N, M, K, &alpha, b, LDB, a, LDA, &beta, c, LDC));
  } else {
    TLC_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op_b, op_a, N, M, K, &alpha, b, LDB, stride_b, a, LDA, stride_a,
                                               &beta, c, LDC, stride_c, as_int("batch", batch)));
  }
}

}  // namespace tlc::cuda
