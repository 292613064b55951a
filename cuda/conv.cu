// cuDNN convolutions (NCHW float, groups). One plan per (shape, device, TF32 policy) holds the
// descriptors and, per direction, the algorithm chosen by cuDNN's heuristics on first use.
// Workspaces come from the caching allocator.
#include <array>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "check.cuh"
#include "handles.cuh"
#include "runtime.cuh"
#include "tlc/core/cuda_allocator.hpp"
#include "tlc/ops/cuda/conv.hpp"

namespace tlc::cuda {

namespace {

constexpr int kShapeFields = 14;
using ShapeKey = std::array<index_t, kShapeFields + 2>;  // ConvGeom, device, TF32

ShapeKey make_key(const ConvGeom& s, int device, bool tf32) {
  return {s.n,        s.cin,   s.h,     s.w,      s.cout,  s.kh,    s.kw,   s.stride_h,
          s.stride_w, s.pad_h, s.pad_w, s.groups, s.out_h, s.out_w, device, tf32 ? 1 : 0};
}

struct KeyHash {
  size_t operator()(const ShapeKey& k) const {
    size_t h = 1469598103934665603ull;
    for (index_t v : k) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

std::string shape_str(const ConvGeom& s) {
  return ::tlc::detail::concat("x [", s.n, ",", s.cin, ",", s.h, ",", s.w, "], w [", s.cout, ",",
                               s.groups > 0 ? s.cin / s.groups : 0, ",", s.kh, ",", s.kw, "], stride ", s.stride_h, "x",
                               s.stride_w, ", pad ", s.pad_h, "x", s.pad_w, ", groups ", s.groups);
}

int as_int(const ConvGeom& s, index_t v) {
  TLC_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), ShapeError,
            "cuda::conv2d: expected sizes below 2^31, found ", v, " in ", shape_str(s));
  return static_cast<int>(v);
}

// An algorithm for one direction, with its own convolution descriptor because the math type
// (FMA or TF32) is a property of the descriptor and may differ between directions.
struct Direction {
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool chosen = false;
  int algo = 0;
  std::size_t workspace = 0;
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  Direction fwd, bwd_data, bwd_filter;
  // Plans live as long as the process (like the handles): no destructor racing CUDA teardown.
};

cudnnConvolutionDescriptor_t make_conv(const ConvGeom& s, bool tf32) {
  cudnnConvolutionDescriptor_t c = nullptr;
  TLC_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&c));
  TLC_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c, as_int(s, s.pad_h), as_int(s, s.pad_w), as_int(s, s.stride_h),
                                                  as_int(s, s.stride_w), 1, 1, CUDNN_CROSS_CORRELATION,
                                                  CUDNN_DATA_FLOAT));
  TLC_CUDNN_CHECK(cudnnSetConvolutionGroupCount(c, as_int(s, s.groups)));
  TLC_CUDNN_CHECK(cudnnSetConvolutionMathType(c, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  return c;
}

std::unique_ptr<Plan> make_plan(const ConvGeom& s, bool tf32) {
  TLC_CHECK(s.groups >= 1 && s.cin % s.groups == 0 && s.cout % s.groups == 0, ShapeError,
            "cuda::conv2d: expected groups >= 1 dividing both channel counts, found ", shape_str(s));
  TLC_CHECK(s.n >= 1 && s.kh >= 1 && s.kw >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.pad_h >= 0 && s.pad_w >= 0,
            ShapeError, "cuda::conv2d: expected positive sizes and strides and non-negative padding, found ",
            shape_str(s));
  // Shape errors are raised before any descriptor is created.
  for (index_t v : make_key(s, 0, false)) as_int(s, v);
  const index_t out_h = s.h + 2 * s.pad_h >= s.kh ? (s.h + 2 * s.pad_h - s.kh) / s.stride_h + 1 : 0;
  const index_t out_w = s.w + 2 * s.pad_w >= s.kw ? (s.w + 2 * s.pad_w - s.kw) / s.stride_w + 1 : 0;
  TLC_CHECK(out_h >= 1 && out_w >= 1 && out_h == s.out_h && out_w == s.out_w, ShapeError,
            "cuda::conv2d: expected output ", out_h, "x", out_w, " for ", shape_str(s), ", found ", s.out_h, "x",
            s.out_w);
  auto p = std::make_unique<Plan>();
  TLC_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  TLC_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  TLC_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias));
  TLC_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  TLC_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(s, s.n),
                                             as_int(s, s.cin), as_int(s, s.h), as_int(s, s.w)));
  TLC_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, as_int(s, s.n),
                                             as_int(s, s.cout), as_int(s, s.out_h), as_int(s, s.out_w)));
  TLC_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, as_int(s, s.cout), 1, 1));
  TLC_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, as_int(s, s.cout),
                                             as_int(s, s.cin / s.groups), as_int(s, s.kh), as_int(s, s.kw)));
  p->fwd.conv = make_conv(s, tf32);
  p->bwd_data.conv = make_conv(s, tf32);
  p->bwd_filter.conv = make_conv(s, tf32);
  return p;
}

// Takes the heuristics' best-ranked usable result. Without TF32 only FMA math is acceptable;
// conversion to half precision is never acceptable.
template <class Perf>
const Perf& pick(const char* op, const ConvGeom& s, const Perf* perf, int count, bool tf32) {
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    if (!tf32 && p.mathType == CUDNN_TENSOR_OP_MATH) continue;
    return p;
  }
  throw CudaError(::tlc::detail::concat(op, ": expected a cuDNN algorithm for ", shape_str(s), ", found none of ",
                                        count, " candidates usable"));
}

template <class Perf>
void adopt(Direction& d, const Perf& p, bool tf32) {
  d.algo = static_cast<int>(p.algo);
  if (tf32) TLC_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, p.mathType));
  d.chosen = true;
}

class PlanCache {
 public:
  // The plan for `s` on the current device with its `dir` algorithm (if any) chosen.
  const Plan& get(const ConvGeom& s, Direction Plan::*dir) {
    const int device = detail::current_device();
    const bool tf32 = allow_tf32();
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = plans_[make_key(s, device, tf32)];
    if (!slot) slot = make_plan(s, tf32);
    Plan& p = *slot;
    if (dir && !(p.*dir).chosen) choose(s, p, dir, tf32);
    return p;
  }

 private:
  void choose(const ConvGeom& s, Plan& p, Direction Plan::*dir, bool tf32) {
    cudnnHandle_t h = detail::cudnn_handle();
    Direction& d = p.*dir;
    int found = 0;
    if (dir == &Plan::fwd) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      TLC_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, d.conv, p.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                             &found, perf));
      adopt(d, pick("cuda::conv2d_forward", s, perf, found, tf32), tf32);
      TLC_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
          h, p.x, p.w, d.conv, p.y, static_cast<cudnnConvolutionFwdAlgo_t>(d.algo), &d.workspace));
    } else if (dir == &Plan::bwd_data) {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      TLC_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, d.conv, p.x,
                                                                  CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &found, perf));
      adopt(d, pick("cuda::conv2d_backward_data", s, perf, found, tf32), tf32);
      TLC_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
          h, p.w, p.y, d.conv, p.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(d.algo), &d.workspace));
    } else {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      TLC_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
          h, p.x, p.y, d.conv, p.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &found, perf));
      adopt(d, pick("cuda::conv2d_backward_filter", s, perf, found, tf32), tf32);
      TLC_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
          h, p.x, p.y, d.conv, p.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(d.algo), &d.workspace));
    }
  }

  std::mutex mutex_;
  std::unordered_map<ShapeKey, std::unique_ptr<Plan>, KeyHash> plans_;
};

PlanCache& plans() {
  static PlanCache* c = new PlanCache();
  return *c;
}

// Workspace memory from the caching allocator, released after the call was enqueued (stream
// order makes that safe, see runtime.cuh).
class Workspace {
 public:
  explicit Workspace(std::size_t bytes) : bytes_(bytes), device_(detail::current_device()) {
    ptr_ = allocate(bytes_, device_);
  }
  ~Workspace() { deallocate(ptr_, bytes_, device_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  void* get() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t bytes_;
  int device_;
  void* ptr_ = nullptr;
};

const float kOne = 1.0f, kZero = 0.0f;

}  // namespace

void conv2d_forward(const ConvGeom& s, const float* x, const float* w, const float* bias, float* y) {
  const Plan& p = plans().get(s, &Plan::fwd);
  cudnnHandle_t h = detail::cudnn_handle();
  Workspace ws(p.fwd.workspace);
  TLC_CUDNN_CHECK(cudnnConvolutionForward(h, &kOne, p.x, x, p.w, w, p.fwd.conv,
                                          static_cast<cudnnConvolutionFwdAlgo_t>(p.fwd.algo), ws.get(), ws.bytes(),
                                          &kZero, p.y, y));
  if (bias) TLC_CUDNN_CHECK(cudnnAddTensor(h, &kOne, p.bias, bias, &kOne, p.y, y));
}

void conv2d_backward_data(const ConvGeom& s, const float* w, const float* gy, float* gx) {
  const Plan& p = plans().get(s, &Plan::bwd_data);
  Workspace ws(p.bwd_data.workspace);
  TLC_CUDNN_CHECK(cudnnConvolutionBackwardData(detail::cudnn_handle(), &kOne, p.w, w, p.y, gy, p.bwd_data.conv,
                                               static_cast<cudnnConvolutionBwdDataAlgo_t>(p.bwd_data.algo), ws.get(),
                                               ws.bytes(), &kZero, p.x, gx));
}

void conv2d_backward_filter(const ConvGeom& s, const float* x, const float* gy, float* gw) {
  const Plan& p = plans().get(s, &Plan::bwd_filter);
  Workspace ws(p.bwd_filter.workspace);
  TLC_CUDNN_CHECK(cudnnConvolutionBackwardFilter(detail::cudnn_handle(), &kOne, p.x, x, p.y, gy, p.bwd_filter.conv,
                                                 static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.bwd_filter.algo),
                                                 ws.get(), ws.bytes(), &kZero, p.w, gw));
}

void conv2d_backward_bias(const ConvGeom& s, const float* gy, float* gb) {
  const Plan& p = plans().get(s, nullptr);
  TLC_CUDNN_CHECK(cudnnConvolutionBackwardBias(detail::cudnn_handle(), &kOne, p.y, gy, &kZero, p.bias, gb));
}

}  // namespace tlc::cuda
