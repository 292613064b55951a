#pragma once
// Host memory: 64-byte aligned blocks, recycled by size class so that training steps and
// repeated inference do not go back to the system allocator for every tensor (a fresh block costs
// a page fault per 4 KiB, which a large training step pays millions of times).
//
// The cache never holds the process above its own peak demand for long. Large blocks (the
// activations of large images) are kept while large live + large cached fit under the largest
// large live total seen so far: on a large miss, cached large blocks of other classes go back to
// the system until the new block fits too. Without that bound a pass whose sizes change from stage
// to stage (a U-Net's levels, TLC's valid maps) keeps every class it ever used resident. Smaller
// blocks are kept up to a fixed budget (cache_limit), and beyond it while small live + small
// cached stay under their own peak; they are not evicted on a miss, because glibc keeps blocks
// below its largest mmap threshold in its heap after free() anyway.
//
// Large blocks are mapped pages of their own (Linux): a block evicted on a miss is resized into
// the new one (mremap), so its resident pages are reused instead of freed and faulted in again.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace tlc {

class CpuAllocator {
 public:
  static constexpr std::size_t kAlignment = 64;
  static constexpr std::size_t kLargeBlock = std::size_t(32) << 20;

  struct Stats {
    std::size_t live_bytes;       // handed out and not yet released (rounded to size classes)
    std::size_t peak_live_bytes;  // largest live_bytes since construction or reset_peak()
    std::size_t cached_bytes;     // released blocks kept for reuse
    std::size_t misses;           // requests the cache could not serve (each one a system allocation)
  };

  static CpuAllocator& instance() {
    static CpuAllocator* a = new CpuAllocator();  // never destroyed: outlives static tensors
    return *a;
  }

  // Returns a block of at least `bytes`; the caller passes the same `bytes` to release().
  void* acquire(std::size_t bytes) {
    const std::size_t cls = size_class(bytes);
    std::vector<std::pair<void*, std::size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= cls;
        (cls >= kLargeBlock ? large_cached_bytes_ : small_cached_bytes_) -= cls;
        note_acquired(cls);
        return p;
      }
      if (cls >= kLargeBlock) {
        const std::size_t budget = std::max(peak_large_live_bytes_, large_live_bytes_ + cls);
        while (large_cached_bytes_ > 0 && large_live_bytes_ + large_cached_bytes_ + cls > budget)
          evicted.push_back(evict_large(large_live_bytes_ + large_cached_bytes_ + cls - budget));
      }
    }
    // An evicted block is resized into the new one rather than returned: its pages stay
    // resident, so only the difference is faulted in (a 236 MB block is 57,600 page faults).
    void* p = nullptr;
    if (!evicted.empty()) {
      auto reuse = std::max_element(evicted.begin(), evicted.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
      p = system_resize(reuse->first, reuse->second, cls, bytes);
      if (!p) system_free(reuse->first, reuse->second);
      evicted.erase(reuse);
    }
    for (auto& [q, size] : evicted) system_free(q, size);
    if (!p) p = system_alloc(cls);
    if (!p) {
      release_cache();
      p = system_alloc(cls);
      if (!p) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    note_acquired(cls);
    ++misses_;
    return p;
  }

  void release(void* p, std::size_t bytes) {
    if (!p) return;
    const std::size_t cls = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_bytes_ -= cls;
      const bool large = cls >= kLargeBlock;
      (large ? large_live_bytes_ : small_live_bytes_) -= cls;
      // A large block always fits under the large peak here (acquire keeps that bound).
      if (large || small_cached_bytes_ + cls <= std::max(cache_limit_, peak_small_live_bytes_ - small_live_bytes_)) {
        free_[cls].push_back(p);
        cached_bytes_ += cls;
        (large ? large_cached_bytes_ : small_cached_bytes_) += cls;
        return;
      }
    }
    system_free(p, cls);
  }

  // Returns every cached block to the system (and, with glibc, the heap's free pages with them:
  // blocks below its mmap threshold would otherwise stay resident after free()).
  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : free_)
      for (void* p : kv.second) system_free(p, kv.first);
    free_.clear();
    cached_bytes_ = 0;
    large_cached_bytes_ = 0;
    small_cached_bytes_ = 0;
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
  }

  // The budget small blocks are always kept within (1 GiB by default).
  void set_cache_limit(std::size_t bytes) { cache_limit_ = bytes; }

  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {live_bytes_, peak_live_bytes_, cached_bytes_, misses_};
  }

  // Starts new peak measurements (and a new bound for the large-block cache) from the live totals.
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_live_bytes_ = live_bytes_;
    peak_large_live_bytes_ = large_live_bytes_;
    peak_small_live_bytes_ = small_live_bytes_;
  }

 private:
  // Small blocks round up to 64 bytes; larger ones to an eighth of their power of two, which
  // bounds waste at 12.5% while keeping the number of classes small.
  static std::size_t size_class(std::size_t bytes) {
    if (bytes <= 4096) return ((bytes + kAlignment - 1) / kAlignment) * kAlignment + (bytes == 0 ? kAlignment : 0);
    std::size_t p = 4096;
    while (p < bytes) p <<= 1;
    std::size_t q = p / 8;
    return ((bytes + q - 1) / q) * q;
  }

  void note_acquired(std::size_t cls) {
    live_bytes_ += cls;
    peak_live_bytes_ = std::max(peak_live_bytes_, live_bytes_);
    if (cls >= kLargeBlock) {
      large_live_bytes_ += cls;
      peak_large_live_bytes_ = std::max(peak_large_live_bytes_, large_live_bytes_);
    } else {
      small_live_bytes_ += cls;
      peak_small_live_bytes_ = std::max(peak_small_live_bytes_, small_live_bytes_);
    }
  }

  // Large blocks map their own pages (Linux), so that one can be resized in place of a free and a
  // fresh allocation; smaller ones come from the C heap.
  static void* system_alloc(std::size_t cls) {
#if defined(__linux__)
    if (cls >= kLargeBlock) {
      void* p = mmap(nullptr, cls, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return p == MAP_FAILED ? nullptr : p;  // page-aligned, hence kAlignment-aligned
    }
#endif
    return std::aligned_alloc(kAlignment, cls);
  }

  static void system_free(void* p, std::size_t cls) {
#if defined(__linux__)
    if (cls >= kLargeBlock) {
      munmap(p, cls);
      return;
    }
#endif
    std::free(p);
  }

  // A large block of class `from` turned into one of class `to` for a request of `bytes` (contents
  // not kept), or null where that cannot be done (then `p` is still the caller's to free). Pages
  // past the request are dropped: a fresh block would never touch them, so they would not count.
  static void* system_resize(void* p, std::size_t from, std::size_t to, std::size_t bytes) {
#if defined(__linux__)
    void* q = mremap(p, from, to, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) return nullptr;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), used = (bytes + page - 1) / page * page;
    if (used < to) madvise(static_cast<char*>(q) + used, to - used, MADV_DONTNEED);
    return q;
#else
    (void)p, (void)from, (void)to, (void)bytes;
    return nullptr;
#endif
  }

  // Takes one cached large block out of the cache: the smallest that frees at least `want` bytes
  // on its own, else the largest (so that few blocks go back). The caller frees or resizes it.
  std::pair<void*, std::size_t> evict_large(std::size_t want) {
    auto pick = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->first < kLargeBlock || it->second.empty()) continue;
      if (pick == free_.end()) {
        pick = it;
        continue;
      }
      const bool it_covers = it->first >= want, pick_covers = pick->first >= want;
      if (it_covers != pick_covers ? it_covers : (it_covers ? it->first < pick->first : it->first > pick->first))
        pick = it;
    }
    void* p = pick->second.back();
    pick->second.pop_back();
    cached_bytes_ -= pick->first;
    large_cached_bytes_ -= pick->first;
    return {p, pick->first};
  }

  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_bytes_ = 0, large_cached_bytes_ = 0, small_cached_bytes_ = 0;
  std::size_t live_bytes_ = 0, large_live_bytes_ = 0, small_live_bytes_ = 0;
  std::size_t peak_live_bytes_ = 0, peak_large_live_bytes_ = 0, peak_small_live_bytes_ = 0;
  std::size_t misses_ = 0;
  std::size_t cache_limit_ = std::size_t(1) << 30;
};

}  // namespace tlc
