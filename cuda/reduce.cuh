#pragma once
// Deterministic reductions shared by the .cu files: a block sum in a fixed tree order and chunked
// partial sums (each block sums one fixed chunk), so results never depend on the grid size, the
// device or the run. Sums are accumulated in double, as on the CPU. Internal to cuda/.
#include <vector>

#include "launch.cuh"
#include "tlc/core/cuda_allocator.hpp"
#include "tlc/ops/cuda/reduce.hpp"

namespace tlc::cuda::detail {

// A scratch device buffer from the caching allocator on the current device. Freeing it right after
// queuing work is safe: everything runs on one stream (docs/CUDA.md).
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(index_t n)
      : bytes_(static_cast<std::size_t>(n) * sizeof(T)), device_(current_device()),
        ptr_(static_cast<T*>(allocate(bytes_, device_))) {}
  ~DeviceBuffer() { deallocate(ptr_, bytes_, device_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return ptr_; }

 private:
  std::size_t bytes_;
  int device_;
  T* ptr_;
};

// Sum of `v` over the block (blockDim.x == kThreadsPerBlock), valid in thread 0. All threads must
// call it.
__device__ inline double block_sum(double v) {
  __shared__ double warp_sums[kThreadsPerBlock / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = 0.0;
  if (warp == 0) {
    v = lane < kThreadsPerBlock / 32 ? warp_sums[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  }
  __syncthreads();  // warp_sums may be reused by the next call
  return v;
}

// partial[s * chunks + c] = sum of term(i) over chunk c of segment s, where segment s is
// [s * len, (s + 1) * len) and chunk c its elements [c * chunk, (c + 1) * chunk).
template <class Term>
__global__ void chunk_sums_kernel(index_t segments, index_t len, index_t chunks, index_t chunk, Term term,
                                  double* partial) {
  for (index_t b = blockIdx.x; b < segments * chunks; b += gridDim.x) {
    const index_t s = b / chunks, begin = s * len + (b % chunks) * chunk;
    const index_t end = begin + chunk < (s + 1) * len ? begin + chunk : (s + 1) * len;
    double acc = 0.0;
    for (index_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc += term(i);
    acc = block_sum(acc);
    if (threadIdx.x == 0) partial[b] = acc;
  }
}

// The partial sums above, copied to the host (segments * ceil(len / chunk) values).
template <class Term>
std::vector<double> chunk_sums(const char* name, index_t segments, index_t len, index_t chunk, const Term& term) {
  const index_t chunks = (len + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<std::size_t>(segments * chunks));
  if (partial.empty()) return partial;
  DeviceBuffer<double> dev(segments * chunks);
  const index_t blocks = std::min<index_t>(segments * chunks, resident_blocks(kThreadsPerBlock));
  chunk_sums_kernel<<<static_cast<unsigned>(blocks), kThreadsPerBlock>>>(segments, len, chunks, chunk, term, dev.get());
  TLC_CUDA_LAUNCH_CHECK(name);
  copy_d2h(partial.data(), dev.get(), partial.size() * sizeof(double));
  return partial;
}

}  // namespace tlc::cuda::detail
