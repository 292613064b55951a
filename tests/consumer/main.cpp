#include <tlc/tlc.hpp>

#include <cstdio>

int main() {
  auto x = tlc::TensorF::from_vector({2}, {1.0f, 2.0f});
  x.requires_grad_();
  auto loss = tlc::ops::sum(tlc::ops::mul(x, x));
  tlc::autograd::backward(loss);
  auto g = x.grad().to_vector();
  std::printf("grad %g %g\n", g[0], g[1]);
  return (g[0] == 2.0f && g[1] == 4.0f) ? 0 : 1;
}
