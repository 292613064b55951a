#pragma once
// Parameter-free activation modules, so Sequential numbering matches PyTorch's.
#include "tlc/nn/module.hpp"
#include "tlc/ops/elementwise.hpp"

namespace tlc::nn {

template <class T = float>
struct ReLU : Module<T> {
  Tensor<T> forward(const Tensor<T>& x) override { return ops::relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

template <class T = float>
struct Sigmoid : Module<T> {
  Tensor<T> forward(const Tensor<T>& x) override { return ops::sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

template <class T = float>
struct GELU : Module<T> {
  Tensor<T> forward(const Tensor<T>& x) override { return ops::gelu(x); }
  std::string type_name() const override { return "GELU"; }
};

template <class T = float>
struct LeakyReLU : Module<T> {
  explicit LeakyReLU(T slope) : slope(slope) {}
  Tensor<T> forward(const Tensor<T>& x) override { return ops::leaky_relu(x, slope); }
  std::string type_name() const override { return "LeakyReLU"; }
  T slope;
};

}  // namespace tlc::nn
