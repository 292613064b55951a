#pragma once
// Layout bodies of ops/kernels/layout.hpp (one row / plane per index) and block copies.
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/layout.cu.
#include "tlc/core/config.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

void pixel_shuffle(const float* in, float* out, index_t C, index_t H, index_t W, index_t r, bool shuffle,
                   index_t rows);
void window_rows(const float* in, float* out, index_t H, index_t W, index_t OH, index_t OW, index_t top, index_t left,
                 int border, index_t rows);
void window_scatter(const float* gout, float* gin, index_t H, index_t W, index_t OH, index_t OW, index_t top,
                    index_t left, int border, index_t planes);
// `outer` blocks of `count` floats, block o from src + o*src_stride to dst + o*dst_stride.
void copy_blocks(const float* src, index_t src_stride, float* dst, index_t dst_stride, index_t outer, index_t count);

}  // namespace tlc::cuda
#endif
