// CUDA launches of the single-source element-wise bodies (include/tlc/ops/kernels/elementwise.hpp):
// the same functors the CPU runs, driven by the generic launcher.
#include <cstdint>
#include <limits>

#include "launch.cuh"
#include "tlc/ops/cuda/elementwise.hpp"
#include "tlc/ops/kernels/elementwise.hpp"

namespace tlc::cuda {

namespace {

// One output element of a 4-d broadcast: strides are 0 along broadcast axes. `I` is int32 when
// the output fits, because 64-bit division is several times slower on the GPU.
template <class I>
struct BroadcastBinary {
  kernels::BinaryForward<float> f;
  const float* a;
  const float* b;
  float* y;
  I sa[4], sb[4], shape[4];

  __device__ void operator()(index_t flat) const {
    I r = static_cast<I>(flat);
    const I w = r % shape[3];
    r /= shape[3];
    const I h = r % shape[2];
    r /= shape[2];
    const I c = r % shape[1];
    const I n = r / shape[1];
    y[flat] = f(a[n * sa[0] + c * sa[1] + h * sa[2] + w * sa[3]], b[n * sb[0] + c * sb[1] + h * sb[2] + w * sb[3]]);
  }
};

template <class I>
void launch_broadcast(kernels::BinaryForward<float> f, const float* a, const float* b, float* y, const index_t* sa,
                      const index_t* sb, const index_t* shape, index_t n) {
  BroadcastBinary<I> body{f, a, b, y, {}, {}, {}};
  for (int i = 0; i < 4; ++i) {
    body.sa[i] = static_cast<I>(sa[i]);
    body.sb[i] = static_cast<I>(sb[i]);
    body.shape[i] = static_cast<I>(shape[i]);
  }
  detail::for_each("binary_forward_broadcast", n, body);
}

bool contiguous(const index_t* strides, const index_t* shape) {
  return strides[3] == 1 && strides[2] == shape[3] && strides[1] == shape[2] * shape[3] &&
         strides[0] == shape[1] * shape[2] * shape[3];
}

}  // namespace

void unary_forward(int op, float alpha, const float* x, float* y, index_t n) {
  const kernels::UnaryForward<float> f{static_cast<kernels::Unary>(op), alpha};
  detail::for_each("unary_forward", n, [=] __device__(index_t i) { y[i] = f(x[i]); });
}

void unary_backward(int op, float alpha, const float* x, const float* y, const float* gy, float* gx, index_t n) {
  const kernels::UnaryBackward<float> f{static_cast<kernels::Unary>(op), alpha};
  detail::for_each("unary_backward", n, [=] __device__(index_t i) { gx[i] = f(x[i], y[i], gy[i]); });
}

void binary_forward(int op, const float* a, const float* b, float* y, const index_t* a_strides,
                    const index_t* b_strides, const index_t* out_shape) {
  const kernels::BinaryForward<float> f{static_cast<kernels::Binary>(op)};
  const index_t n = out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3];
  if (contiguous(a_strides, out_shape) && contiguous(b_strides, out_shape)) {
    detail::for_each("binary_forward", n, [=] __device__(index_t i) { y[i] = f(a[i], b[i]); });
  } else if (n <= std::numeric_limits<std::int32_t>::max()) {
    launch_broadcast<std::int32_t>(f, a, b, y, a_strides, b_strides, out_shape, n);
  } else {
    launch_broadcast<index_t>(f, a, b, y, a_strides, b_strides, out_shape, n);
  }
}

}  // namespace tlc::cuda
