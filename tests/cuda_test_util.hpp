#pragma once
// Shared by the CUDA tests (tests/cuda_*.cpp): every case skips at run time without a device.
#include "test_util.hpp"

#define TLC_SKIP_WITHOUT_GPU()         \
  if (tlc::cuda_device_count() == 0) { \
    WARN("no CUDA device, skipped");   \
    return;                            \
  }

namespace tlc::test {
inline const Device kGpu = Device::cuda(0);
}  // namespace tlc::test
