#pragma once
// The CUDA backend's entry points, declared with plain C++ types only: no CUDA header is ever
// included from include/. Definitions live in cuda/ and are compiled into tlc::cuda, which
// defines TLC_WITH_CUDA for its users. Without it, every CUDA request throws a DeviceError.
#include <cstddef>
#include <cstdint>

#include "tlc/core/config.hpp"
#include "tlc/core/error.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::kernels {
struct WindowLayout;
struct PlaneWindows;
}

namespace tlc::cuda {

// Runtime.
int device_count();  // 0 when no driver or no device; never throws
void set_device(int index);
void synchronize();
std::size_t peak_allocated_bytes();
void reset_peak_allocated_bytes();
std::size_t allocated_bytes();  // held by live tensors now (size-rounded), all devices
std::size_t cached_bytes();     // freed blocks kept for reuse, all devices
void empty_cache();             // returns every cached block to the driver
// TF32 tensor cores for float GEMMs and convolutions (~1e-3 relative error). Off by default, so
// that CUDA results match the CPU to float precision; PyTorch enables it for convolutions.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Caching allocator (cudaMalloc only on a cache miss).
void* allocate(std::size_t bytes, int device);
void deallocate(void* ptr, std::size_t bytes, int device);
void copy_h2d(void* dst, const void* src, std::size_t bytes);
void copy_d2h(void* dst, const void* src, std::size_t bytes);
void copy_d2d(void* dst, const void* src, std::size_t bytes);
void fill(float* dst, float value, index_t n);

// Element-wise kernel bodies shared with the CPU (see include/tlc/ops/kernels/).
void unary_forward(int op, float alpha, const float* x, float* y, index_t n);
void unary_backward(int op, float alpha, const float* x, const float* y, const float* gy, float* gx, index_t n);
void binary_forward(int op, const float* a, const float* b, float* y, const index_t* a_strides,
                    const index_t* b_strides, const index_t* out_shape);

// Reductions (deterministic: fixed summation order, accumulated in double).
// out = x [shape[0..3]] summed over the axes where reduce[a], keeping them as size 1.
void sum_keep4d(const float* x, float* out, const index_t* shape, const bool* reduce);
double sum_squares(const float* x, index_t n);  // returned to the host (synchronises)

// Layout bodies of include/tlc/ops/kernels/layout.hpp (one row / plane per index).
void pixel_shuffle(const float* in, float* out, index_t C, index_t H, index_t W, index_t r, bool shuffle,
                   index_t rows);
void window_rows(const float* in, float* out, index_t H, index_t W, index_t OH, index_t OW, index_t top, index_t left,
                 int border, index_t rows);
void window_scatter(const float* gout, float* gin, index_t H, index_t W, index_t OH, index_t OW, index_t top,
                    index_t left, int border, index_t planes);
// `outer` blocks of `count` floats, block o from src + o*src_stride to dst + o*dst_stride.
void copy_blocks(const float* src, index_t src_stride, float* dst, index_t dst_stride, index_t outer, index_t count);

// Softmax / L2 normalisation rows of include/tlc/ops/kernels/softmax.hpp: [outer, len, inner].
void softmax_forward(const float* x, float* y, index_t rows, index_t len, index_t inner);
void softmax_backward(const float* y, const float* gy, float* gx, index_t rows, index_t len, index_t inner);
void l2_normalize_forward(const float* x, float* y, float* norm, index_t rows, index_t len, index_t inner, double eps);
void l2_normalize_backward(const float* y, const float* gy, const float* norm, float* gx, index_t rows, index_t len,
                           index_t inner, double eps);

// Pixel losses (include/tlc/ops/kernels/loss.hpp). `partial` (host, images * ceil(len / chunk)
// values) receives the sum of the loss term over each chunk of each image; the gradient is
// coef[i / len] * term'(pred - target), coef on the device.
void pixel_loss_partials(int kind, float eps, const float* pred, const float* target, index_t images, index_t len,
                         index_t chunk, double* partial);
void pixel_loss_grad(int kind, float eps, const float* pred, const float* target, const float* coef, index_t len,
                     float* grad, index_t n);

// Overlapping windows: the row bodies of include/tlc/ops/kernels/windows.hpp. `host` holds host
// arrays (window starts, covering ranges), copied to the device per call.
void window_gather(const float* map, float* win, index_t N, const kernels::WindowLayout& host, bool average);
void window_merge(const float* win, float* map, index_t N, const kernels::WindowLayout& host, bool average);

// Optimiser element updates (include/tlc/ops/kernels/optim.hpp).
struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2;
  bool decoupled;
};
void adam_step(const AdamParams& a, float* p, float* m, float* v, const float* g, index_t n);
void ema_update(float decay, const float* p, float* shadow, index_t n);

// GEMM (row-major): C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, batched with strides.
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, float alpha, const float* a,
          index_t lda, index_t stride_a, const float* b, index_t ldb, index_t stride_b, float beta,
          float* c, index_t ldc, index_t stride_c, index_t batch);

// cuDNN convolution, NCHW float, weight [Cout, Cin/groups, kh, kw]. Every call overwrites its
// output; the algorithm is chosen once per shape and cached.
struct ConvShape {
  index_t n, cin, h, w, cout, kh, kw, stride_h, stride_w, pad_h, pad_w, groups, out_h, out_w;
};
void conv2d_forward(const ConvShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data(const ConvShape& s, const float* w, const float* gy, float* gx);
void conv2d_backward_filter(const ConvShape& s, const float* x, const float* gy, float* gw);
void conv2d_backward_bias(const ConvShape& s, const float* gy, float* gb);

// ---- NAFNet / TLC ops: layer norm, gates, local aggregation, group norm ----------------------
// LayerNorm2d (kernels/layer_norm.hpp), x [N, C, HW]; b null for BiasFree (centre false). mean and
// rstd ([N, HW]) are saved for the backward, which computes each of gx, gw, gb that is not null.
void layer_norm2d_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd, index_t N,
                          index_t C, index_t HW, double eps, bool centre);
void layer_norm2d_backward(const float* x, const float* w, const float* gy, const float* mean, const float* rstd,
                           float* gx, float* gw, float* gb, index_t N, index_t C, index_t HW, bool centre);

// Channel gates (kernels/gate.hpp), `kind` a kernels::Gate: x [outer, 2 * half] -> y [outer, half].
void gate_forward(int kind, const float* x, float* y, index_t outer, index_t half);
void gate_backward(int kind, const float* x, const float* gy, float* gx, index_t outer, index_t half);

// The local ops (include/tlc/ops/local.hpp), `op` a kernels::LocalOp, on the planes `g` describes:
// forward in -> out, backward gout -> gin. `in` is read by the backward of MaxValid only (it
// recomputes the arg-max); it may be null otherwise.
void local_forward(int op, const float* in, float* out, const kernels::PlaneWindows& g);
void local_backward(int op, const float* in, const float* gout, float* gin, const kernels::PlaneWindows& g);

// Group norm (include/tlc/ops/spatial_norm.hpp) of x [N, C, H, W] in G groups over k1 x k2 windows
// (clamped to the map): global statistics when k1 == H and k2 == W, local ones otherwise.
struct GroupNormShape {
  index_t N, C, G, H, W, k1, k2;
};
// w, b: [C] or null. shift (N*G doubles, device) receives each group's global mean; global
// statistics: rstd (N*G doubles) 1/sqrt(var + eps); local: mean and rstd_map ([N*G, H*W] floats,
// the shifted local mean and 1/sqrt(var + eps) per pixel) when not null (needed by the backward).
void group_norm_forward(const GroupNormShape& s, const float* x, const float* w, const float* b, double eps, float* y,
                        double* shift, double* rstd, float* mean, float* rstd_map);
// Computes each of gx, gw, gb that is not null.
void group_norm_backward(const GroupNormShape& s, const float* x, const float* w, const float* gy, const double* shift,
                         const double* rstd, const float* mean, const float* rstd_map, float* gx, float* gw,
                         float* gb);

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
