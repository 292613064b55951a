#pragma once
// cuDNN convolution, NCHW float, weight [Cout, Cin/groups, kh, kw].
// Plain C++ types only (see core/cuda_runtime.hpp); defined in cuda/conv.cu.
#include "tlc/core/config.hpp"
#include "tlc/ops/conv_geom.hpp"

#if defined(TLC_WITH_CUDA)
namespace tlc::cuda {

// Every call overwrites its output; the algorithm is chosen once per geometry and cached.
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_data(const ConvGeom& g, const float* w, const float* gy, float* gx);
void conv2d_backward_filter(const ConvGeom& g, const float* x, const float* gy, float* gw);
void conv2d_backward_bias(const ConvGeom& g, const float* gy, float* gb);

}  // namespace tlc::cuda
#endif
