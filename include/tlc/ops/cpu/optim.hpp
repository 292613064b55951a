#pragma once
// The CPU functions of cuda/optim.cu's and cuda/reduce.cu's optimiser entry points (same
// arguments; the element bodies are kernels/optim.hpp's).
#include <algorithm>

#include "tlc/core/thread_pool.hpp"
#include "tlc/ops/cpu/isa_target.hpp"
#include "tlc/ops/cpu/sum.hpp"
#include "tlc/ops/cpu/vec_math.hpp"
#include "tlc/ops/kernels/optim.hpp"

namespace tlc::cpu {

template <class T>
void adam_step(const kernels::AdamStep<T>& f, T* p, T* m, T* v, const T* g, index_t n) {
  cpu::parallel_for_vectorised(0, n, 1 << 14, [&](index_t lo, index_t hi) {
    constexpr index_t kBlock = 256;
    T root[kBlock];  // sqrt(v / bias_correction2) of a block
    for (index_t j0 = lo; j0 < hi; j0 += kBlock) {
      const index_t len = std::min(kBlock, hi - j0);
      for (index_t j = 0; j < len; ++j) root[j] = f.moments(p[j0 + j], m[j0 + j], v[j0 + j], g[j0 + j]);
      sqrt_in_place(root, len);  // std::sqrt in the loop would keep it scalar (errno)
      for (index_t j = 0; j < len; ++j) f.apply(p[j0 + j], m[j0 + j], root[j]);
    }
  });
}

template <class T>
void ema_update(T decay, const T* p, T* shadow, index_t n) {
  const kernels::EmaStep<T> f{decay};
  for (index_t j = 0; j < n; ++j) f(shadow[j], p[j]);
}

template <class T>
double sum_squares(const T* x, index_t n) {
  return sum_as_double(x, n, [](double v) { return v * v; });
}

}  // namespace tlc::cpu
