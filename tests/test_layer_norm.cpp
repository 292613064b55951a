// LayerNorm2d (WithBias and BiasFree): naive per-pixel loop, precision, gradients, errors.
#include "test_util.hpp"
#include "tlc/ops/layer_norm.hpp"

using namespace tlc;
using ops::LayerNormKind;
using test::check_gradients;
using test::random;

namespace {
// Straight from the spec (1.1, 1.2): per pixel over channels, biased variance.
TensorD naive_layer_norm(const TensorD& x, const TensorD& w, const TensorD& b, double eps, LayerNormKind kind) {
  TensorD y = TensorD::empty(x.shape());
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  for (index_t n = 0; n < N; ++n)
    for (index_t h = 0; h < H; ++h)
      for (index_t ww = 0; ww < W; ++ww) {
        double mu = 0, var = 0;
        for (index_t c = 0; c < C; ++c) mu += x.at(n, c, h, ww) / C;
        for (index_t c = 0; c < C; ++c) var += (x.at(n, c, h, ww) - mu) * (x.at(n, c, h, ww) - mu) / C;
        for (index_t c = 0; c < C; ++c) {
          const double v = x.at(n, c, h, ww);
          y.at(n, c, h, ww) = kind == LayerNormKind::WithBias ? (v - mu) / std::sqrt(var + eps) * w.at(c) + b.at(c)
                                                              : v / std::sqrt(var + eps) * w.at(c);
        }
      }
  return y;
}
}  // namespace

TEST_CASE("layer_norm2d matches a naive per-pixel loop") {
  // W*H = 70 pixels: spans of 32, 32 and 6 exercise the partial span.
  TensorD x = random({2, 5, 7, 10}, 1, -2, 3), w = random({5}, 2, 0.5, 1.5), b = random({5}, 3);
  SECTION("WithBias, NAFNet eps") {
    TensorD y = ops::layer_norm2d(x, w, b, 1e-6);
    CHECK(test::max_abs_diff(y, naive_layer_norm(x, w, b, 1e-6, LayerNormKind::WithBias)) < 1e-12);
  }
  SECTION("BiasFree, Restormer eps: x is not mean-centred") {
    TensorD y = ops::layer_norm2d(x, w, TensorD(), 1e-5, LayerNormKind::BiasFree);
    CHECK(test::max_abs_diff(y, naive_layer_norm(x, w, b, 1e-5, LayerNormKind::BiasFree)) < 1e-12);
    // A centred result would differ by mean/std, which is far from zero for inputs in [-2, 3].
    CHECK(test::max_abs_diff(y, naive_layer_norm(x, w, TensorD::zeros({5}), 1e-5, LayerNormKind::WithBias)) > 0.1);
  }
  SECTION("many spans, split over threads") {
    TensorD xb = random({2, 8, 40, 60}, 4, -2, 3), wb = random({8}, 5, 0.5, 1.5), bb = random({8}, 6);
    CHECK(test::max_abs_diff(ops::layer_norm2d(xb, wb, bb, 1e-6),
                             naive_layer_norm(xb, wb, bb, 1e-6, LayerNormKind::WithBias)) < 1e-12);
  }
  SECTION("eps enters inside the square root") {
    TensorD c = TensorD::full({1, 4, 1, 1}, 0.25);  // zero variance: y = (x - mu)/sqrt(eps) = 0 + b
    TensorD y = ops::layer_norm2d(c, TensorD::ones({4}), TensorD::full({4}, 0.5), 1e-6);
    for (double v : y.to_vector()) CHECK(v == 0.5);
    TensorD yb = ops::layer_norm2d(c, TensorD::ones({4}), TensorD(), 1e-2, LayerNormKind::BiasFree);
    for (double v : yb.to_vector()) CHECK(v == Approx(0.25 / std::sqrt(1e-2)));
  }
}

TEST_CASE("layer_norm2d in float is stable for inputs with a large offset") {
  // E[x^2] - E[x]^2 in float would lose every digit of a variance of ~1e-2 at an offset of 1e4 (errors of order 1).
  // What remains is the float rounding of the mean itself: half an ulp of 1e4 (5e-4) over a std of ~0.1, times w.
  TensorD xd = random({1, 16, 4, 8}, 5, -0.2, 0.2);
  for (index_t i = 0; i < xd.numel(); ++i) xd.at(i) += 1e4;
  TensorD w = random({16}, 6, 0.5, 1.5), b = random({16}, 7);
  TensorD ref = naive_layer_norm(xd.cast<float>().cast<double>(), w, b, 1e-6, LayerNormKind::WithBias);
  TensorF yf = ops::layer_norm2d(xd.cast<float>(), w.cast<float>(), b.cast<float>(), 1e-6);
  CHECK(test::max_abs_diff(yf.cast<double>(), ref) < 1e-2);
}

TEST_CASE("layer_norm2d gradients match finite differences") {
  TensorD x = random({2, 4, 5, 7}, 8), w = random({4}, 9, 0.5, 1.5), b = random({4}, 10);
  check_gradients([](const std::vector<TensorD>& in) { return ops::layer_norm2d(in[0], in[1], in[2], 1e-6); },
                  {x, w, b});
  check_gradients(
      [](const std::vector<TensorD>& in) {
        return ops::layer_norm2d(in[0], in[1], TensorD(), 1e-5, LayerNormKind::BiasFree);
      },
      {x, w});
  // Only x requires a gradient: the parameter path is skipped and x's gradient is unchanged.
  check_gradients(
      [&](const std::vector<TensorD>& in) { return ops::layer_norm2d(in[0], w, b, 1e-6); }, {x});
}

TEST_CASE("layer_norm2d rejects bad arguments with named errors") {
  TensorF x = TensorF::zeros({1, 3, 2, 2});
  auto expect = [](const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
      f();
      FAIL("no exception");
    } catch (const ShapeError& e) {
      const std::string m = e.what();
      INFO(m);
      for (const auto& p : parts) CHECK(m.find(p) != std::string::npos);
    }
  };
  expect([&] { ops::layer_norm2d(x, TensorF::ones({4}), TensorF::zeros({3})); },
         {"layer_norm2d", "weight of shape [3]", "[1,3,2,2]", "found [4]"});
  expect([&] { ops::layer_norm2d(x, TensorF::ones({3}), TensorF::zeros({2})); }, {"layer_norm2d", "bias", "found [2]"});
  expect([&] { ops::layer_norm2d(x, TensorF::ones({3}), TensorF::zeros({3}), 1e-5, LayerNormKind::BiasFree); },
         {"layer_norm2d", "no bias for BiasFree"});
  expect([&] { ops::layer_norm2d(TensorF::zeros({3, 2, 2}), TensorF::ones({3}), TensorF::zeros({3})); },
         {"layer_norm2d", "rank-4", "[3,2,2]"});
  CHECK_THROWS_AS(ops::layer_norm2d(x, TensorF::ones({3}), TensorF()), Error);
}
