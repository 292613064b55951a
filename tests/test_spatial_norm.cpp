// Group / instance norm, global and local (TLC): brute-force references in double, local ==
// global at full window, precision with mean^2 >> var, gradients and errors.
#include <algorithm>
#include <cmath>

#include "test_util.hpp"
#include "tlc/ops/spatial_norm.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {

// Direct evaluation of the "GN" module of the TLC paper in double: per pixel, the mean over the group's channels of
// window means of x and x^2 (window clamped inside the map); the global case uses the whole map.
template <class T>
TensorD reference_group_norm(const Tensor<T>& x, index_t G, const TensorD& w, const TensorD& b, double eps, index_t K1,
                             index_t K2) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), cg = C / G;
  const index_t k1 = K1 <= 0 ? H : std::min(K1, H), k2 = K2 <= 0 ? W : std::min(K2, W);
  TensorD y = TensorD::empty(x.shape());
  for (index_t n = 0; n < N; ++n)
    for (index_t g = 0; g < G; ++g)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          const index_t r0 = std::clamp<index_t>(i - (k1 - 1) / 2, 0, H - k1);
          const index_t c0 = std::clamp<index_t>(j - (k2 - 1) / 2, 0, W - k2);
          double s1 = 0, s2 = 0;
          for (index_t c = g * cg; c < (g + 1) * cg; ++c)
            for (index_t a = r0; a < r0 + k1; ++a)
              for (index_t e = c0; e < c0 + k2; ++e) {
                const double v = x.at(n, c, a, e);
                s1 += v;
                s2 += v * v;
              }
          const double cnt = double(cg * k1 * k2), mu = s1 / cnt, var = std::max(s2 / cnt - mu * mu, 0.0);
          for (index_t c = g * cg; c < (g + 1) * cg; ++c) {
            const double wc = w.defined() ? w.at(c) : 1.0, bc = b.defined() ? b.at(c) : 0.0;
            y.at(n, c, i, j) = (x.at(n, c, i, j) - mu) / std::sqrt(var + eps) * wc + bc;
          }
        }
  return y;
}

}  // namespace

TEST_CASE("group_norm matches a brute-force reference, global and local, with and without affine") {
  struct Case {
    Shape s;
    index_t groups, kh, kw;
  };
  const std::vector<Case> cases = {
      {{2, 4, 7, 9}, 2, 0, 0},  {{2, 4, 7, 9}, 1, 3, 4},   {{1, 6, 8, 5}, 6, 4, 2},  {{2, 3, 6, 6}, 3, 5, 100},
      {{1, 4, 9, 11}, 4, 1, 3}, {{3, 2, 5, 8}, 1, 50, 3},  {{1, 4, 13, 6}, 2, 6, 6}, {{1, 2, 1, 9}, 2, 1, 4}};
  for (const auto& c : cases) {
    INFO(c.s.str() << " groups=" << c.groups << " window " << c.kh << "x" << c.kw);
    TensorD x = random(c.s, 3, -1.0, 2.0), w = random({c.s[1]}, 4, 0.5, 1.5), b = random({c.s[1]}, 5);
    const ops::Window win{c.kh, c.kw};
    CHECK(test::max_abs_diff(ops::group_norm(x, c.groups, w, b, 1e-5, win),
                             reference_group_norm(x, c.groups, w, b, 1e-5, c.kh, c.kw)) < 1e-10);
    CHECK(test::max_abs_diff(ops::group_norm(x, c.groups, TensorD(), TensorD(), 1e-3, win),
                             reference_group_norm(x, c.groups, TensorD(), TensorD(), 1e-3, c.kh, c.kw)) < 1e-10);
  }
  TensorF xf = random<float>({2, 6, 30, 41}, 8, 0.0, 3.0);
  CHECK(test::max_abs_diff(ops::instance_norm(xf, TensorF(), TensorF(), 1e-5, {7, 12}).cast<double>(),
                           reference_group_norm(xf, 6, TensorD(), TensorD(), 1e-5, 7, 12)) < 2e-5);
}

TEST_CASE("a window covering the map gives exactly the global norm") {
  TensorD x = random({2, 6, 7, 10}, 9), w = random({6}, 10), b = random({6}, 11);
  TensorD global = ops::group_norm(x, 3, w, b);
  for (const ops::Window win : {ops::Window{7, 10}, ops::Window{100, 100}, ops::Window{0, 5}})
    CHECK(test::max_abs_diff(ops::group_norm(x, 3, w, b, 1e-5, win), global) < 1e-13);
  // The local statistics path with one covering axis is global along that axis only.
  CHECK(test::max_abs_diff(ops::group_norm(x, 3, w, b, 1e-5, {7, 4}), reference_group_norm(x, 3, w, b, 1e-5, 7, 4)) <
        1e-10);
}

TEST_CASE("local instance norm stays accurate when mean^2 >> var (mean 100, std 0.01, float)") {
  Rng rng(12);
  TensorF x = TensorF::normal({1, 3, 40, 50}, rng, 100.0, 0.01);
  for (index_t c = 0; c < 50; ++c) x.at(0, 2, 10, c) += 0.5f;  // a step so that local and global differ
  for (index_t c = 0; c < 50; ++c) x.at(0, 1, 0, c) -= 0.5f;   // and a first row (the shift) off the rest
  for (const ops::Window win : {ops::Window{8, 8}, ops::Window{5, 16}, ops::Window{}}) {
    TensorF y = ops::instance_norm(x, TensorF(), TensorF(), 1e-5, win);
    for (index_t i = 0; i < y.numel(); ++i) REQUIRE(std::isfinite(y.at(i)));
    CHECK(test::max_abs_diff(y.cast<double>(), reference_group_norm(x, 3, TensorD(), TensorD(), 1e-5, win.kh, win.kw)) <
          1e-4);
  }
  // A constant map has zero variance everywhere: the output is the bias, never NaN.
  TensorF flat = TensorF::full({1, 2, 6, 6}, 100.0f), bias = TensorF::from_vector({2}, {0.25f, -1.0f});
  TensorF y = ops::instance_norm(flat, TensorF::ones({2}), bias, 1e-5, {3, 3});
  CHECK(y.at(0, 0, 3, 3) == 0.25f);
  CHECK(y.at(0, 1, 5, 0) == -1.0f);
}

TEST_CASE("group_norm gradients match finite differences, global and local") {
  struct Case {
    Shape s;
    index_t groups, kh, kw;
  };
  const std::vector<Case> cases = {{{2, 4, 4, 5}, 2, 0, 0},  {{2, 4, 4, 5}, 4, 3, 3}, {{1, 4, 6, 5}, 2, 4, 2},
                                   {{2, 2, 5, 4}, 1, 2, 9},  {{1, 3, 5, 6}, 3, 9, 9}, {{1, 2, 6, 7}, 1, 5, 6}};
  for (const auto& c : cases) {
    INFO(c.s.str() << " groups=" << c.groups << " window " << c.kh << "x" << c.kw);
    const ops::Window win{c.kh, c.kw};
    const index_t groups = c.groups;
    TensorD x = random(c.s, 13), w = random({c.s[1]}, 14, 0.5, 1.5), b = random({c.s[1]}, 15);
    check_gradients(
        [=](const std::vector<TensorD>& in) { return ops::group_norm(in[0], groups, in[1], in[2], 1e-5, win); },
        {x, w, b});
    check_gradients([=](const std::vector<TensorD>& in) { return ops::group_norm(in[0], groups, TensorD(), TensorD(), 1e-5, win); },
                    {x});
  }
}

TEST_CASE("group_norm_leaky_relu equals the two ops bit for bit, and records them under a tape") {
  struct Case {
    Shape s;
    index_t groups, kh, kw;
  };
  const std::vector<Case> cases = {{{2, 4, 7, 9}, 2, 0, 0}, {{1, 6, 8, 5}, 6, 4, 2}, {{1, 8, 33, 47}, 2, 12, 12},
                                   {{1, 4, 13, 6}, 4, 6, 100}, {{1, 3, 70, 90}, 3, 0, 0}};
  std::uint64_t seed = 30;
  for (const auto& c : cases) {
    INFO(c.s.str() << " groups=" << c.groups << " window " << c.kh << "x" << c.kw);
    const ops::Window win{c.kh, c.kw};
    const TensorF x = random<float>(c.s, ++seed, -1, 2), w = random<float>({c.s[1]}, ++seed, -1.5, 1.5),
                  b = random<float>({c.s[1]}, ++seed);
    NoGrad ng;
    for (float slope : {0.2f, 0.0f}) {
      CHECK(test::max_abs_diff(ops::group_norm_leaky_relu(x, c.groups, w, b, 1e-5, win, slope),
                               ops::leaky_relu(ops::group_norm(x, c.groups, w, b, 1e-5, win), slope)) == 0);
      CHECK(test::max_abs_diff(ops::group_norm_leaky_relu(x, c.groups, TensorF(), TensorF(), 1e-5, win, slope),
                               ops::leaky_relu(ops::group_norm(x, c.groups, TensorF(), TensorF(), 1e-5, win), slope)) ==
            0);
    }
  }
  const TensorD x = random({1, 4, 6, 5}, 40), w = random({4}, 41, 0.5, 1.5), b = random({4}, 42);
  for (const ops::Window win : {ops::Window{}, ops::Window{3, 4}}) {
    check_gradients(
        [=](const std::vector<TensorD>& in) {
          return ops::group_norm_leaky_relu(in[0], 2, in[1], in[2], 1e-5, win, 0.2);
        },
        {x, w, b});
  }
}

TEST_CASE("leading_group_norm_leaky_relu equals slice, norm, concat and leaky_relu bit for bit") {
  struct Case {
    Shape s;
    index_t c, groups, kh, kw;
  };
  // HINet's half instance norm (c = C/2, one channel per group), odd splits, grouped heads, batch 2,
  // global and local windows, the whole map normalised (c = C).
  const std::vector<Case> cases = {{{1, 8, 9, 11}, 4, 4, 0, 0},   {{2, 6, 7, 5}, 3, 3, 4, 3},
                                   {{1, 7, 33, 40}, 3, 3, 12, 12}, {{2, 10, 6, 13}, 4, 2, 0, 0},
                                   {{1, 5, 8, 8}, 5, 5, 3, 100},   {{1, 64, 40, 52}, 32, 32, 9, 9}};
  std::uint64_t seed = 60;
  for (const auto& c : cases) {
    INFO(c.s.str() << " normalised " << c.c << " groups=" << c.groups << " window " << c.kh << "x" << c.kw);
    const ops::Window win{c.kh, c.kw};
    const TensorF x = random<float>(c.s, ++seed, -1, 2), w = random<float>({c.c}, ++seed, -1.5, 1.5),
                  b = random<float>({c.c}, ++seed);
    NoGrad ng;
    for (int threads : {1, 2}) {
      test::ThreadCount tc(threads);
      for (float slope : {0.2f, 0.0f}) {
        const TensorF head = ops::group_norm(ops::slice(x, 1, 0, c.c), c.groups, w, b, 1e-5, win);
        const TensorF expected = ops::leaky_relu(
            c.c == c.s[1] ? head : ops::concat(std::vector<TensorF>{head, ops::slice(x, 1, c.c, c.s[1])}, 1), slope);
        CHECK(test::max_abs_diff(ops::leading_group_norm_leaky_relu(x, c.c, c.groups, w, b, 1e-5, win, slope),
                                 expected) == 0);
      }
    }
  }
  const TensorD x = random({2, 5, 6, 5}, 70), w = random({2}, 71, 0.5, 1.5), b = random({2}, 72);
  for (const ops::Window win : {ops::Window{}, ops::Window{3, 4}}) {
    check_gradients(
        [=](const std::vector<TensorD>& in) {
          return ops::leading_group_norm_leaky_relu(in[0], 2, 2, in[1], in[2], 1e-5, win, 0.2);
        },
        {x, w, b});
  }
  const TensorF y = TensorF::zeros({1, 4, 3, 3});
  CHECK_THROWS_AS(ops::leading_group_norm_leaky_relu(y, 0, 1, TensorF(), TensorF(), 1e-5, ops::Window{}, 0.2f),
                  ShapeError);
  CHECK_THROWS_AS(ops::leading_group_norm_leaky_relu(y, 5, 5, TensorF(), TensorF(), 1e-5, ops::Window{}, 0.2f),
                  ShapeError);
  CHECK_THROWS_AS(ops::leading_group_norm_leaky_relu(y, 2, 2, TensorF::ones({4}), TensorF(), 1e-5, ops::Window{}, 0.2f),
                  ShapeError);
}

TEST_CASE("group_norm rejects bad arguments with a named error") {
  TensorF x = TensorF::zeros({1, 6, 4, 4});
  try {
    ops::group_norm(x, 4);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("group_norm") != std::string::npos);
    CHECK(m.find("6 channels and 4 groups") != std::string::npos);
  }
  try {
    ops::group_norm(x, 3, TensorF::ones({5}));
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("weight of shape [6]") != std::string::npos);
    CHECK(m.find("[5]") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::instance_norm(TensorF::zeros({6, 4, 4})), ShapeError);
  CHECK_THROWS_AS(ops::group_norm(x, 3, TensorF(), TensorF::ones({6, 1})), ShapeError);
}
