#pragma once
// Element-wise ops: activations, scalar ops and broadcasting arithmetic. Kernel bodies are the
// single-source functors of kernels/elementwise.hpp; the CPU runs them with parallel_for
// (cpu::unary_forward, ...), CUDA with its generic launcher; TLC_DISPATCH picks one.
#include <algorithm>
#include <array>
#include <type_traits>

#include "tlc/ops/broadcast.hpp"
#include "tlc/ops/common.hpp"
#include "tlc/ops/cpu/vec_math.hpp"
#include "tlc/ops/cuda/elementwise.hpp"
#include "tlc/ops/dispatch.hpp"
#include "tlc/ops/kernels/elementwise.hpp"

namespace tlc::ops {

namespace detail {

// Shape both operands broadcast to (right-aligned; each axis equal or 1).
inline Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  const int rank = std::max(a.rank(), b.rank());
  const Shape a4 = a.as4d(), b4 = b.as4d();
  std::array<index_t, 4> d{};
  for (int i = 0; i < 4; ++i) {
    TLC_CHECK(a4[i] == b4[i] || a4[i] == 1 || b4[i] == 1, ShapeError, op, ": expected broadcastable shapes, found ",
              a.str(), " and ", b.str());
    d[static_cast<size_t>(i)] = a4[i] == 1 ? b4[i] : a4[i];
  }
  return Shape(d.begin() + (4 - rank), d.end());
}

// Strides of a 4-d view of `s` inside `out`, 0 along broadcast axes.
inline std::array<index_t, 4> broadcast_strides(const Shape& s, const Shape& out) {
  const Shape s4 = s.as4d(), o4 = out.as4d();
  std::array<index_t, 4> st{};
  index_t stride = 1;
  for (int i = 3; i >= 0; --i) {
    st[static_cast<size_t>(i)] = (s4[i] == 1 && o4[i] != 1) ? 0 : stride;
    stride *= s4[i];
  }
  return st;
}

// Calls body(f) with f the operation `kind` as a compile-time functor, so that each loop inside
// is compiled once per operation and vectorises (a switch on kind per element does not).
template <class T, class Body>
void with_binary(kernels::Binary kind, Body&& body) {
  using kernels::Binary;
  auto as = [&](auto k) { body([](T a, T b) { return kernels::BinaryForward<T>{decltype(k)::value}(a, b); }); };
  switch (kind) {
    case Binary::Add: return as(std::integral_constant<Binary, Binary::Add>{});
    case Binary::Sub: return as(std::integral_constant<Binary, Binary::Sub>{});
    case Binary::Mul: return as(std::integral_constant<Binary, Binary::Mul>{});
    case Binary::Div: return as(std::integral_constant<Binary, Binary::Div>{});
  }
}

}  // namespace detail
}  // namespace tlc::ops

// The CPU functions of cuda/elementwise.cu's entry points (same arguments; `op` a kernels::Unary
// or kernels::Binary).
namespace tlc::cpu {

template <class T>
void unary_forward(int op, T alpha, const T* px, T* py, index_t n) {
  using ops::detail::kElementwiseGrain;
  const auto kind = static_cast<kernels::Unary>(op);
  const kernels::UnaryForward<T> f{kind, alpha};
  if constexpr (std::is_same_v<T, float>) {
    if (kind == kernels::Unary::Sigmoid) {  // the attention maps of SE / GE / CBAM: a vectorised exp
      parallel_for(0, n, kElementwiseGrain, [&](index_t lo, index_t hi) { sigmoid(px + lo, py + lo, hi - lo); });
      return;
    }
    if (kind == kernels::Unary::Gelu) {  // Baseline's activation: a vectorised erf
      parallel_for(0, n, kElementwiseGrain, [&](index_t lo, index_t hi) { gelu(px + lo, py + lo, hi - lo); });
      return;
    }
  }
  cpu::parallel_for_vectorised(0, n, kElementwiseGrain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) py[i] = f(px[i]);
  });
}

template <class T>
void unary_backward(int op, T alpha, const T* px, const T* py, const T* pg, T* pgx, index_t n) {
  using ops::detail::kElementwiseGrain;
  const auto kind = static_cast<kernels::Unary>(op);
  const kernels::UnaryBackward<T> f{kind, alpha};
  if constexpr (std::is_same_v<T, float>) {
    if (kind == kernels::Unary::Gelu) {
      parallel_for(0, n, kElementwiseGrain,
                   [&](index_t lo, index_t hi) { gelu_backward(px + lo, pg + lo, pgx + lo, hi - lo); });
      return;
    }
  }
  cpu::parallel_for_vectorised(0, n, kElementwiseGrain, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) pgx[i] = f(px[i], py[i], pg[i]);
  });
}

// y[i] = a[i] + x[i] * s for i in [0, n): one channel row of addcmul's residual scale-add (and of the
// fused NAFNet block's, ops/cpu/fused_block.hpp). y may be a or x.
template <class T>
void scaled_add_row(const T* a, const T* x, T s, T* y, index_t n) {
  for (index_t i = 0; i < n; ++i) y[i] = a[i] + x[i] * s;
}

// y[o4] = a op b with a, b read through their broadcast strides sa, sb (0 on broadcast axes).
template <class T>
void binary_forward(int op, const T* pa, const T* pb, T* py, const index_t* sa, const index_t* sb, const index_t* o4) {
  using ops::detail::kElementwiseGrain;
  const index_t numel = o4[0] * o4[1] * o4[2] * o4[3];
  const bool same_layout = std::equal(sa, sa + 4, sb) && sa[3] == 1 && sa[2] == o4[3] && sa[1] == o4[2] * o4[3] &&
                           sa[0] == o4[1] * o4[2] * o4[3];
  ops::detail::with_binary<T>(static_cast<kernels::Binary>(op), [&](auto f) {
    if (same_layout) {
      cpu::parallel_for_vectorised(0, numel, kElementwiseGrain, [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) py[i] = f(pa[i], pb[i]);
      });
      return;
    }
    // Rows along the last axis, where each operand is contiguous (stride 1) or one repeated value
    // (stride 0); rows that continue each other in both operands are joined into one, so that a
    // per-channel scale of an NCHW map runs over whole planes.
    const bool join_planes = sa[2] == o4[3] * sa[3] && sb[2] == o4[3] * sb[3];
    const index_t len = join_planes ? o4[2] * o4[3] : o4[3];
    const index_t rows_per_outer = join_planes ? 1 : o4[2];
    cpu::parallel_for_vectorised(0, o4[0] * o4[1] * rows_per_outer, std::max<index_t>(1, kElementwiseGrain / std::max<index_t>(len, 1)),
                 [&](index_t lo, index_t hi) {
                   for (index_t row = lo; row < hi; ++row) {
                     const index_t h = row % rows_per_outer, c = (row / rows_per_outer) % o4[1],
                                   n = row / (rows_per_outer * o4[1]);
                     const T* ra = pa + n * sa[0] + c * sa[1] + h * sa[2];
                     const T* rb = pb + n * sb[0] + c * sb[1] + h * sb[2];
                     T* ry = py + row * len;
                     if (sa[3] != 0 && sb[3] != 0) {
                       for (index_t w = 0; w < len; ++w) ry[w] = f(ra[w], rb[w]);
                     } else if (sa[3] != 0) {
                       const T bv = rb[0];
                       for (index_t w = 0; w < len; ++w) ry[w] = f(ra[w], bv);
                     } else if (sb[3] != 0) {
                       const T av = ra[0];
                       for (index_t w = 0; w < len; ++w) ry[w] = f(av, rb[w]);
                     } else {
                       std::fill(ry, ry + len, f(ra[0], rb[0]));
                     }
                   }
                 });
  });
}

}  // namespace tlc::cpu

namespace tlc::ops {

namespace detail {

template <class T>
Tensor<T> unary_forward(const char* op, kernels::Unary kind, T alpha, const Tensor<T>& x) {
  check_defined(op, x);
  Tensor<T> y = Tensor<T>::empty(x.shape(), x.device());
  TLC_DISPATCH(T, op, x.device(), unary_forward, static_cast<int>(kind), alpha, x.data(), y.data(), x.numel());
  return y;
}

template <class T>
Tensor<T> unary_backward(const char* op, kernels::Unary kind, T alpha, const Tensor<T>& x, const Tensor<T>& y,
                         const Tensor<T>& gy) {
  Tensor<T> gx = Tensor<T>::empty(x.shape(), x.device());
  TLC_DISPATCH(T, op, x.device(), unary_backward, static_cast<int>(kind), alpha, x.data(), y.data(), gy.data(),
               gx.data(), x.numel());
  return gx;
}

template <class T>
Tensor<T> unary(const char* op, kernels::Unary kind, const Tensor<T>& x, T alpha = T(0)) {
  Tensor<T> y = unary_forward(op, kind, alpha, x);
  Tensor<T> ys = y.detach();
  return autograd::record<T>(y, op, {x}, [op, kind, alpha, x, ys](const Tensor<T>& g, const std::vector<bool>&) {
    return std::vector<Tensor<T>>{unary_backward(op, kind, alpha, x, ys, g)};
  });
}

template <class T>
Tensor<T> binary_forward(const char* op, kernels::Binary kind, const Tensor<T>& a, const Tensor<T>& b) {
  check_same_device(op, a, b);
  const Shape out_shape = broadcast_shape(op, a.shape(), b.shape());
  Tensor<T> y = Tensor<T>::empty(out_shape, a.device());
  const auto sa = broadcast_strides(a.shape(), out_shape), sb = broadcast_strides(b.shape(), out_shape);
  const Shape o4 = out_shape.as4d();
  const index_t shape4[4] = {o4[0], o4[1], o4[2], o4[3]};
  TLC_DISPATCH(T, op, a.device(), binary_forward, static_cast<int>(kind), a.data(), b.data(), y.data(), sa.data(),
               sb.data(), shape4);
  return y;
}

}  // namespace detail

// ---- activations and unary math ------------------------------------------------------------
template <class T> Tensor<T> neg(const Tensor<T>& x) { return detail::unary("neg", kernels::Unary::Neg, x); }
template <class T> Tensor<T> exp(const Tensor<T>& x) { return detail::unary("exp", kernels::Unary::Exp, x); }
template <class T> Tensor<T> log(const Tensor<T>& x) { return detail::unary("log", kernels::Unary::Log, x); }
template <class T> Tensor<T> sqrt(const Tensor<T>& x) { return detail::unary("sqrt", kernels::Unary::Sqrt, x); }
template <class T> Tensor<T> square(const Tensor<T>& x) { return detail::unary("square", kernels::Unary::Square, x); }
template <class T> Tensor<T> abs(const Tensor<T>& x) { return detail::unary("abs", kernels::Unary::Abs, x); }
template <class T> Tensor<T> relu(const Tensor<T>& x) { return detail::unary("relu", kernels::Unary::Relu, x); }
template <class T> Tensor<T> leaky_relu(const Tensor<T>& x, T slope = T(0.01)) {
  return detail::unary("leaky_relu", kernels::Unary::LeakyRelu, x, slope);
}
// Exact (erf) GELU, PyTorch's default.
template <class T> Tensor<T> gelu(const Tensor<T>& x) { return detail::unary("gelu", kernels::Unary::Gelu, x); }
template <class T> Tensor<T> sigmoid(const Tensor<T>& x) { return detail::unary("sigmoid", kernels::Unary::Sigmoid, x); }
template <class T> Tensor<T> tanh(const Tensor<T>& x) { return detail::unary("tanh", kernels::Unary::Tanh, x); }
template <class T> Tensor<T> add_scalar(const Tensor<T>& x, T s) { return detail::unary("add_scalar", kernels::Unary::AddScalar, x, s); }
template <class T> Tensor<T> mul_scalar(const Tensor<T>& x, T s) { return detail::unary("mul_scalar", kernels::Unary::MulScalar, x, s); }
template <class T> Tensor<T> pow_scalar(const Tensor<T>& x, T p) { return detail::unary("pow_scalar", kernels::Unary::PowScalar, x, p); }

// ---- broadcasting arithmetic ---------------------------------------------------------------
template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> y = detail::binary_forward("add", kernels::Binary::Add, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return autograd::record<T>(y, "add", {a, b}, [sa, sb](const Tensor<T>& g, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? sum_to(g, sa) : Tensor<T>(), need[1] ? sum_to(g, sb) : Tensor<T>()};
  });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> y = detail::binary_forward("sub", kernels::Binary::Sub, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return autograd::record<T>(y, "sub", {a, b}, [sa, sb](const Tensor<T>& g, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? sum_to(g, sa) : Tensor<T>(), need[1] ? neg(sum_to(g, sb)) : Tensor<T>()};
  });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> y = detail::binary_forward("mul", kernels::Binary::Mul, a, b);
  return autograd::record<T>(y, "mul", {a, b}, [a, b](const Tensor<T>& g, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? sum_to(mul(g, b), a.shape()) : Tensor<T>(),
                                  need[1] ? sum_to(mul(g, a), b.shape()) : Tensor<T>()};
  });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> y = detail::binary_forward("div", kernels::Binary::Div, a, b);
  Tensor<T> ys = y.detach();
  return autograd::record<T>(y, "div", {a, b}, [a, b, ys](const Tensor<T>& g, const std::vector<bool>& need) {
    Tensor<T> ga = div(g, b);  // d(a/b)/da = 1/b ; d(a/b)/db = -(a/b)/b
    return std::vector<Tensor<T>>{need[0] ? sum_to(ga, a.shape()) : Tensor<T>(),
                                  need[1] ? sum_to(neg(mul(ga, ys)), b.shape()) : Tensor<T>()};
  });
}

// a + x * s (PyTorch's addcmul), every operand broadcasting as in add and mul. The residual
// scale-add of NAFNet's blocks (inp + beta * x, beta per channel) is one pass over whole planes
// instead of two passes and a temporary; other broadcasts take the two-op composition.
template <class T>
Tensor<T> addcmul(const Tensor<T>& a, const Tensor<T>& x, const Tensor<T>& s) {
  const char* op = "addcmul";
  detail::check_defined(op, a), detail::check_defined(op, x), detail::check_defined(op, s);
  detail::check_same_device(op, a, x);
  detail::check_same_device(op, x, s);
  const Shape out_shape = detail::broadcast_shape(op, a.shape(), detail::broadcast_shape(op, x.shape(), s.shape()));
  const auto ss = detail::broadcast_strides(s.shape(), out_shape);
  const bool per_plane = a.shape() == out_shape && x.shape() == out_shape && out_shape.rank() == 4 && ss[2] == 0 && ss[3] == 0;
  if (a.is_cuda() || !per_plane) return add(a, mul(x, s));
  const index_t channels = out_shape[1], plane = out_shape[2] * out_shape[3];
  Tensor<T> y = Tensor<T>::empty(out_shape);
  const T *pa = a.data(), *px = x.data(), *ps = s.data();
  T* py = y.data();
  cpu::parallel_for_vectorised(0, out_shape[0] * channels, std::max<index_t>(1, detail::kElementwiseGrain / std::max<index_t>(plane, 1)),
               [&](index_t lo, index_t hi) {
                 for (index_t p = lo; p < hi; ++p) {
                   const T sv = ps[(p / channels) * ss[0] + (p % channels) * ss[1]];
                   cpu::scaled_add_row(pa + p * plane, px + p * plane, sv, py + p * plane, plane);
                 }
               });
  const Shape sa = a.shape();
  return autograd::record<T>(y, op, {a, x, s}, [sa, x, s](const Tensor<T>& g, const std::vector<bool>& need) {
    return std::vector<Tensor<T>>{need[0] ? sum_to(g, sa) : Tensor<T>(), need[1] ? sum_to(mul(g, s), x.shape()) : Tensor<T>(),
                                  need[2] ? sum_to(mul(g, x), s.shape()) : Tensor<T>()};
  });
}

}  // namespace tlc::ops

namespace tlc {  // operators live beside Tensor so that argument-dependent lookup finds them
template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return ops::add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return ops::sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return ops::mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return ops::div(a, b); }
}  // namespace tlc
