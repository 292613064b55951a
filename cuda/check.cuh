#pragma once
// Checked calls into the CUDA runtime (cuBLAS and cuDNN: handles.cuh). A failure throws tlc::CudaError naming
// the call, where it was made and the library's own error text. Internal to cuda/.
#include <cuda_runtime.h>

#include <string>

#include "tlc/core/error.hpp"

namespace tlc::cuda::detail {

[[noreturn]] inline void throw_cuda_error(const char* lib, const char* call, const char* file, int line,
                                          const std::string& why) {
  throw CudaError(
      ::tlc::detail::concat(lib, " call ", call, " at ", file, ":", line, ": expected success, found ", why));
}

inline void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so that later calls are not blamed for it
  throw_cuda_error("CUDA", call, file, line, std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")");
}

// After a kernel launch: a bad configuration or a sticky error from earlier work, named by kernel.
inline void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) return;
  throw_cuda_error("CUDA", (std::string("launch of kernel ") + kernel).c_str(), file, line,
                   std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace tlc::cuda::detail

#define TLC_CUDA_CHECK(call) ::tlc::cuda::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define TLC_CUDA_LAUNCH_CHECK(kernel_name) ::tlc::cuda::detail::check_launch((kernel_name), __FILE__, __LINE__)
