#pragma once
// The CUDA caching allocator and copies (cuda/allocator.cu): cudaMalloc only on a cache miss.
#include <cstddef>

#include "tlc/core/config.hpp"
#include "tlc/core/cuda_runtime.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

void* allocate(std::size_t bytes, int device);
void deallocate(void* ptr, std::size_t bytes, int device);
void copy_h2d(void* dst, const void* src, std::size_t bytes);
void copy_d2h(void* dst, const void* src, std::size_t bytes);
void copy_d2d(void* dst, const void* src, std::size_t bytes);
void fill(float* dst, float value, index_t n);
std::size_t peak_allocated_bytes();
void reset_peak_allocated_bytes();
std::size_t allocated_bytes();  // held by live tensors now (size-rounded), all devices
std::size_t cached_bytes();     // freed blocks kept for reuse, all devices
void empty_cache();             // returns every cached block to the driver

}  // namespace tlc::cuda
#endif
