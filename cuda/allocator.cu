// The caching device allocator, host <-> device copies and fill.
//
// Blocks are rounded to a size class and kept in per-device free lists when released; cudaMalloc
// runs only on a miss. Reusing a block at once is safe because all work is ordered on the legacy
// default stream (runtime.cuh). On out-of-memory the cache is returned to the driver and the
// allocation retried once.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "check.cuh"
#include "launch.cuh"
#include "runtime.cuh"
#include "tlc/core/cuda_allocator.hpp"

namespace tlc::cuda {

namespace {

constexpr std::size_t kSmallLimit = std::size_t(1) << 20;
constexpr std::size_t kSmallStep = 512;

// 512-byte steps up to 1 MiB, then four classes per power of two (at most 25% slack).
std::size_t size_class(std::size_t bytes) {
  if (bytes <= kSmallLimit) return (bytes + kSmallStep - 1) / kSmallStep * kSmallStep;
  std::size_t p = kSmallLimit;
  while (p <= bytes / 2) p *= 2;
  const std::size_t step = p / 4;
  return (bytes + step - 1) / step * step;
}

class DeviceAllocator {
 public:
  void* allocate(std::size_t bytes, int device) {
    detail::check_device("cuda::allocate", device);
    if (bytes == 0) return nullptr;
    const std::size_t cls = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& list = lists(device)[cls];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        cached_ -= cls;
        account(cls);
        return p;
      }
    }
    detail::DeviceGuard guard(device);
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cls);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached(device);
      e = cudaMalloc(&p, cls);
    }
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      std::size_t free_bytes = 0, total = 0;
      cudaMemGetInfo(&free_bytes, &total);
      throw CudaError(::tlc::detail::concat("cuda::allocate: out of memory on cuda:", device, ": expected ", bytes,
                                            " bytes (", cls, " rounded) after emptying the cache, found ", free_bytes,
                                            " free of ", total, " (", in_use(), " held by tensors)"));
    }
    TLC_CUDA_CHECK(e);
    std::lock_guard<std::mutex> lock(mutex_);
    account(cls);
    return p;
  }

  // Never throws: runs from Storage's destructor.
  void deallocate(void* p, std::size_t bytes, int device) noexcept {
    if (!p) return;
    const std::size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    lists(device)[cls].push_back(p);
    cached_ += cls;
    in_use_ -= cls;
  }

  void release_cached(int device) {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& kv : lists(device)) {
        for (void* p : kv.second) blocks.push_back(p);
        cached_ -= kv.first * kv.second.size();
        kv.second.clear();
      }
    }
    detail::DeviceGuard guard(device);
    for (void* p : blocks) TLC_CUDA_CHECK(cudaFree(p));  // cudaFree waits for work that still uses p
  }

  std::size_t in_use() {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_use_;
  }
  std::size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }
  std::size_t peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = in_use_;
  }

 private:
  using FreeLists = std::unordered_map<std::size_t, std::vector<void*>>;  // size class -> blocks

  FreeLists& lists(int device) {  // caller holds mutex_
    if (free_.size() <= static_cast<size_t>(device)) free_.resize(static_cast<size_t>(device) + 1);
    return free_[static_cast<size_t>(device)];
  }
  void account(std::size_t cls) {  // caller holds mutex_
    in_use_ += cls;
    peak_ = std::max(peak_, in_use_);
  }

  std::mutex mutex_;
  std::vector<FreeLists> free_;  // by device
  std::size_t in_use_ = 0, cached_ = 0, peak_ = 0;
};

// Never destroyed: tensors in static storage may be released after main returns.
DeviceAllocator& allocator() {
  static DeviceAllocator* a = new DeviceAllocator();
  return *a;
}

}  // namespace

void* allocate(std::size_t bytes, int device) { return allocator().allocate(bytes, device); }
void deallocate(void* ptr, std::size_t bytes, int device) { allocator().deallocate(ptr, bytes, device); }

std::size_t peak_allocated_bytes() { return allocator().peak(); }
void reset_peak_allocated_bytes() { allocator().reset_peak(); }
std::size_t allocated_bytes() { return allocator().in_use(); }
std::size_t cached_bytes() { return allocator().cached(); }
void empty_cache() {
  for (int d = 0; d < device_count(); ++d) allocator().release_cached(d);
}

void copy_h2d(void* dst, const void* src, std::size_t bytes) {
  TLC_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void copy_d2h(void* dst, const void* src, std::size_t bytes) {
  TLC_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
// cudaMemcpyDefault: the pointers may live on two different devices (unified addressing).
void copy_d2d(void* dst, const void* src, std::size_t bytes) {
  TLC_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void fill(float* dst, float value, index_t n) {
  detail::for_each("fill", n, [=] __device__(index_t i) { dst[i] = value; });
}

}  // namespace tlc::cuda
