#pragma once
// The CUDA path of the local ops of include/tlc/ops/local.hpp, kept apart from their CPU code: the
// op checks its arguments, then hands a CUDA tensor to local_cuda, which runs the forward and
// records the backward of cuda::local_forward / cuda::local_backward (cuda/local.cu).
#include <type_traits>
#include <vector>

#include "tlc/core/cuda_api.hpp"
#include "tlc/ops/common.hpp"
#include "tlc/ops/kernels/local.hpp"

namespace tlc::ops::detail {

// `kind` on the [N, C, ., .] tensor `in` (a CUDA tensor) for windows kh x kw on H x W maps: the map
// is `in` itself except for Expand, whose `in` is the valid map and H x W the size to expand to.
template <class T>
Tensor<T> local_cuda(const char* op, kernels::LocalOp kind, const Tensor<T>& in, index_t H, index_t W, index_t kh,
                     index_t kw) {
  check_cuda_dtype<T>(op);
  const kernels::PlaneWindows g{in.size(0) * in.size(1), H, W, kernels::window_extent(kh, H),
                                kernels::window_extent(kw, W)};
  const bool valid_out = kind == kernels::LocalOp::MeanValid || kind == kernels::LocalOp::MaxValid;
  const Shape in_shape = in.shape();
  const Device dev = in.device();
  Tensor<T> out = Tensor<T>::empty({in_shape[0], in_shape[1], valid_out ? g.hv() : H, valid_out ? g.wv() : W}, dev);
  if constexpr (std::is_same_v<T, float>)
    TLC_CUDA_CALL(op, cuda::local_forward(static_cast<int>(kind), in.data(), out.data(), g));
  // Only the max reads its input again (to recompute the arg-max).
  const Tensor<T> saved = kind == kernels::LocalOp::MaxValid ? in.detach() : Tensor<T>();
  return autograd::record<T>(out, op, {in}, [=](const Tensor<T>& gout, const std::vector<bool>&) {
    Tensor<T> gin = Tensor<T>::empty(in_shape, dev);
    if constexpr (std::is_same_v<T, float>)
      TLC_CUDA_CALL(op, cuda::local_backward(static_cast<int>(kind), saved.defined() ? saved.data() : nullptr,
                                             gout.data(), gin.data(), g));
    return std::vector<Tensor<T>>{gin};
  });
}

}  // namespace tlc::ops::detail
