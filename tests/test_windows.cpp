// Restormer local-attention windows (the official code's overlapping windows and adaptive stride): starts, partition, merge, gradients.
#include "test_util.hpp"
#include "tlc/ops/windows.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;
using Starts = std::vector<index_t>;

TEST_CASE("window starts follow the official adaptive stride (the official code's adaptive stride)") {
  CHECK(local::window_starts(720, 384) == Starts{0, 336});
  CHECK(local::window_starts(1280, 384) == Starts{0, 299, 598, 896});
  CHECK(local::window_starts(180, 96) == Starts{0, 84});
  CHECK(local::window_starts(320, 96) == Starts{0, 75, 150, 224});
  CHECK(local::window_starts(400, 384) == Starts{0, 16});
  CHECK(local::window_starts(384, 384) == Starts{0});
  CHECK(local::window_starts(100, 384) == Starts{0});
  CHECK(local::window_starts(100, 0) == Starts{0});
  CHECK(local::window_starts(10, 5) == Starts{0, 5});
  CHECK(local::window_starts(11, 5) == Starts{0, 3, 6});
  CHECK(local::window_starts(7, 1) == Starts{0, 1, 2, 3, 4, 5, 6});
  // Every start set covers the axis with ceil(size / k) windows, the last flush with the end.
  for (index_t size = 1; size < 60; ++size)
    for (index_t k = 1; k <= size; ++k) {
      const Starts s = local::window_starts(size, k);
      CHECK(static_cast<index_t>(s.size()) == (size + k - 1) / k);
      CHECK(s.front() == 0);
      CHECK(s.back() == size - k);
      for (size_t i = 1; i < s.size(); ++i) CHECK((s[i] > s[i - 1] && s[i] <= s[i - 1] + k));
    }
  CHECK_THROWS_AS(local::window_starts(0, 4), ShapeError);
}

TEST_CASE("window_partition cuts image-major, row-major windows; window_merge averages overlaps") {
  TensorD x = random({2, 3, 7, 9}, 1);
  TensorD win = ops::window_partition(x, 4, 5);  // rows {0, 3}, cols {0, 4}
  REQUIRE(win.shape() == Shape({8, 3, 4, 5}));
  const Starts rows{0, 3}, cols{0, 4};
  for (index_t n = 0; n < 2; ++n)
    for (index_t w = 0; w < 4; ++w)
      for (index_t c = 0; c < 3; ++c)
        for (index_t i = 0; i < 4; ++i)
          for (index_t j = 0; j < 5; ++j)
            REQUIRE(win.at(n * 4 + w, c, i, j) == x.at(n, c, rows[w / 2] + i, cols[w % 2] + j));
  CHECK(test::max_abs_diff(ops::window_merge(win, 2, 7, 9, 4, 5), x) < 1e-15);

  // Merge of windows filled with their index: each pixel gets the mean of the windows covering it.
  TensorD idx = TensorD::empty({4, 1, 4, 5});
  for (index_t w = 0; w < 4; ++w)
    for (index_t p = 0; p < 20; ++p) idx.at(w * 20 + p) = double(w);
  TensorD m = ops::window_merge(idx, 1, 7, 9, 4, 5);
  CHECK(m.at(0, 0, 0, 0) == 0.0);
  CHECK(m.at(0, 0, 3, 0) == 1.0);    // rows 3 is in both row bands: (0 + 2) / 2
  CHECK(m.at(0, 0, 0, 4) == 0.5);    // col 4 in both column bands: (0 + 1) / 2
  CHECK(m.at(0, 0, 3, 4) == 1.5);    // four windows: (0 + 1 + 2 + 3) / 4
  CHECK(m.at(0, 0, 6, 8) == 3.0);

  // A window covering the map is the identity.
  CHECK(test::max_abs_diff(ops::window_partition(x, 7, 100), x) == 0.0);
}

TEST_CASE("window_partition and window_merge gradients match finite differences") {
  check_gradients([](const std::vector<TensorD>& in) { return ops::window_partition(in[0], 3, 4); },
                  {random({2, 2, 5, 6}, 2)});
  check_gradients([](const std::vector<TensorD>& in) { return ops::window_merge(in[0], 2, 5, 6, 3, 4); },
                  {random({2 * 4, 2, 3, 4}, 3)});
}

TEST_CASE("window ops reject bad shapes with a named error") {
  try {
    ops::window_merge(TensorF::zeros({3, 2, 3, 4}), 1, 5, 6, 3, 4);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("window_merge") != std::string::npos);
    CHECK(m.find("[4,2,3,4]") != std::string::npos);
    CHECK(m.find("[3,2,3,4]") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::window_partition(TensorF::zeros({2, 5, 6}), 3, 3), ShapeError);
  CHECK_THROWS_AS(ops::window_partition(TensorF::zeros({1, 2, 5, 6}), 0, 3), ShapeError);
}
