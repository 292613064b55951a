#pragma once
// Overlapping windows: the row bodies of ops/kernels/windows.hpp.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/windows.cu.
#include "tlc/core/config.hpp"
#include "tlc/ops/kernels/windows.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// `host` holds host arrays (window starts, covering ranges), copied to the device per call.
void window_gather(const float* map, float* win, index_t N, const kernels::WindowLayout& host, bool average);
void window_merge(const float* win, float* map, index_t N, const kernels::WindowLayout& host, bool average);

}  // namespace tlc::cuda
#endif
