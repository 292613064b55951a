#pragma once
// PyTorch's default initialisation, drawn from nn::init_rng(): U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// for conv weights and biases (kaiming_uniform with a = sqrt(5) reduces to exactly this bound).
#include <cmath>

#include "tlc/nn/module.hpp"

namespace tlc::nn {

template <class T>
Tensor<T> uniform_fan_in(const Shape& shape, index_t fan_in) {
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  return Tensor<T>::uniform(shape, init_rng(), -bound, bound);
}

}  // namespace tlc::nn
