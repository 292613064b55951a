#pragma once
// Host memory: 64-byte aligned blocks, recycled by size class so that training steps and
// repeated inference do not go back to the system allocator for every tensor.
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace tlc {

class CpuAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;

  static CpuAllocator& instance() {
    static CpuAllocator* a = new CpuAllocator();  // never destroyed: outlives static tensors
    return *a;
  }

  // Returns a block of at least `bytes`; the caller passes the same `bytes` to release().
  void* acquire(std::size_t bytes) {
    std::size_t cls = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= cls;
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, cls);
    if (!p) {
      release_cache();
      p = std::aligned_alloc(kAlignment, cls);
      if (!p) throw std::bad_alloc();
    }
    return p;
  }

  void release(void* p, std::size_t bytes) {
    if (!p) return;
    std::size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_bytes_ + cls > cache_limit_) {
      std::free(p);
      return;
    }
    free_[cls].push_back(p);
    cached_bytes_ += cls;
  }

  // Returns every cached block to the system.
  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : free_)
      for (void* p : kv.second) std::free(p);
    free_.clear();
    cached_bytes_ = 0;
  }

  void set_cache_limit(std::size_t bytes) { cache_limit_ = bytes; }

 private:
  // Small blocks round up to 64 bytes; larger ones to a quarter of their power of two, which
  // bounds waste at 25% while keeping the number of classes small.
  static std::size_t size_class(std::size_t bytes) {
    if (bytes <= 4096) return ((bytes + kAlignment - 1) / kAlignment) * kAlignment + (bytes == 0 ? kAlignment : 0);
    std::size_t p = 4096;
    while (p < bytes) p <<= 1;
    std::size_t q = p / 8;
    return ((bytes + q - 1) / q) * q;
  }

  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_bytes_ = 0;
  std::size_t cache_limit_ = std::size_t(1) << 30;
};

}  // namespace tlc
