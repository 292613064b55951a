// Element-wise ops: naive references, broadcasting, gradients, errors.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;
using test::max_abs_diff;

namespace {
struct UnaryCase {
  const char* name;
  std::function<TensorD(const TensorD&)> op;
  std::function<double(double)> ref;
  double lo, hi;
};
}  // namespace

TEST_CASE("unary ops match scalar references and finite differences") {
  const double slope = 0.2;
  std::vector<UnaryCase> cases = {
      {"neg", [](const TensorD& x) { return ops::neg(x); }, [](double x) { return -x; }, -2, 2},
      {"exp", [](const TensorD& x) { return ops::exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](const TensorD& x) { return ops::log(x); }, [](double x) { return std::log(x); }, 0.5, 3},
      {"sqrt", [](const TensorD& x) { return ops::sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.5, 3},
      {"square", [](const TensorD& x) { return ops::square(x); }, [](double x) { return x * x; }, -2, 2},
      {"abs", [](const TensorD& x) { return ops::abs(x); }, [](double x) { return std::abs(x); }, 0.1, 2},
      {"relu", [](const TensorD& x) { return ops::relu(x); }, [](double x) { return x > 0 ? x : 0; }, -2, 2},
      {"leaky_relu", [&](const TensorD& x) { return ops::leaky_relu(x, slope); },
       [&](double x) { return x > 0 ? x : slope * x; }, -2, 2},
      {"gelu", [](const TensorD& x) { return ops::gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -3, 3},
      {"sigmoid", [](const TensorD& x) { return ops::sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -4, 4},
      {"tanh", [](const TensorD& x) { return ops::tanh(x); }, [](double x) { return std::tanh(x); }, -2, 2},
      {"add_scalar", [](const TensorD& x) { return ops::add_scalar(x, 1.5); }, [](double x) { return x + 1.5; }, -2, 2},
      {"mul_scalar", [](const TensorD& x) { return ops::mul_scalar(x, -3.0); }, [](double x) { return -3 * x; }, -2, 2},
      {"pow_scalar", [](const TensorD& x) { return ops::pow_scalar(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.5, 2},
  };
  for (auto& c : cases) {
    SECTION(c.name) {
      // Values kept away from kinks (relu, abs) so that central differences are valid.
      TensorD x = random({2, 3, 4, 5}, 11, c.lo, c.hi);
      for (index_t i = 0; i < x.numel(); ++i)
        if (std::abs(x.at(i)) < 0.05) x.at(i) = 0.3;
      TensorD y = c.op(x);
      for (index_t i = 0; i < x.numel(); ++i) REQUIRE(y.at(i) == Approx(c.ref(x.at(i))).epsilon(1e-12).margin(1e-14));
      check_gradients([&](const std::vector<TensorD>& in) { return c.op(in[0]); }, {random({2, 3, 2, 2}, 5, c.lo, c.hi)});
    }
  }
}

TEST_CASE("binary ops broadcast singleton N/C/H/W and match a naive loop") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {1, 3, 1, 1}}, {{1, 3, 1, 1}, {2, 3, 4, 5}},
      {{2, 1, 4, 5}, {2, 3, 1, 1}}, {{2, 3, 4, 5}, {5}},          {{2, 3, 4, 5}, {}},
      // rows joined into planes or not: per-row values, a broadcast last axis, single rows
      {{2, 3, 4, 5}, {1, 1, 4, 1}}, {{2, 3, 4, 1}, {2, 3, 4, 5}}, {{2, 3, 1, 5}, {1, 3, 1, 1}},
      {{1, 1, 4, 1}, {2, 3, 1, 5}}, {{2, 3, 4, 1}, {1, 3, 1, 1}}};
  for (auto& [sa, sb] : shapes) {
    TensorD a = random(sa, 1), b = random(sb, 2, 0.5, 2.0);
    TensorD s = ops::add(a, b), m = ops::mul(a, b), d = ops::sub(a, b), q = ops::div(a, b);
    const Shape o = s.shape().as4d(), a4 = sa.as4d(), b4 = sb.as4d();
    auto idx = [](const Shape& s4, index_t n, index_t c, index_t h, index_t w) {
      return (((s4[0] == 1 ? 0 : n) * s4[1] + (s4[1] == 1 ? 0 : c)) * s4[2] + (s4[2] == 1 ? 0 : h)) * s4[3] +
             (s4[3] == 1 ? 0 : w);
    };
    for (index_t n = 0; n < o[0]; ++n)
      for (index_t c = 0; c < o[1]; ++c)
        for (index_t h = 0; h < o[2]; ++h)
          for (index_t w = 0; w < o[3]; ++w) {
            double x = a.at(idx(a4, n, c, h, w)), y = b.at(idx(b4, n, c, h, w));
            index_t i = ((n * o[1] + c) * o[2] + h) * o[3] + w;
            REQUIRE(s.at(i) == x + y);
            REQUIRE(d.at(i) == x - y);
            REQUIRE(m.at(i) == x * y);
            REQUIRE(q.at(i) == Approx(x / y));
          }
    check_gradients([](const std::vector<TensorD>& in) { return ops::add(in[0], in[1]); }, {a, b});
    check_gradients([](const std::vector<TensorD>& in) { return ops::sub(in[0], in[1]); }, {a, b});
    check_gradients([](const std::vector<TensorD>& in) { return ops::mul(in[0], in[1]); }, {a, b});
    check_gradients([](const std::vector<TensorD>& in) { return ops::div(in[0], in[1]); }, {a, b});
  }
}

TEST_CASE("binary ops reject incompatible shapes and devices with a named error") {
  TensorF a = TensorF::zeros({2, 3, 4, 5}), b = TensorF::zeros({2, 2, 4, 5});
  try {
    ops::add(a, b);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    std::string m = e.what();
    CHECK(m.find("add") != std::string::npos);
    CHECK(m.find("[2,3,4,5]") != std::string::npos);
    CHECK(m.find("[2,2,4,5]") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::mul(a, TensorF()), Error);
}

TEST_CASE("addcmul equals a + x * s, fused per channel and composed otherwise, with gradients") {
  // Per-channel scales take the fused plane loop; the others the add/mul composition.
  const std::vector<std::vector<Shape>> cases = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {1, 3, 1, 1}}, {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 1, 1}},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {3, 1, 1}},    {{2, 3, 4, 5}, {2, 3, 4, 5}, {}},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {1, 1, 4, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 1}, {2, 3, 4, 5}},
      {{1, 3, 1, 1}, {2, 3, 4, 5}, {1, 3, 1, 1}}};
  for (const auto& shapes : cases) {
    const TensorD a = random(shapes[0], 1), x = random(shapes[1], 2), s = random(shapes[2], 3);
    const TensorD y = ops::addcmul(a, x, s), ref = ops::add(a, ops::mul(x, s));
    REQUIRE(y.shape() == ref.shape());
    CHECK(max_abs_diff(y, ref) < 1e-15);  // one rounding fewer where the compiler fuses a + x * s
    check_gradients([](const std::vector<TensorD>& in) { return ops::addcmul(in[0], in[1], in[2]); }, {a, x, s});
  }
  const TensorF af = random<float>({1, 4, 33, 35}, 4), xf = random<float>({1, 4, 33, 35}, 5), sf = random<float>({1, 4, 1, 1}, 6);
  CHECK(max_abs_diff(ops::addcmul(af, xf, sf), ops::add(af, ops::mul(xf, sf))) < 1e-6);
  CHECK_THROWS_AS(ops::addcmul(af, xf, random<float>({1, 3, 1, 1}, 7)), ShapeError);
  CHECK_THROWS_AS(ops::addcmul(af, TensorF(), sf), Error);
}

TEST_CASE("sum and mean over chosen axes") {
  TensorD x = random({2, 3, 4, 5}, 9);
  TensorD s = ops::sum(x, {1, 3});
  REQUIRE(s.shape() == Shape({2, 4}));
  for (index_t n = 0; n < 2; ++n)
    for (index_t h = 0; h < 4; ++h) {
      double acc = 0;
      for (index_t c = 0; c < 3; ++c)
        for (index_t w = 0; w < 5; ++w) acc += x.at(n, c, h, w);
      CHECK(s.at(n * 4 + h) == Approx(acc));
    }
  CHECK(ops::mean(x).item() == Approx(ops::sum(x).item() / 120));
  CHECK(ops::sum(x, {0, 2}, true).shape() == Shape({1, 3, 1, 5}));
  CHECK_THROWS_AS(ops::sum(x, {4}), ShapeError);
  check_gradients([](const std::vector<TensorD>& in) { return ops::sum(in[0], {1, 3}); }, {random({2, 3, 2, 3}, 4)});
  check_gradients([](const std::vector<TensorD>& in) { return ops::mean(in[0], {0, 2}, true); }, {random({2, 3, 2, 3}, 4)});
  check_gradients([](const std::vector<TensorD>& in) { return ops::reshape(in[0], {6, 6}); }, {random({2, 3, 2, 3}, 4)});
}

TEST_CASE("sum over every subset of axes equals a brute-force sum") {
  // Rows longer than the 16 partial sums of cpu::sum_as_double, with tails; both layouts (a
  // reduced last axis: contiguous runs; a kept one: row accumulation).
  const Shape shape{2, 3, 5, 37};
  const TensorF x = random<float>(shape, 21);
  for (int mask = 1; mask < 16; ++mask) {
    std::vector<int> axes;
    for (int a = 0; a < 4; ++a)
      if (mask >> a & 1) axes.push_back(a);
    const TensorF s = ops::sum(x, axes, true);
    for (index_t n = 0; n < shape[0]; ++n)
      for (index_t c = 0; c < shape[1]; ++c)
        for (index_t h = 0; h < shape[2]; ++h)
          for (index_t w = 0; w < shape[3]; ++w) {
            const index_t o[4] = {n, c, h, w};
            bool first = true;  // check each output once, at the first input it sums
            for (int a = 0; a < 4; ++a)
              if (mask >> a & 1) first = first && o[a] == 0;
            if (!first) continue;
            double ref = 0;
            for (index_t i0 = 0; i0 < (mask & 1 ? shape[0] : 1); ++i0)
              for (index_t i1 = 0; i1 < (mask & 2 ? shape[1] : 1); ++i1)
                for (index_t i2 = 0; i2 < (mask & 4 ? shape[2] : 1); ++i2)
                  for (index_t i3 = 0; i3 < (mask & 8 ? shape[3] : 1); ++i3)
                    ref += x.at(n + i0, c + i1, h + i2, w + i3);
            CHECK(s.at(n, c, h, w) == Approx(ref).epsilon(1e-6));
          }
  }
}

TEST_CASE("float sigmoid (vectorised exp) stays within 3e-7 of the exact value over the whole range") {
  std::vector<float> v;
  for (double t = -95; t <= 95; t += 0.0137) v.push_back(static_cast<float>(t));
  const index_t n = static_cast<index_t>(v.size());
  const std::vector<float> y = ops::sigmoid(TensorF::from_vector({n}, v)).to_vector();
  double worst = 0;
  for (index_t i = 0; i < n; ++i) {
    const double ref = 1.0 / (1.0 + std::exp(-static_cast<double>(v[i])));
    worst = std::max(worst, ref > 1e-30 ? std::abs(y[i] - ref) / ref : std::abs(double(y[i])));
  }
  CHECK(worst < 3e-7);
  // Non-finite inputs, also inside a full vector of 8.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> s = ops::sigmoid(TensorF::from_vector({9}, {inf, -inf, nan, 0, 1, 2, 3, 4, nan})).to_vector();
  CHECK(s[0] == 1.0f);
  CHECK(s[1] < 1e-37f);  // e^88 at most: the input is clamped where 2^n stays finite
  CHECK(std::isnan(s[2]));
  CHECK(s[3] == 0.5f);
  CHECK(std::isnan(s[8]));
}
