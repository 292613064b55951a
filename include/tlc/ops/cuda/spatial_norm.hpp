#pragma once
// The CUDA path of group_norm / instance_norm (include/tlc/ops/spatial_norm.hpp), kept apart from
// their CPU code: group_norm checks its arguments, then hands a CUDA tensor to group_norm_cuda,
// which runs cuda::group_norm_forward and records cuda::group_norm_backward (cuda/spatial_norm.cu).
#include <type_traits>
#include <vector>

#include "tlc/core/cuda_api.hpp"
#include "tlc/ops/common.hpp"
#include "tlc/ops/kernels/local.hpp"

namespace tlc::ops::detail {

template <class T>
T* data_or_null(const Tensor<T>& t) {
  return t.defined() ? t.data() : nullptr;
}

// x: a CUDA [N, C, H, W] tensor, arguments checked; kh, kw the window (<= 0: global along that axis).
template <class T>
Tensor<T> group_norm_cuda(const Tensor<T>& x, index_t groups, const Tensor<T>& weight, const Tensor<T>& bias,
                          double eps, index_t kh, index_t kw) {
  const char* op = "group_norm";
  check_cuda_dtype<T>(op);
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), NG = N * groups;
  const index_t k1 = kernels::window_extent(kh, H), k2 = kernels::window_extent(kw, W);
  const bool local = k1 < H || k2 < W;
  const Device dev = x.device();
  Tensor<T> y = Tensor<T>::empty(x.shape(), dev);
  // Kept for the backward: each group's global mean (the shift) and, with global statistics, its
  // 1/sqrt(var + eps), in double; with local ones, the per-pixel maps, only when a backward will run.
  const TensorD shift = TensorD::empty({NG}, dev), rstd = local ? TensorD() : TensorD::empty({NG}, dev);
  const bool backward =
      autograd::grad_enabled() && (x.requires_grad() || (weight.defined() && weight.requires_grad()) ||
                                   (bias.defined() && bias.requires_grad()));
  Tensor<T> mean, rstd_map;
  if (local && backward) {
    mean = Tensor<T>::empty({NG, H * W}, dev);
    rstd_map = Tensor<T>::empty({NG, H * W}, dev);
  }
  if constexpr (std::is_same_v<T, float>)
    TLC_CUDA_CALL(op, cuda::group_norm_forward({N, C, groups, H, W, k1, k2}, x.data(), data_or_null(weight),
                                               data_or_null(bias), eps, y.data(), shift.data(), data_or_null(rstd),
                                               data_or_null(mean), data_or_null(rstd_map)));
  return autograd::record<T>(y, op, {x, weight, bias}, [=](const Tensor<T>& gy, const std::vector<bool>& need) {
    std::vector<Tensor<T>> grads(3);
    for (size_t k = 0; k < 3; ++k)
      if (need[k]) grads[k] = Tensor<T>::empty(k == 0 ? x.shape() : Shape{C}, dev);
    if constexpr (std::is_same_v<T, float>)
      TLC_CUDA_CALL(op, cuda::group_norm_backward({N, C, groups, H, W, k1, k2}, x.data(), data_or_null(weight),
                                                  gy.data(), shift.data(), data_or_null(rstd), data_or_null(mean),
                                                  data_or_null(rstd_map), data_or_null(grads[0]),
                                                  data_or_null(grads[1]), data_or_null(grads[2])));
    return grads;
  });
}

}  // namespace tlc::ops::detail
