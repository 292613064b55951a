// Optimiser updates (include/tlc/optim/): the single-source element bodies of kernels/optim.hpp.
#include "launch.cuh"
#include "tlc/ops/cuda/optim.hpp"
#include "tlc/ops/kernels/optim.hpp"

namespace tlc::cuda {

void adam_step(const kernels::AdamStep<float>& f, float* p, float* m, float* v, const float* g, index_t n) {
  detail::for_each("adam_step", n, [=] __device__(index_t i) { f(p[i], m[i], v[i], g[i]); });
}

void ema_update(float decay, const float* p, float* shadow, index_t n) {
  const kernels::EmaStep<float> f{decay};
  detail::for_each("ema_update", n, [=] __device__(index_t i) { f(shadow[i], p[i]); });
}

}  // namespace tlc::cuda
