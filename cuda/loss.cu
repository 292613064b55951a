// The pixel losses (include/tlc/ops/loss.hpp): per-image chunked sums of the single-source term
// of kernels/loss.hpp, and its gradient. The op combines the chunk sums on the host, in the same
// order as the CPU.
#include "reduce.cuh"
#include "tlc/ops/cuda/loss.hpp"
#include "tlc/ops/kernels/loss.hpp"

namespace tlc::cuda {

void pixel_loss_partials(int kind, float eps, const float* pred, const float* target, index_t images, index_t len,
                         index_t chunk, double* partial) {
  const kernels::PointLossTerm<float> term{static_cast<kernels::PointLoss>(kind), eps};
  const auto sums = detail::chunk_sums("pixel_loss", images, len, chunk,
                                       [=] __device__(index_t i) { return term.value(pred[i] - target[i]); });
  for (std::size_t i = 0; i < sums.size(); ++i) partial[i] = sums[i];
}

void pixel_loss_grad(int kind, float eps, const float* pred, const float* target, const float* coef, index_t len,
                     float* grad, index_t n) {
  const kernels::PointLossTerm<float> term{static_cast<kernels::PointLoss>(kind), eps};
  detail::for_each("pixel_loss_grad", n,
                   [=] __device__(index_t i) { grad[i] = coef[i / len] * term.grad(pred[i] - target[i]); });
}

}  // namespace tlc::cuda
