#pragma once
// The one generic launcher: runs body(i) for every i in [0, n) on the current device with a
// grid-stride loop. Bodies are small device functors or __device__ lambdas that usually call a
// single-source kernel body from include/tlc/ops/kernels/ (docs/CUDA.md, "Adding a kernel").
#include <algorithm>

#include "check.cuh"
#include "runtime.cuh"
#include "tlc/core/config.hpp"

namespace tlc::cuda::detail {

inline constexpr int kThreadsPerBlock = 256;

template <class Body>
__global__ void for_each_kernel(index_t n, Body body) {
  const index_t stride = static_cast<index_t>(blockDim.x) * gridDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
}

// `name` identifies the kernel in launch errors.
template <class Body>
void for_each(const char* name, index_t n, const Body& body) {
  if (n <= 0) return;
  // No more blocks than the device keeps resident: the grid-stride loop covers the rest.
  const index_t wanted = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  const index_t blocks = std::min<index_t>(wanted, resident_blocks(kThreadsPerBlock));
  for_each_kernel<<<static_cast<unsigned>(blocks), kThreadsPerBlock>>>(n, body);
  TLC_CUDA_LAUNCH_CHECK(name);
}

}  // namespace tlc::cuda::detail
