#pragma once
// Runtime state shared by the .cu files: the current device and its launch limits (the cuBLAS
// and cuDNN handles: handles.cuh). Internal to cuda/.
//
// Stream model: all work goes to the legacy default stream of the current device. Kernels,
// cuBLAS, cuDNN and cudaMemcpy are therefore ordered with each other, which is what lets the
// caching allocator hand a freed block to the next request without waiting (docs/CUDA.md).
#include <cuda_runtime.h>

namespace tlc::cuda::detail {

int current_device();
// Throws a DeviceError naming `op` unless `device` is a usable device index.
void check_device(const char* op, int device);
// Blocks of `threads` threads that the current device keeps resident at once.
int resident_blocks(int threads);

// Makes `device` current for a scope and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace tlc::cuda::detail
