// The vector math of vec_math.hpp, written once against `Vec` (one instruction set's vector of
// floats, simd.hpp) and included by vec_math.hpp inside each instruction set's namespace and target
// region, after that namespace's Vec. No include guard: one copy per region. Every function here
// keeps NaN (Vec::max(a, x) and Vec::min(a, x) return x when x is NaN).

using V = Vec::V;
inline constexpr index_t kLanes = Vec::lanes;

// e^x: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so n ln2 is exact enough), e^r by its
// degree-7 Taylor polynomial (truncation < 6e-9 relative), 2^n built in the exponent bits. x is
// clamped to [-87.3, 88], where 2^n stays a finite normal float.
inline V exp_v(V x) {
  x = Vec::min(Vec::set(88.0f), Vec::max(Vec::set(-87.3f), x));
  const V n = Vec::round(Vec::mul(x, Vec::set(1.44269504f)));
  V r = Vec::fnmadd(n, Vec::set(0.693359375f), x);
  r = Vec::fnmadd(n, Vec::set(-2.12194440e-4f), r);
  V p = Vec::set(1.0f / 5040);
  for (float c : {1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f}) p = Vec::fmadd(p, r, Vec::set(c));
  return Vec::mul(p, Vec::pow2(n));
}

// The standard normal CDF Phi(x) and, when pdf is given, the density phi(x) there.
// Phi(-|x|) = erfc(z) / 2 with z = |x| / sqrt(2), and erfc(z) = t e^(-z^2) e^P(t - 1/2),
// t = 2 / (2 + z), P a degree-10 polynomial fitted by least squares to log(erfc(z) / t) + z^2 on z
// in [0, 10] (scripts/fit_erfc.py; relative error 2.4e-8 in double, 1.2e-7 evaluated in float).
// e^(-z^2) = e^(-x^2/2) takes x^2 as an exact float pair: rounding x^2 alone would cost
// |x|^2 * 6e-8 relative (1e-5 at x = -12). Phi(x) = 1 - Phi(-x) for x >= 0. Below x = -13 Phi is
// under 1e-38 and returned as 0.
inline V normal_cdf_v(V x, V* pdf = nullptr) {
  const V z = Vec::mul(Vec::abs(x), Vec::set(0.70710678f));
  const V t = Vec::div(Vec::set(2.0f), Vec::add(Vec::set(2.0f), z));
  const V u = Vec::sub(t, Vec::set(0.5f));
  V p = Vec::set(-1.321883590e-01f);
  for (float c : {2.575329671e-01f, -1.416724453e-02f, -2.917039447e-01f, 1.097603732e-01f, 2.820050204e-01f,
                  -1.578338892e-01f, -3.751564706e-01f, 1.893711949e-01f, 1.345286385e+00f, -6.717940791e-01f})
    p = Vec::fmadd(p, u, Vec::set(c));
  const V x2 = Vec::mul(x, x), x2_low = Vec::fmsub(x, x, x2);  // x^2 = x2 + x2_low exactly
  const V minus_half = Vec::set(-0.5f);
  const V gauss = Vec::mul(exp_v(Vec::mul(minus_half, x2)),  // e^(-x^2/2)
                           Vec::fmadd(minus_half, x2_low, Vec::set(1.0f)));
  if (pdf) *pdf = Vec::mul(gauss, Vec::set(0.39894228f));
  V half_erfc = Vec::mul(Vec::mul(Vec::mul(Vec::set(0.5f), t), gauss), exp_v(p));  // Phi(-|x|)
  half_erfc = Vec::zero_where_greater(half_erfc, z, Vec::set(9.2f));
  return Vec::select_negative(x, half_erfc, Vec::sub(Vec::set(1.0f), half_erfc));
}

// Runs block(in, out) over [0, n) kLanes floats at a time: `in` and `out` hold In and Out pointers
// advanced to the block. A last partial block runs on zero-padded copies, so every element takes
// the same arithmetic however a parallel loop splits the range.
template <size_t In, size_t Out, class Block>
void in_blocks(index_t n, std::array<const float*, In> in, std::array<float*, Out> out, const Block& block) {
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    block(in, out);
    for (auto& p : in) p += kLanes;
    for (auto& p : out) p += kLanes;
  }
  if (i == n) return;
  float in_copy[In][kLanes] = {}, out_copy[Out][kLanes];
  std::array<const float*, In> pin;
  std::array<float*, Out> pout;
  for (size_t k = 0; k < In; ++k) std::copy(in[k], in[k] + (n - i), in_copy[k]), pin[k] = in_copy[k];
  for (size_t k = 0; k < Out; ++k) pout[k] = out_copy[k];
  block(pin, pout);
  for (size_t k = 0; k < Out; ++k) std::copy(out_copy[k], out_copy[k] + (n - i), out[k]);
}

// The entry points, named and specified as vec_math.hpp's dispatching functions.
struct Math {
  static void inv_sqrt_clamped(float* v, index_t n, float eps) {
    index_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      Vec::store(v + i, Vec::inv_sqrt(Vec::add(Vec::max(Vec::set(0.0f), Vec::load(v + i)), Vec::set(eps))));
    for (; i < n; ++i) v[i] = 1.0f / std::sqrt(std::max(v[i], 0.0f) + eps);
  }

  static void sqrt_in_place(float* v, index_t n) {
    index_t i = 0;
    for (; i + kLanes <= n; i += kLanes) Vec::store(v + i, Vec::sqrt(Vec::load(v + i)));
    for (; i < n; ++i) v[i] = std::sqrt(v[i]);
  }

  static void sigmoid(const float* x, float* y, index_t n) {
    in_blocks<1, 1>(n, {x}, {y}, [](const auto& in, const auto& out) {
      const V e = exp_v(Vec::sub(Vec::set(0.0f), Vec::load(in[0])));
      Vec::store(out[0], Vec::div(Vec::set(1.0f), Vec::add(Vec::set(1.0f), e)));
    });
  }

  static void gelu(const float* x, float* y, index_t n) {
    in_blocks<1, 1>(n, {x}, {y}, [](const auto& in, const auto& out) {
      const V v = Vec::load(in[0]);
      Vec::store(out[0], Vec::mul(v, normal_cdf_v(v)));
    });
  }

  static void gelu_backward(const float* x, const float* gy, float* gx, index_t n) {
    in_blocks<2, 1>(n, {x, gy}, {gx}, [](const auto& in, const auto& out) {
      const V v = Vec::load(in[0]);
      V pdf;
      const V cdf = normal_cdf_v(v, &pdf);
      Vec::store(out[0], Vec::mul(Vec::load(in[1]), Vec::fmadd(v, pdf, cdf)));
    });
  }

  static void gelu_gate(const float* a, const float* b, float* y, index_t n) {
    in_blocks<2, 1>(n, {a, b}, {y}, [](const auto& in, const auto& out) {
      const V v = Vec::load(in[0]);
      Vec::store(out[0], Vec::mul(Vec::mul(v, normal_cdf_v(v)), Vec::load(in[1])));
    });
  }

  static void gelu_gate_backward(const float* a, const float* b, const float* gy, float* ga, float* gb, index_t n) {
    in_blocks<3, 2>(n, {a, b, gy}, {ga, gb}, [](const auto& in, const auto& out) {
      const V v = Vec::load(in[0]), g = Vec::load(in[2]);
      V pdf;
      const V cdf = normal_cdf_v(v, &pdf);
      Vec::store(out[0], Vec::mul(Vec::mul(g, Vec::load(in[1])), Vec::fmadd(v, pdf, cdf)));
      Vec::store(out[1], Vec::mul(g, Vec::mul(v, cdf)));
    });
  }
};
