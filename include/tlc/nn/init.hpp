#pragma once
// PyTorch's default initialisation, drawn from nn::init_rng(): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// for conv weights and biases (kaiming_uniform with a = sqrt(5) reduces to exactly this bound).
//
// Under a SkipInit guard (this thread, this scope) the weights are left uninitialised instead: for a
// model whose every weight is loaded from a file next (drawing NAFNet-width32's 17 M numbers took
// 0.1 s of CPU in a 720p `tlc restore`, zeroing them a pass over 68 MB that the copy repeats).
#include <cmath>

#include "tlc/core/scoped_flag.hpp"
#include "tlc/nn/module.hpp"

namespace tlc::nn {

inline bool& init_skipped_flag() {
  thread_local bool skipped = false;
  return skipped;
}

class SkipInit : ScopedFlag {
 public:
  SkipInit() : ScopedFlag(init_skipped_flag(), true) {}
};

template <class T>
Tensor<T> uniform_fan_in(const Shape& shape, index_t fan_in) {
  if (init_skipped_flag()) return Tensor<T>::empty(shape);
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  return Tensor<T>::uniform(shape, init_rng(), -bound, bound);
}

}  // namespace tlc::nn
