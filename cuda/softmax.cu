// Softmax and L2 normalisation along one axis: the single-source row bodies of
// kernels/softmax.hpp, one row per index.
#include "launch.cuh"
#include "tlc/ops/cuda/softmax.hpp"
#include "tlc/ops/kernels/softmax.hpp"

namespace tlc::cuda {

void softmax_forward(const float* x, float* y, index_t rows, index_t len, index_t inner) {
  detail::for_each("softmax_forward", rows, kernels::SoftmaxRow<float>{x, y, {len, inner}});
}

void softmax_backward(const float* y, const float* gy, float* gx, index_t rows, index_t len, index_t inner) {
  detail::for_each("softmax_backward", rows, kernels::SoftmaxRowBackward<float>{y, gy, gx, {len, inner}});
}

void l2_normalize_forward(const float* x, float* y, float* norm, index_t rows, index_t len, index_t inner, double eps) {
  detail::for_each("l2_normalize_forward", rows, kernels::L2NormalizeRow<float>{x, y, norm, {len, inner}, eps});
}

void l2_normalize_backward(const float* y, const float* gy, const float* norm, float* gx, index_t rows, index_t len,
                           index_t inner, double eps) {
  detail::for_each("l2_normalize_backward", rows,
                   kernels::L2NormalizeRowBackward<float>{y, gy, norm, gx, {len, inner}, eps});
}

}  // namespace tlc::cuda
