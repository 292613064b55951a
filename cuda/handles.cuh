#pragma once
// cuBLAS and cuDNN for the three files that call them (runtime.cu, gemm.cu, conv.cu): checked
// calls and the calling thread's handles. Kept out of check.cuh / runtime.cuh so that the other
// kernels compile without these headers. Internal to cuda/.
#include <cublas_v2.h>
#include <cudnn.h>

#include <string>

#include "check.cuh"

namespace tlc::cuda::detail {

inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw_cuda_error("cuBLAS", call, file, line, cublasGetStatusString(s));
}

inline void check_cudnn(cudnnStatus_t s, const char* call, const char* file, int line) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  std::string why = cudnnGetErrorString(s);
#if CUDNN_MAJOR >= 9
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') why += std::string(" (") + detail + ")";
#endif
  throw_cuda_error("cuDNN", call, file, line, why);
}

// Handles of the calling thread for the current device, created on first use.
cublasHandle_t cublas_handle();
cudnnHandle_t cudnn_handle();

}  // namespace tlc::cuda::detail

#define TLC_CUBLAS_CHECK(call) ::tlc::cuda::detail::check_cublas((call), #call, __FILE__, __LINE__)
#define TLC_CUDNN_CHECK(call) ::tlc::cuda::detail::check_cudnn((call), #call, __FILE__, __LINE__)
