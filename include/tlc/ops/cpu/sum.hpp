#pragma once
// Plain sums in double. One running double sum is bound by the latency of its add (one element
// per 3-4 cycles, 10x below what memory delivers); independent partial sums in fixed lanes let
// the compiler vectorise the loop and keep the summation order, hence the result, the same on
// every run and thread count.
#include <array>

#include "tlc/core/config.hpp"

namespace tlc::cpu {

// The sums of f(i)[k] for i in [0, n), k in [0, K): f returns std::array<double, K> (inlined, so
// the array stays in registers). Each sum runs in 16 lanes, added pairwise at the end.
template <int K, class F>
std::array<double, K> sums_indexed(index_t n, F&& f) {
  constexpr int kLanes = 16;
  double s[K][kLanes] = {};
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int u = 0; u < kLanes; ++u) {
      const std::array<double, K> v = f(i + u);
      for (int k = 0; k < K; ++k) s[k][u] += v[k];
    }
  for (int u = 0; u < n - i; ++u) {
    const std::array<double, K> v = f(i + u);
    for (int k = 0; k < K; ++k) s[k][u] += v[k];
  }
  std::array<double, K> out{};
  for (int k = 0; k < K; ++k) {
    for (int width = kLanes / 2; width > 0; width /= 2)  // pairwise, lanes u and u + width
      for (int u = 0; u < width; ++u) s[k][u] += s[k][u + width];
    out[k] = s[k][0];
  }
  return out;
}

struct Identity {
  double operator()(double x) const { return x; }
};

// Sum of f(p[i]) for i in [0, n) in double (f maps a double; the identity by default).
template <class T, class F = Identity>
double sum_as_double(const T* p, index_t n, F f = {}) {
  return sums_indexed<1>(n, [&](index_t i) { return std::array<double, 1>{f(static_cast<double>(p[i]))}; })[0];
}

// acc[j] += p[j] for j in [0, n): a row of double sums.
template <class T>
void add_to_double_row(const T* p, index_t n, double* acc) {
  for (index_t j = 0; j < n; ++j) acc[j] += static_cast<double>(p[j]);
}

}  // namespace tlc::cpu
