// Sums over chosen axes of a 4-d tensor (sum, mean and every broadcasting backward) and the sum
// of squares of gradient norms. Deterministic: every output is summed in a fixed order.
#include <cmath>

#include "reduce.cuh"
#include "tlc/ops/cuda/reduce.hpp"

namespace tlc::cuda {

namespace {

// The 4-d axes split into kept and reduced ones, each as (size, stride) lists, innermost last.
struct AxisSplit {
  int nk = 0, nr = 0;
  index_t ksize[4] = {}, kstride[4] = {}, rsize[4] = {}, rstride[4] = {};

  __device__ static index_t offset(index_t idx, int n, const index_t* size, const index_t* stride) {
    index_t off = 0;
    for (int a = n - 1; a >= 0; --a) {
      off += (idx % size[a]) * stride[a];
      idx /= size[a];
    }
    return off;
  }
  __device__ index_t kept(index_t o) const { return offset(o, nk, ksize, kstride); }
  __device__ index_t reduced(index_t j) const { return offset(j, nr, rsize, rstride); }
};

// One block per output: the block's threads stride over the reduced elements.
__global__ void sum_axes_kernel(const float* x, float* out, index_t outputs, index_t inner, AxisSplit split) {
  for (index_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const float* base = x + split.kept(o);
    double acc = 0.0;
    for (index_t j = threadIdx.x; j < inner; j += blockDim.x) acc += static_cast<double>(base[split.reduced(j)]);
    acc = detail::block_sum(acc);
    if (threadIdx.x == 0) out[o] = static_cast<float>(acc);
  }
}

// Below this many reduced elements per output, one thread sums an output alone.
constexpr index_t kThreadReduceMax = 64;

}  // namespace

void sum_keep4d(const float* x, float* out, const index_t* shape, const bool* reduce) {
  AxisSplit split;
  index_t stride = 1, outputs = 1, inner = 1;
  index_t strides[4];
  for (int a = 3; a >= 0; --a) {
    strides[a] = stride;
    stride *= shape[a];
  }
  for (int a = 0; a < 4; ++a) {
    if (reduce[a]) {
      split.rsize[split.nr] = shape[a];
      split.rstride[split.nr++] = strides[a];
      inner *= shape[a];
    } else {
      split.ksize[split.nk] = shape[a];
      split.kstride[split.nk++] = strides[a];
      outputs *= shape[a];
    }
  }
  if (outputs == 0) return;
  if (inner <= kThreadReduceMax) {
    detail::for_each("sum_keep4d", outputs, [=] __device__(index_t o) {
      const float* base = x + split.kept(o);
      double acc = 0.0;
      for (index_t j = 0; j < inner; ++j) acc += static_cast<double>(base[split.reduced(j)]);
      out[o] = static_cast<float>(acc);
    });
    return;
  }
  const index_t blocks = std::min<index_t>(outputs, detail::resident_blocks(detail::kThreadsPerBlock));
  sum_axes_kernel<<<static_cast<unsigned>(blocks), detail::kThreadsPerBlock>>>(x, out, outputs, inner, split);
  TLC_CUDA_LAUNCH_CHECK("sum_keep4d");
}

double sum_squares(const float* x, index_t n) {
  constexpr index_t kChunk = 1 << 14;
  const auto partial = detail::chunk_sums("sum_squares", 1, n, kChunk, [=] __device__(index_t i) {
    const double v = static_cast<double>(x[i]);
    return v * v;
  });
  double s = 0.0;
  for (double p : partial) s += p;
  return s;
}

}  // namespace tlc::cuda
