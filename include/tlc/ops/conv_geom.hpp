#pragma once
// The geometry of a convolution, shared by the CPU kernels (ops/cpu/conv_cpu.hpp) and the cuDNN
// entry points (ops/cuda/conv.hpp): input [n, cin, h, w], weight [cout, cin/groups, kh, kw],
// output [n, cout, out_h, out_w]; symmetric per-axis padding and stride, no dilation.
#include "tlc/core/config.hpp"

namespace tlc {

struct ConvGeom {
  index_t n, cin, h, w, cout, kh, kw, stride_h, stride_w, pad_h, pad_w, groups, out_h, out_w;

  index_t cin_g() const { return cin / groups; }
  index_t cout_g() const { return cout / groups; }
  index_t k_g() const { return cin_g() * kh * kw; }  // GEMM depth per group
  index_t in_plane() const { return h * w; }
  index_t out_plane() const { return out_h * out_w; }
  bool pointwise() const { return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0; }
  bool depthwise() const { return groups == cin && cout == cin; }
};

}  // namespace tlc
