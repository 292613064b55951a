// Layout ops: pixel (un)shuffle, pad, crop, concat, slice, split — naive loops, gradients, errors.
#include "test_util.hpp"
#include "tlc/ops/layout.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {
// Asserts that f throws an ErrorType whose message contains every string in `parts`.
template <class ErrorType, class F>
void check_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL("no exception");
  } catch (const ErrorType& e) {
    const std::string m = e.what();
    for (const auto& p : parts) {
      INFO(m);
      CHECK(m.find(p) != std::string::npos);
    }
  }
}
}  // namespace

TEST_CASE("pixel_shuffle and pixel_unshuffle follow PyTorch's channel order") {
  for (index_t r : {2, 3}) {
    const index_t N = 2, C = 3, h = 2, w = 3;
    TensorD x = random({N, C * r * r, h, w}, 7);
    TensorD y = ops::pixel_shuffle(x, r);
    REQUIRE(y.shape() == Shape({N, C, h * r, w * r}));
    for (index_t n = 0; n < N; ++n)
      for (index_t c = 0; c < C; ++c)
        for (index_t hh = 0; hh < h; ++hh)
          for (index_t ww = 0; ww < w; ++ww)
            for (index_t i = 0; i < r; ++i)
              for (index_t j = 0; j < r; ++j)
                REQUIRE(y.at(n, c, r * hh + i, r * ww + j) == x.at(n, c * r * r + i * r + j, hh, ww));
    TensorD z = random({N, C, h * r, w * r}, 8);
    TensorD u = ops::pixel_unshuffle(z, r);
    REQUIRE(u.shape() == Shape({N, C * r * r, h, w}));
    for (index_t n = 0; n < N; ++n)
      for (index_t c = 0; c < C; ++c)
        for (index_t hh = 0; hh < h; ++hh)
          for (index_t ww = 0; ww < w; ++ww)
            for (index_t i = 0; i < r; ++i)
              for (index_t j = 0; j < r; ++j)
                REQUIRE(u.at(n, c * r * r + i * r + j, hh, ww) == z.at(n, c, r * hh + i, r * ww + j));
    CHECK(test::max_abs_diff(ops::pixel_unshuffle(y, r), x) == 0.0);
  }
  check_gradients([](const std::vector<TensorD>& in) { return ops::pixel_shuffle(in[0], 2); }, {random({1, 8, 2, 3}, 3)});
  check_gradients([](const std::vector<TensorD>& in) { return ops::pixel_unshuffle(in[0], 2); }, {random({1, 2, 4, 2}, 3)});
}

TEST_CASE("pixel_shuffle rejects bad shapes with a named error") {
  check_error<ShapeError>([] { ops::pixel_shuffle(TensorF::zeros({1, 6, 2, 2}), 2); },
                          {"pixel_shuffle", "divisible by 4", "[1,6,2,2]"});
  check_error<ShapeError>([] { ops::pixel_unshuffle(TensorF::zeros({1, 2, 3, 4}), 2); },
                          {"pixel_unshuffle", "divisible by 2", "[1,2,3,4]"});
  check_error<ShapeError>([] { ops::pixel_shuffle(TensorF::zeros({4, 2, 2}), 2); }, {"pixel_shuffle", "rank-4", "[4,2,2]"});
}

TEST_CASE("pad matches a naive loop in every mode") {
  auto clampi = [](index_t i, index_t n) { return std::min(std::max<index_t>(i, 0), n - 1); };
  auto reflect = [](index_t i, index_t n) { return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i); };
  TensorD x = random({2, 3, 4, 5}, 1);
  const index_t t = 2, b = 3, l = 1, r = 4;
  for (auto mode : {ops::PadMode::Zero, ops::PadMode::Replicate, ops::PadMode::Reflect}) {
    TensorD y = ops::pad(x, t, b, l, r, mode);
    REQUIRE(y.shape() == Shape({2, 3, 4 + t + b, 5 + l + r}));
    for (index_t n = 0; n < 2; ++n)
      for (index_t c = 0; c < 3; ++c)
        for (index_t h = 0; h < y.size(2); ++h)
          for (index_t w = 0; w < y.size(3); ++w) {
            const index_t sh = h - t, sw = w - l;
            double want;
            if (mode == ops::PadMode::Zero)
              want = (sh >= 0 && sh < 4 && sw >= 0 && sw < 5) ? x.at(n, c, sh, sw) : 0.0;
            else if (mode == ops::PadMode::Replicate)
              want = x.at(n, c, clampi(sh, 4), clampi(sw, 5));
            else
              want = x.at(n, c, reflect(sh, 4), reflect(sw, 5));
            REQUIRE(y.at(n, c, h, w) == want);
          }
    check_gradients([mode](const std::vector<TensorD>& in) { return ops::pad(in[0], 2, 1, 0, 2, mode); },
                    {random({1, 2, 3, 3}, 4)});
  }
  // PyTorch's reflect repeats no edge: [1,2,3] padded by 2 on the left is [3,2,1,2,3].
  TensorD row = TensorD::from_vector({1, 3}, {1, 2, 3});
  CHECK(ops::pad(row, 0, 0, 2, 0, ops::PadMode::Reflect).to_vector() == std::vector<double>{3, 2, 1, 2, 3});
  CHECK(ops::pad(row, 0, 0, 0, 2, ops::PadMode::Replicate).to_vector() == std::vector<double>{1, 2, 3, 3, 3});
}

TEST_CASE("crop matches a naive loop and undoes a zero pad") {
  TensorD x = random({2, 2, 6, 7}, 2);
  TensorD y = ops::crop(x, 1, 2, 4, 3);
  REQUIRE(y.shape() == Shape({2, 2, 4, 3}));
  for (index_t n = 0; n < 2; ++n)
    for (index_t c = 0; c < 2; ++c)
      for (index_t h = 0; h < 4; ++h)
        for (index_t w = 0; w < 3; ++w) REQUIRE(y.at(n, c, h, w) == x.at(n, c, h + 1, w + 2));
  CHECK(test::max_abs_diff(ops::crop(ops::pad(x, 3, 0, 0, 2), 3, 0, 6, 7), x) == 0.0);
  check_gradients([](const std::vector<TensorD>& in) { return ops::crop(in[0], 1, 0, 2, 2); }, {random({1, 2, 4, 3}, 5)});
}

TEST_CASE("pad and crop reject bad arguments with named errors") {
  TensorF x = TensorF::zeros({1, 1, 3, 4});
  check_error<ShapeError>([&] { ops::pad(x, 3, 0, 0, 0, ops::PadMode::Reflect); }, {"pad", "reflect", "3x4", "top 3"});
  check_error<ShapeError>([&] { ops::pad(x, -1, 0, 0, 0); }, {"pad", "non-negative", "top -1"});
  check_error<ShapeError>([&] { ops::crop(x, 1, 1, 3, 2); }, {"crop", "inside the 3x4 plane", "size 3x2"});
  check_error<ShapeError>([] { ops::crop(TensorF::zeros({5}), 0, 0, 1, 1); }, {"crop", "rank >= 2", "[5]"});
}

TEST_CASE("concat, slice and split along every axis match naive loops") {
  for (int axis = 0; axis < 4; ++axis) {
    Shape sa{2, 3, 2, 3}, sb{2, 3, 2, 3};
    sb[axis] = 1;
    TensorD a = random(sa, 10 + axis), b = random(sb, 20 + axis);
    TensorD y = ops::concat<double>({a, b}, axis);
    Shape want = sa;
    want[axis] = sa[axis] + 1;
    REQUIRE(y.shape() == want);
    for (index_t n = 0; n < want[0]; ++n)
      for (index_t c = 0; c < want[1]; ++c)
        for (index_t h = 0; h < want[2]; ++h)
          for (index_t w = 0; w < want[3]; ++w) {
            index_t idx[4] = {n, c, h, w};
            const bool from_a = idx[axis] < sa[axis];
            if (!from_a) idx[axis] -= sa[axis];
            REQUIRE(y.at(n, c, h, w) == (from_a ? a : b).at(idx[0], idx[1], idx[2], idx[3]));
          }
    // split undoes concat; slice with a negative axis picks the same piece.
    auto parts = ops::split(y, axis, {sa[axis], 1});
    CHECK(test::max_abs_diff(parts[0], a) == 0.0);
    CHECK(test::max_abs_diff(parts[1], b) == 0.0);
    CHECK(test::max_abs_diff(ops::slice(y, axis - 4, sa[axis], sa[axis] + 1), b) == 0.0);
    check_gradients([axis](const std::vector<TensorD>& in) { return ops::concat<double>({in[0], in[1], in[0]}, axis); },
                    {a, b});
    check_gradients([axis](const std::vector<TensorD>& in) { return ops::slice(in[0], axis, 1, 2); }, {a});
    // Both pieces feed the probe, so the split gradients must add up in the input.
    check_gradients(
        [axis](const std::vector<TensorD>& in) {
          auto p = ops::split(in[0], axis, {1, in[0].size(axis) - 1});
          return ops::concat<double>({ops::mul_scalar(p[1], 2.0), p[0]}, axis);
        },
        {a});
  }
}

TEST_CASE("concat, slice and split reject bad arguments with named errors") {
  TensorF a = TensorF::zeros({1, 2, 3, 3}), b = TensorF::zeros({1, 2, 4, 3});
  check_error<ShapeError>([&] { ops::concat<float>({a, b}, 1); }, {"concat", "[1,2,3,3]", "[1,2,4,3]", "axis 1"});
  check_error<ShapeError>([&] { ops::concat<float>({a, a}, 4); }, {"concat", "axis", "found 4"});
  check_error<ShapeError>([] { ops::concat<float>({}, 1); }, {"concat", "at least one"});
  check_error<ShapeError>([&] { ops::slice(a, 2, 2, 5); }, {"slice", "<= 3", "[1,2,3,3]", "[2,5)"});
  check_error<ShapeError>([&] { ops::split(a, 1, {1, 2}); }, {"split", "adding up to 2", "found 3"});
}
