#pragma once
// The CUDA runtime entry points (cuda/runtime.cu) and what the library asks before using them.
// Like every header under include/, it declares the CUDA backend with plain C++ types only: no
// CUDA header is ever included from include/. Definitions are compiled into tlc::cuda, which
// defines TLC_WITH_CUDA for its users; without it, every CUDA request throws a DeviceError.
#include <string>

#include "tlc/core/error.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

int device_count();  // 0 when no driver or no device; never throws
void set_device(int index);
void synchronize();
// TF32 tensor cores for float GEMMs and convolutions (~1e-3 relative error). Off by default, so
// that CUDA results match the CPU to float precision; PyTorch enables it for convolutions.
void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace tlc::cuda
#endif

namespace tlc {

inline constexpr bool built_with_cuda() {
#if defined(TLC_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

// Number of usable CUDA devices: 0 without the CUDA backend or without a GPU.
inline int cuda_device_count() {
#if defined(TLC_WITH_CUDA)
  return cuda::device_count();
#else
  return 0;
#endif
}

[[noreturn]] inline void throw_no_cuda(const char* op) {
  throw DeviceError(std::string(op) + ": expected a build with the CUDA backend (link tlc::cuda), found a CPU-only build");
}

}  // namespace tlc

// Runs `stmt` when the CUDA backend is linked; otherwise throws a DeviceError naming `op`.
#if defined(TLC_WITH_CUDA)
#define TLC_CUDA_CALL(op, ...) __VA_ARGS__
#else
#define TLC_CUDA_CALL(op, ...) ::tlc::throw_no_cuda(op)
#endif
