#pragma once
// Helpers shared by the tests: random tensors, comparisons, a gradcheck assertion, a loop over the
// CPU's instruction sets and guards that restore the instruction set and the product precision.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "tlc/core/matmul_precision.hpp"
#include "tlc/tlc.hpp"

namespace tlc::test {

template <class T = double>
Tensor<T> random(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  return Tensor<T>::uniform(s, rng, lo, hi);
}

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
  REQUIRE(a.shape() == b.shape());
  auto va = a.to_vector(), vb = b.to_vector();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(double(va[i]) - double(vb[i])));
  return m;
}

// Asserts that the analytic gradients of f match central differences.
inline void check_gradients(const std::function<TensorD(const std::vector<TensorD>&)>& f,
                            const std::vector<TensorD>& inputs, autograd::GradcheckOptions opt = {}) {
  auto r = autograd::gradcheck(f, inputs, opt);
  INFO(r.message);
  CHECK(r.ok);
}

// Runs the scope on n threads of the pool and puts the previous count back when it ends.
struct ThreadCount {
  explicit ThreadCount(int n) : previous(num_threads()) { set_num_threads(n); }
  ~ThreadCount() { set_num_threads(previous); }
  int previous;
};

// Puts the instruction set in use back when the scope ends, also when a REQUIRE ends the test early.
struct RestoreIsa {
  CpuIsa previous = cpu_isa();
  ~RestoreIsa() { set_cpu_isa(previous); }
};

// body() run with instruction set `isa` (set_cpu_isa), the previous one restored afterwards.
template <class F>
auto with_isa(CpuIsa isa, F&& body) {
  RestoreIsa restore;
  set_cpu_isa(isa);
  return body();
}

// Puts the matrix-product precision in use back when the scope ends.
struct RestorePrecision {
  MatmulPrecision previous = matmul_precision();
  ~RestorePrecision() { set_matmul_precision(previous); }
};

// Runs body() once with every instruction set this CPU supports, scalar first, and restores the
// previous choice afterwards.
template <class F>
void for_each_isa(F&& body) {
  RestoreIsa restore;
  for (CpuIsa isa : {CpuIsa::Scalar, CpuIsa::Avx2, CpuIsa::Avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(cpu_isa_supported())) break;
    set_cpu_isa(isa);
    INFO("isa " << isa_name(isa));
    body();
  }
}

}  // namespace tlc::test
