// ops::matmul: batched forward against a naive loop for every transpose combination, gradcheck
// in double, shape errors.
#include "test_util.hpp"
#include "tlc/ops/matmul.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {

// Shape of a stored operand whose op() is rows x cols, with leading batch axes.
Shape stored(const std::vector<index_t>& lead, index_t rows, index_t cols, bool trans) {
  std::vector<index_t> d(lead);
  d.push_back(trans ? cols : rows);
  d.push_back(trans ? rows : cols);
  return Shape(d.begin(), d.end());
}

}  // namespace

TEST_CASE("matmul matches a naive loop for ranks 2..4 and all transposes") {
  const std::vector<std::vector<index_t>> leads = {{}, {3}, {2, 3}};
  for (const auto& lead : leads)
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      const index_t m = 7, k = 13, n = 10;
      TensorF a = random<float>(stored(lead, m, k, ta), 1), b = random<float>(stored(lead, k, n, tb), 2);
      TensorF c = ops::matmul(a, b, ta, tb);
      INFO("rank " << a.dim() << " ta=" << ta << " tb=" << tb);
      index_t batch = 1;
      for (index_t l : lead) batch *= l;
      std::vector<index_t> out(lead);
      out.push_back(m);
      out.push_back(n);
      REQUIRE(c.shape() == Shape(out.begin(), out.end()));
      double worst = 0;
      for (index_t bi = 0; bi < batch; ++bi)
        for (index_t i = 0; i < m; ++i)
          for (index_t j = 0; j < n; ++j) {
            double s = 0;
            for (index_t p = 0; p < k; ++p)
              s += double(a.at(bi * m * k + (ta ? p * m + i : i * k + p))) *
                   double(b.at(bi * k * n + (tb ? j * k + p : p * n + j)));
            worst = std::max(worst, std::abs(s - double(c.at(bi * m * n + i * n + j))));
          }
      CHECK(worst < 1e-5);
    }
}

TEST_CASE("matmul gradients pass gradcheck for all transposes") {
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    INFO("ta=" << ta << " tb=" << tb);
    check_gradients([&](const std::vector<TensorD>& in) { return ops::matmul(in[0], in[1], ta, tb); },
                    {random(stored({2}, 3, 4, ta), 5), random(stored({2}, 4, 5, tb), 6)});
    check_gradients([&](const std::vector<TensorD>& in) { return ops::matmul(in[0], in[1], ta, tb); },
                    {random(stored({}, 2, 3, ta), 7), random(stored({}, 3, 4, tb), 8)});
  }
}

TEST_CASE("matmul rejects mismatched shapes with named errors") {
  auto check_error = [](auto&& f) {
    try {
      f();
      FAIL("expected a ShapeError");
    } catch (const ShapeError& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("matmul") != std::string::npos);
      CHECK(msg.find("expected") != std::string::npos);
      CHECK(msg.find("found") != std::string::npos);
    }
  };
  check_error([] { ops::matmul(TensorF::zeros({3, 4}), TensorF::zeros({5, 6})); });  // inner sizes
  check_error([] { ops::matmul(TensorF::zeros({3, 4}), TensorF::zeros({3, 6}), true, true); });
  check_error([] { ops::matmul(TensorF::zeros({2, 3, 4}), TensorF::zeros({3, 4, 5})); });  // batch axes
  check_error([] { ops::matmul(TensorF::zeros({2, 3, 4}), TensorF::zeros({4, 5})); });     // ranks differ
  check_error([] { ops::matmul(TensorF::zeros({4}), TensorF::zeros({4})); });              // rank 1
}
