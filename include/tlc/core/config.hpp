#pragma once
// Build-wide configuration shared by the CPU headers and the CUDA translation units.
#include <cstdint>

#if defined(__CUDACC__)
#define TLC_HD __host__ __device__
#else
#define TLC_HD
#endif

namespace tlc {
using index_t = std::int64_t;
}  // namespace tlc
