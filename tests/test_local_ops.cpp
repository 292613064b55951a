// TLC local mean / local max: the reference code's route (valid pooling, then replicate pad),
// global limits, the flip property of odd windows, gradients and errors.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "test_util.hpp"
#include "tlc/ops/local.hpp"
#include "tlc/ops/local_scale.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {

// What the official AvgPool2d does (the official clamped window): valid k1 x k2 pooling, then replicate padding with
// (k-1)//2 before and k//2 after; `reduce` is mean or max over one window.
template <class T, class Reduce>
TensorD reference_pool(const Tensor<T>& x, index_t K1, index_t K2, Reduce reduce) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const index_t k1 = std::min(K1, H), k2 = std::min(K2, W), hv = H - k1 + 1, wv = W - k2 + 1;
  TensorD y = TensorD::empty(x.shape());
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          // padded index i maps to valid row i - top, replicated at both ends
          const index_t vi = std::min(std::max<index_t>(i - (k1 - 1) / 2, 0), hv - 1);
          const index_t vj = std::min(std::max<index_t>(j - (k2 - 1) / 2, 0), wv - 1);
          std::vector<double> win;
          for (index_t a = vi; a < vi + k1; ++a)
            for (index_t b = vj; b < vj + k2; ++b) win.push_back(double(x.at(n, c, a, b)));
          y.at(n, c, i, j) = reduce(win);
        }
  return y;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double a : v) s += a;
  return s / double(v.size());
}
double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

TensorD hflip(const TensorD& x) {
  TensorD y = TensorD::empty(x.shape());
  const index_t W = x.size(3);
  for (index_t n = 0; n < x.size(0); ++n)
    for (index_t c = 0; c < x.size(1); ++c)
      for (index_t i = 0; i < x.size(2); ++i)
        for (index_t j = 0; j < W; ++j) y.at(n, c, i, j) = x.at(n, c, i, W - 1 - j);
  return y;
}

}  // namespace

TEST_CASE("local_mean and local_max match the reference pooling + replicate pad on random sizes") {
  Rng rng(7);
  for (int trial = 0; trial < 120; ++trial) {
    const index_t N = 1 + static_cast<index_t>(rng.below(2)), C = 1 + static_cast<index_t>(rng.below(3));
    const index_t H = 1 + static_cast<index_t>(rng.below(13)), W = 1 + static_cast<index_t>(rng.below(13));
    const index_t K1 = 1 + static_cast<index_t>(rng.below(16)), K2 = 1 + static_cast<index_t>(rng.below(16));
    INFO("N=" << N << " C=" << C << " H=" << H << " W=" << W << " K=" << K1 << "x" << K2);
    TensorD x = random({N, C, H, W}, 100 + trial);
    CHECK(test::max_abs_diff(ops::local_mean(x, K1, K2), reference_pool(x, K1, K2, mean_of)) < 1e-13);
    CHECK(test::max_abs_diff(ops::local_max(x, K1, K2), reference_pool(x, K1, K2, max_of)) == 0.0);
  }
}

TEST_CASE("local ops in float on larger maps: one plane (row-split path) and many planes") {
  for (const Shape& s : {Shape{1, 1, 61, 53}, Shape{3, 5, 23, 19}}) {
    for (index_t k : {1, 2, 8, 17, 100}) {
      INFO(s.str() << " k=" << k);
      TensorF x = random<float>(s, 3 + k, -2.0, 3.0);
      CHECK(test::max_abs_diff(ops::local_mean(x, k, k + 3).cast<double>(), reference_pool(x, k, k + 3, mean_of)) < 2e-6);
      CHECK(test::max_abs_diff(ops::local_max(x, k + 3, k).cast<double>(), reference_pool(x, k + 3, k, max_of)) == 0.0);
    }
  }
}

TEST_CASE("a window covering the map gives the global mean and max at every pixel") {
  TensorD x = random({2, 3, 9, 14}, 21, -1.0, 5.0);
  TensorD mean = ops::mean(x, {2, 3}, true);
  for (auto [kh, kw] : {std::pair<index_t, index_t>{9, 14}, {50, 14}, {9, 1000}}) {
    TensorD m = ops::local_mean(x, kh, kw), mx = ops::local_max(x, kh, kw);
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 3; ++c) {
        double gmax = -1e300;
        for (index_t i = 0; i < 9; ++i)
          for (index_t j = 0; j < 14; ++j) gmax = std::max(gmax, x.at(n, c, i, j));
        for (index_t i = 0; i < 9; ++i)
          for (index_t j = 0; j < 14; ++j) {
            CHECK(m.at(n, c, i, j) == Approx(mean.at(n, c, 0, 0)).epsilon(1e-14));
            CHECK(mx.at(n, c, i, j) == gmax);
          }
      }
  }
  // Covering one axis only: global along H, local along W.
  TensorD col = ops::local_mean(x, 9, 3), ref = ops::local_mean(ops::mean(x, {2}, true), 1, 3);
  for (index_t i = 0; i < 9; ++i)
    for (index_t j = 0; j < 14; ++j) CHECK(col.at(1, 2, i, j) == Approx(ref.at(1, 2, 0, j)).epsilon(1e-14));
}

TEST_CASE("odd windows commute with a horizontal flip, even windows do not (a property of the official clamped windows)") {
  TensorD x = random({1, 2, 6, 11}, 5);
  for (index_t k : {1, 3, 5, 7}) {
    CHECK(test::max_abs_diff(hflip(ops::local_mean(x, 3, k)), ops::local_mean(hflip(x), 3, k)) < 1e-14);
    CHECK(test::max_abs_diff(hflip(ops::local_max(x, 3, k)), ops::local_max(hflip(x), 3, k)) == 0.0);
  }
  for (index_t k : {2, 4, 6}) CHECK(test::max_abs_diff(hflip(ops::local_mean(x, 3, k)), ops::local_mean(hflip(x), 3, k)) > 1e-3);
}

TEST_CASE("local ops gradients match finite differences") {
  const std::vector<std::pair<Shape, std::pair<index_t, index_t>>> cases = {
      {{2, 2, 5, 6}, {3, 2}}, {{1, 3, 4, 7}, {2, 4}}, {{1, 1, 6, 5}, {1, 1}},
      {{2, 1, 3, 4}, {9, 9}}, {{1, 2, 1, 6}, {4, 3}}, {{1, 2, 7, 1}, {2, 5}}};
  for (auto& [s, k] : cases) {
    const index_t kh = k.first, kw = k.second;
    INFO(s.str() << " k=" << kh << "x" << kw);
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_mean(in[0], kh, kw); }, {random(s, 31)});
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_max(in[0], kh, kw); }, {random(s, 32)});
  }
}

TEST_CASE("local_max sends the gradient to the first maximum in row-major order and propagates NaN") {
  TensorD x = TensorD::full({1, 1, 3, 3}, 2.0).requires_grad_(), g;
  autograd::backward(ops::sum(ops::local_max(x, 2, 2)));
  // Windows start at rows/cols {0, 1}: pixel (i,j) uses start (max(i-0,0) clamped to 1); every
  // window's first element is its top-left corner, so the nine gradients land on the four corners.
  const std::vector<double> expected = {1, 2, 0, 2, 4, 0, 0, 0, 0};
  CHECK(x.grad().to_vector() == expected);

  TensorD y = random({1, 1, 4, 4}, 3);
  y.at(0, 0, 0, 0) = std::numeric_limits<double>::quiet_NaN();
  TensorD m = ops::local_max(y, 2, 2);
  CHECK(std::isnan(m.at(0, 0, 0, 0)));
  CHECK_FALSE(std::isnan(m.at(0, 0, 1, 1)));  // window rows/cols [1, 3) miss the NaN

  // A NaN inside a row: exactly the windows that cover it are NaN, in float (the no-gradient pass)
  // and in double, for windows of power-of-two and other widths.
  for (index_t k2 : {1, 2, 3, 4, 7, 8, 13}) {
    TensorF z = random<float>({1, 1, 5, 13}, 4);
    z.at(0, 0, 2, 6) = std::numeric_limits<float>::quiet_NaN();
    const TensorF v = ops::local_max_valid(z, 3, k2);
    for (index_t t = 0; t < v.size(2); ++t)
      for (index_t u = 0; u < v.size(3); ++u) {
        INFO("k2=" << k2 << " window start " << t << "," << u);
        CHECK(std::isnan(v.at(0, 0, t, u)) == (t <= 2 && 2 < t + 3 && u <= 6 && 6 < u + k2));
      }
  }
}

TEST_CASE("local ops reject bad inputs with a named error") {
  TensorF x = TensorF::zeros({1, 2, 4, 4});
  try {
    ops::local_mean(TensorF::zeros({2, 4, 4}), 3, 3);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("local_mean") != std::string::npos);
    CHECK(m.find("rank-4") != std::string::npos);
    CHECK(m.find("[2,4,4]") != std::string::npos);
  }
  try {
    ops::local_max(x, 0, 3);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("local_max") != std::string::npos);
    CHECK(m.find("0x3") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::local_mean(TensorF::zeros({1, 2, 0, 4}), 3, 3), ShapeError);
  CHECK_THROWS_AS(ops::local_max(TensorF(), 3, 3), Error);
}

namespace {

// Brute-force valid window means / maxima, [N, C, H-k1+1, W-k2+1].
template <class Reduce>
TensorD reference_valid(const TensorD& x, index_t K1, index_t K2, Reduce reduce) {
  const index_t H = x.size(2), W = x.size(3), k1 = std::min(K1, H), k2 = std::min(K2, W);
  TensorD v = TensorD::empty({x.size(0), x.size(1), H - k1 + 1, W - k2 + 1});
  for (index_t n = 0; n < x.size(0); ++n)
    for (index_t c = 0; c < x.size(1); ++c)
      for (index_t t = 0; t + k1 <= H; ++t)
        for (index_t s = 0; s + k2 <= W; ++s) {
          std::vector<double> win;
          for (index_t a = t; a < t + k1; ++a)
            for (index_t b = s; b < s + k2; ++b) win.push_back(x.at(n, c, a, b));
          v.at(n, c, t, s) = reduce(win);
        }
  return v;
}

// Brute-force gather: out[i][j] = v[clamp(i - (k1-1)/2, 0, H-k1)][clamp(j - (k2-1)/2, 0, W-k2)].
TensorD reference_expand(const TensorD& v, index_t H, index_t W, index_t K1, index_t K2) {
  const index_t k1 = std::min(K1, H), k2 = std::min(K2, W);
  TensorD y = TensorD::empty({v.size(0), v.size(1), H, W});
  for (index_t n = 0; n < v.size(0); ++n)
    for (index_t c = 0; c < v.size(1); ++c)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j)
          y.at(n, c, i, j) = v.at(n, c, std::clamp<index_t>(i - (k1 - 1) / 2, 0, H - k1),
                                  std::clamp<index_t>(j - (k2 - 1) / 2, 0, W - k2));
  return y;
}

}  // namespace

TEST_CASE("local_mean_valid, local_max_valid and local_expand match brute force on random sizes") {
  Rng rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    const index_t N = 1 + static_cast<index_t>(rng.below(2)), C = 1 + static_cast<index_t>(rng.below(3));
    const index_t H = 1 + static_cast<index_t>(rng.below(13)), W = 1 + static_cast<index_t>(rng.below(13));
    const index_t K1 = 1 + static_cast<index_t>(rng.below(16)), K2 = 1 + static_cast<index_t>(rng.below(16));
    INFO("N=" << N << " C=" << C << " H=" << H << " W=" << W << " K=" << K1 << "x" << K2);
    TensorD x = random({N, C, H, W}, 300 + trial);
    TensorD mv = ops::local_mean_valid(x, K1, K2), xv = ops::local_max_valid(x, K1, K2);
    CHECK(mv.shape() == Shape{N, C, H - std::min(K1, H) + 1, W - std::min(K2, W) + 1});
    CHECK(test::max_abs_diff(mv, reference_valid(x, K1, K2, mean_of)) < 1e-13);
    CHECK(test::max_abs_diff(xv, reference_valid(x, K1, K2, max_of)) == 0.0);
    CHECK(test::max_abs_diff(ops::local_expand(mv, H, W, K1, K2), reference_expand(mv, H, W, K1, K2)) == 0.0);
  }
}

TEST_CASE("local_mean and local_max equal local_expand of their valid maps exactly") {
  for (const Shape& s : {Shape{1, 1, 61, 53}, Shape{3, 5, 23, 19}, Shape{2, 2, 7, 1}}) {
    for (auto [kh, kw] : {std::pair<index_t, index_t>{1, 1}, {2, 5}, {8, 3}, {17, 40}, {100, 100}}) {
      INFO(s.str() << " k=" << kh << "x" << kw);
      TensorF x = random<float>(s, 7 + kh, -2.0, 3.0);
      CHECK(test::max_abs_diff(ops::local_mean(x, kh, kw),
                               ops::local_expand(ops::local_mean_valid(x, kh, kw), s[2], s[3], kh, kw)) == 0.0);
      CHECK(test::max_abs_diff(ops::local_max(x, kh, kw),
                               ops::local_expand(ops::local_max_valid(x, kh, kw), s[2], s[3], kh, kw)) == 0.0);
    }
  }
}

TEST_CASE("valid-map ops and local_expand: gradients match finite differences") {
  const std::vector<std::pair<Shape, std::pair<index_t, index_t>>> cases = {
      {{2, 2, 5, 6}, {3, 2}}, {{1, 3, 4, 7}, {2, 4}}, {{1, 1, 6, 5}, {1, 1}},
      {{2, 1, 3, 4}, {9, 9}}, {{1, 2, 1, 6}, {4, 3}}, {{1, 2, 7, 1}, {2, 5}}};
  for (auto& [s, k] : cases) {
    const index_t kh = k.first, kw = k.second, H = s[2], W = s[3];
    const Shape vs{s[0], s[1], H - std::min(kh, H) + 1, W - std::min(kw, W) + 1};
    INFO(s.str() << " k=" << kh << "x" << kw);
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_mean_valid(in[0], kh, kw); },
                    {random(s, 41)});
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_max_valid(in[0], kh, kw); },
                    {random(s, 42)});
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_expand(in[0], H, W, kh, kw); },
                    {random(vs, 43)});
  }
}

TEST_CASE("local_expand sends each pixel's gradient to its clamped window start") {
  // H = 4, k1 = 2: rows 0 -> start 0, 1 -> 1, 2 and 3 -> 2; W = 5, k2 = 4: cols 0,1 -> 0, cols 2..4 -> 1.
  TensorD v = TensorD::zeros({1, 1, 3, 2}).requires_grad_();
  autograd::backward(ops::sum(ops::local_expand(v, 4, 5, 2, 4)));
  CHECK(v.grad().to_vector() == std::vector<double>{2, 3, 2, 3, 4, 6});
}

TEST_CASE("valid-map ops and local_expand reject bad inputs with a named error") {
  using Catch::Matchers::Contains;
  const TensorF x = TensorF::zeros({1, 2, 6, 5});
  CHECK_THROWS_WITH(ops::local_mean_valid(TensorF::zeros({2, 6, 5}), 3, 3),
                    Contains("local_mean_valid") && Contains("rank-4") && Contains("[2,6,5]"));
  CHECK_THROWS_WITH(ops::local_max_valid(x, 2, -1), Contains("local_max_valid") && Contains("2x-1"));
  // A 6x5 map with 3x2 windows has a 4x4 valid map.
  CHECK_THROWS_WITH(ops::local_expand(TensorF::zeros({1, 2, 4, 3}), 6, 5, 3, 2),
                    Contains("local_expand") && Contains("4x4 valid map") && Contains("[1,2,4,3]"));
  CHECK_THROWS_WITH(ops::local_expand(TensorF::zeros({1, 2, 1, 1}), 0, 5, 3, 2),
                    Contains("local_expand") && Contains("0x5"));
  CHECK_THROWS_AS(ops::local_expand(TensorF::zeros({1, 2, 4, 4}), 6, 5, 0, 2), ShapeError);
  CHECK(ops::local_expand(ops::local_mean_valid(x, 3, 2), 6, 5, 3, 2).shape() == x.shape());
}

TEST_CASE("local_expand_mul equals x * local_expand(v) exactly, and its gradients match finite differences") {
  Rng rng(12);
  for (int trial = 0; trial < 60; ++trial) {
    const index_t N = 1 + static_cast<index_t>(rng.below(2)), C = 1 + static_cast<index_t>(rng.below(3));
    const index_t H = 1 + static_cast<index_t>(rng.below(13)), W = 1 + static_cast<index_t>(rng.below(13));
    const index_t K1 = 1 + static_cast<index_t>(rng.below(16)), K2 = 1 + static_cast<index_t>(rng.below(16));
    INFO("N=" << N << " C=" << C << " H=" << H << " W=" << W << " K=" << K1 << "x" << K2);
    const TensorF x = random<float>({N, C, H, W}, 500 + trial, -2.0, 2.0);
    const TensorF v = ops::local_mean_valid(random<float>({N, C, H, W}, 600 + trial), K1, K2);
    CHECK(test::max_abs_diff(ops::local_expand_mul(x, v, K1, K2), ops::mul(x, ops::local_expand(v, H, W, K1, K2))) ==
          0.0);
  }
  for (auto [s, kh, kw] : {std::tuple<Shape, index_t, index_t>{{2, 2, 5, 6}, 3, 2}, {{1, 3, 4, 7}, 2, 4},
                           {{1, 1, 6, 5}, 1, 1}, {{1, 2, 1, 6}, 4, 3}}) {
    const Shape vs{s[0], s[1], s[2] - std::min(kh, s[2]) + 1, s[3] - std::min(kw, s[3]) + 1};
    INFO(s.str() << " k=" << kh << "x" << kw);
    check_gradients([=](const std::vector<TensorD>& in) { return ops::local_expand_mul(in[0], in[1], kh, kw); },
                    {random(s, 51), random(vs, 52)});
  }
}

TEST_CASE("local_expand_mul rejects a valid map of the wrong size with a named error") {
  using Catch::Matchers::Contains;
  const TensorF x = TensorF::zeros({1, 2, 6, 5});
  CHECK_THROWS_WITH(ops::local_expand_mul(x, TensorF::zeros({1, 2, 4, 3}), 3, 2),
                    Contains("local_expand_mul") && Contains("4x4 valid map") && Contains("[1,2,4,3]"));
  CHECK_THROWS_WITH(ops::local_expand_mul(x, TensorF::zeros({1, 3, 4, 4}), 3, 2),
                    Contains("local_expand_mul") && Contains("[1,3,4,4]"));
  CHECK_THROWS_AS(ops::local_expand_mul(x, TensorF::zeros({1, 2, 4, 4}), 0, 2), ShapeError);
}
