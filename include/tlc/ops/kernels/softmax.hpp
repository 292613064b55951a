#pragma once
// Single-source row bodies of softmax and L2 normalisation along one axis. A tensor is seen as
// [outer, L, inner]; row r (of outer*inner rows) holds L elements `inner` apart. One call per row.
// Sums are accumulated in double.
#include <cmath>

#include "tlc/core/config.hpp"

namespace tlc::kernels {

struct AxisRows {
  index_t L, inner;
  TLC_HD index_t base(index_t r) const { return (r / inner) * L * inner + r % inner; }
};

// y = exp(x - max) / sum exp(x - max).
template <class T>
struct SoftmaxRow {
  const T* x;
  T* y;
  AxisRows rows;
  TLC_HD void operator()(index_t r) const {
    const index_t b = rows.base(r), s = rows.inner;
    T m = x[b];
    for (index_t i = 1; i < rows.L; ++i) m = x[b + i * s] > m ? x[b + i * s] : m;
    double sum = 0.0;
    for (index_t i = 0; i < rows.L; ++i) {
      const T e = exp(x[b + i * s] - m);
      y[b + i * s] = e;
      sum += static_cast<double>(e);
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (index_t i = 0; i < rows.L; ++i) y[b + i * s] *= inv;
  }
};

// gx = y * (gy - sum(gy * y)).
template <class T>
struct SoftmaxRowBackward {
  const T* y;
  const T* gy;
  T* gx;
  AxisRows rows;
  TLC_HD void operator()(index_t r) const {
    const index_t b = rows.base(r), s = rows.inner;
    double dot = 0.0;
    for (index_t i = 0; i < rows.L; ++i) dot += static_cast<double>(gy[b + i * s] * y[b + i * s]);
    const T d = static_cast<T>(dot);
    for (index_t i = 0; i < rows.L; ++i) gx[b + i * s] = y[b + i * s] * (gy[b + i * s] - d);
  }
};

// y = x / max(||x||_2, eps); saves ||x||_2 per row.
template <class T>
struct L2NormalizeRow {
  const T* x;
  T* y;
  T* norm;
  AxisRows rows;
  double eps;
  TLC_HD void operator()(index_t r) const {
    const index_t b = rows.base(r), s = rows.inner;
    double ss = 0.0;
    for (index_t i = 0; i < rows.L; ++i) ss += static_cast<double>(x[b + i * s]) * static_cast<double>(x[b + i * s]);
    const double n = sqrt(ss);
    norm[r] = static_cast<T>(n);
    const T inv = static_cast<T>(1.0 / (n > eps ? n : eps));
    for (index_t i = 0; i < rows.L; ++i) y[b + i * s] = x[b + i * s] * inv;
  }
};

// Where the norm was used (norm >= eps, PyTorch's clamp_min passes its gradient at equality):
// gx = (gy - y * sum(gy * y)) / norm. Where eps was used the divisor is a constant: gx = gy / eps.
template <class T>
struct L2NormalizeRowBackward {
  const T* y;
  const T* gy;
  const T* norm;
  T* gx;
  AxisRows rows;
  double eps;
  TLC_HD void operator()(index_t r) const {
    const index_t b = rows.base(r), s = rows.inner;
    const double n = static_cast<double>(norm[r]);
    if (n >= eps) {
      double dot = 0.0;
      for (index_t i = 0; i < rows.L; ++i) dot += static_cast<double>(gy[b + i * s] * y[b + i * s]);
      const T d = static_cast<T>(dot), inv = static_cast<T>(1.0 / n);
      for (index_t i = 0; i < rows.L; ++i) gx[b + i * s] = (gy[b + i * s] - y[b + i * s] * d) * inv;
    } else {
      const T inv = static_cast<T>(1.0 / eps);
      for (index_t i = 0; i < rows.L; ++i) gx[b + i * s] = gy[b + i * s] * inv;
    }
  }
};

}  // namespace tlc::kernels
