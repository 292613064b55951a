#pragma once
// Storage: one device allocation, shared by every tensor that views it.
#include <cstddef>
#include <cstring>
#include <memory>

#include "tlc/core/allocator.hpp"
#include "tlc/core/cuda_allocator.hpp"
#include "tlc/core/device.hpp"

namespace tlc {

class Storage {
 public:
  Storage(std::size_t bytes, Device device) : bytes_(bytes), device_(device) {
    if (device.is_cpu()) {
      data_ = CpuAllocator::instance().acquire(bytes);
    } else {
      TLC_CUDA_CALL("Storage", data_ = cuda::allocate(bytes, device.index));
    }
  }
  ~Storage() {
    if (device_.is_cpu()) {
      CpuAllocator::instance().release(data_, bytes_);
    } else {
#if defined(TLC_WITH_CUDA)
      cuda::deallocate(data_, bytes_, device_.index);
#endif
    }
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_;
  Device device_;
};

// Copies bytes between any two devices.
inline void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  TLC_CUDA_CALL("copy", {
    if (dst_dev.is_cuda() && src_dev.is_cpu()) cuda::copy_h2d(dst, src, bytes);
    else if (dst_dev.is_cpu()) cuda::copy_d2h(dst, src, bytes);
    else cuda::copy_d2d(dst, src, bytes);
  });
}

}  // namespace tlc
