#pragma once
// Plain sums in double. One running double sum is bound by the latency of its add (one element
// per 3-4 cycles, 10x below what memory delivers); independent partial sums in fixed lanes let
// the compiler vectorise the loop and keep the summation order, hence the result, the same on
// every run and thread count.
#include "tlc/core/config.hpp"

namespace tlc::cpu {

// Sum of f(p[i]) for i in [0, n) in double (f maps a double; the identity by default).
template <class T, class F = double (*)(double)>
double sum_as_double(const T* p, index_t n, F f = [](double x) { return x; }) {
  constexpr int kLanes = 16;
  double s[kLanes] = {};
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int u = 0; u < kLanes; ++u) s[u] += f(static_cast<double>(p[i + u]));
  for (int u = 0; i < n; ++i, ++u) s[u] += f(static_cast<double>(p[i]));
  for (int width = kLanes / 2; width > 0; width /= 2)  // pairwise, lanes u and u + width
    for (int u = 0; u < width; ++u) s[u] += s[u + width];
  return s[0];
}

// acc[j] += p[j] for j in [0, n): a row of double sums.
template <class T>
void add_to_double_row(const T* p, index_t n, double* acc) {
  for (index_t j = 0; j < n; ++j) acc[j] += static_cast<double>(p[j]);
}

}  // namespace tlc::cpu
