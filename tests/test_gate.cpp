// simple_gate and gelu_gate: naive loops, gradients, errors.
#include "test_util.hpp"
#include "tlc/ops/gate.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

TEST_CASE("simple_gate and gelu_gate multiply the first channel half (through f) by the second") {
  auto gelu = [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); };
  TensorD x = random({3, 6, 4, 5}, 1, -3, 3);
  TensorD s = ops::simple_gate(x), g = ops::gelu_gate(x);
  REQUIRE(s.shape() == Shape({3, 3, 4, 5}));
  REQUIRE(g.shape() == Shape({3, 3, 4, 5}));
  for (index_t n = 0; n < 3; ++n)
    for (index_t c = 0; c < 3; ++c)
      for (index_t h = 0; h < 4; ++h)
        for (index_t w = 0; w < 5; ++w) {
          const double a = x.at(n, c, h, w), b = x.at(n, c + 3, h, w);
          REQUIRE(s.at(n, c, h, w) == a * b);
          REQUIRE(g.at(n, c, h, w) == Approx(gelu(a) * b).epsilon(1e-14));
        }
  // Large enough that parallel chunks start inside an image.
  TensorD big = random({3, 4, 50, 70}, 3);
  TensorD sb = ops::simple_gate(big);
  for (index_t n = 0; n < 3; ++n)
    for (index_t c = 0; c < 2; ++c)
      for (index_t h = 0; h < 50; ++h)
        for (index_t w = 0; w < 70; ++w) REQUIRE(sb.at(n, c, h, w) == big.at(n, c, h, w) * big.at(n, c + 2, h, w));
  // Rank 2 ([tokens, channels]) splits axis 1 as well.
  TensorD m = TensorD::from_vector({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(ops::simple_gate(m).to_vector() == std::vector<double>{3, 8, 35, 48});
}

TEST_CASE("simple_gate and gelu_gate gradients match finite differences") {
  TensorD x = random({2, 4, 3, 3}, 2, -2, 2);
  check_gradients([](const std::vector<TensorD>& in) { return ops::simple_gate(in[0]); }, {x});
  check_gradients([](const std::vector<TensorD>& in) { return ops::gelu_gate(in[0]); }, {x});
}

TEST_CASE("gates reject an odd channel count with a named error") {
  const std::vector<std::pair<std::string, TensorF (*)(const TensorF&)>> ops_by_name = {
      {"simple_gate", &ops::simple_gate<float>}, {"gelu_gate", &ops::gelu_gate<float>}};
  for (const auto& [name, f] : ops_by_name) {
    try {
      f(TensorF::zeros({1, 3, 2, 2}));
      FAIL("no exception");
    } catch (const ShapeError& e) {
      const std::string m = e.what();
      CHECK(m.find(name) != std::string::npos);
      CHECK(m.find("even number of channels") != std::string::npos);
      CHECK(m.find("[1,3,2,2]") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(ops::simple_gate(TensorF::zeros({4})), ShapeError);
}
