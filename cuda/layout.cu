// Layout ops (include/tlc/ops/layout.hpp): the single-source row bodies of kernels/layout.hpp, one
// row (or plane) per index, and strided block copies for concat / slice.
#include "launch.cuh"
#include "tlc/ops/cuda/layout.hpp"
#include "tlc/ops/kernels/layout.hpp"

namespace tlc::cuda {

void pixel_shuffle(const float* in, float* out, index_t C, index_t H, index_t W, index_t r, bool shuffle,
                   index_t rows) {
  detail::for_each("pixel_shuffle", rows, kernels::PixelShuffleRow<float>{in, out, C, H, W, r, shuffle});
}

void window_rows(const float* in, float* out, index_t H, index_t W, index_t OH, index_t OW, index_t top, index_t left,
                 int border, index_t rows) {
  detail::for_each("window_rows", rows,
                   kernels::WindowRow<float>{in, out, H, W, OH, OW, top, left, static_cast<kernels::Border>(border)});
}

void window_scatter(const float* gout, float* gin, index_t H, index_t W, index_t OH, index_t OW, index_t top,
                    index_t left, int border, index_t planes) {
  detail::for_each(
      "window_scatter", planes,
      kernels::WindowScatterPlane<float>{gout, gin, H, W, OH, OW, top, left, static_cast<kernels::Border>(border)});
}

void copy_blocks(const float* src, index_t src_stride, float* dst, index_t dst_stride, index_t outer, index_t count) {
  if (outer == 0 || count == 0) return;
  constexpr std::size_t f = sizeof(float);
  TLC_CUDA_CHECK(cudaMemcpy2D(dst, static_cast<std::size_t>(dst_stride) * f, src,
                              static_cast<std::size_t>(src_stride) * f, static_cast<std::size_t>(count) * f,
                              static_cast<std::size_t>(outer), cudaMemcpyDeviceToDevice));
}

}  // namespace tlc::cuda
