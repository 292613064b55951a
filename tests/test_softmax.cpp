// softmax and l2_normalize along an axis: naive loops, stability, both eps regimes, gradients, errors.
#include "test_util.hpp"
#include "tlc/ops/softmax.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {
// Applies a per-row function along `axis` of a rank-4 tensor, the naive way.
TensorD along_axis(const TensorD& x, int axis, const std::function<std::vector<double>(const std::vector<double>&)>& f) {
  TensorD y = TensorD::empty(x.shape());
  const Shape s = x.shape();
  index_t idx[4];
  for (idx[0] = 0; idx[0] < s[0]; ++idx[0])
    for (idx[1] = 0; idx[1] < s[1]; ++idx[1])
      for (idx[2] = 0; idx[2] < s[2]; ++idx[2])
        for (idx[3] = 0; idx[3] < s[3]; ++idx[3]) {
          if (idx[axis] != 0) continue;
          index_t j[4] = {idx[0], idx[1], idx[2], idx[3]};
          std::vector<double> row;
          for (j[axis] = 0; j[axis] < s[axis]; ++j[axis]) row.push_back(x.at(j[0], j[1], j[2], j[3]));
          const auto out = f(row);
          for (j[axis] = 0; j[axis] < s[axis]; ++j[axis]) y.at(j[0], j[1], j[2], j[3]) = out[static_cast<size_t>(j[axis])];
        }
  return y;
}

std::vector<double> naive_softmax(const std::vector<double>& r) {
  double sum = 0;
  for (double v : r) sum += std::exp(v);
  std::vector<double> o;
  for (double v : r) o.push_back(std::exp(v) / sum);
  return o;
}

std::function<std::vector<double>(const std::vector<double>&)> naive_normalize(double eps) {
  return [eps](const std::vector<double>& r) {
    double ss = 0;
    for (double v : r) ss += v * v;
    std::vector<double> o;
    for (double v : r) o.push_back(v / std::max(std::sqrt(ss), eps));
    return o;
  };
}
}  // namespace

TEST_CASE("softmax matches a naive loop along any axis") {
  TensorD x = random({2, 3, 4, 5}, 1, -3, 3);
  for (int axis = 0; axis < 4; ++axis) {
    CHECK(test::max_abs_diff(ops::softmax(x, axis), along_axis(x, axis, naive_softmax)) < 1e-15);
    check_gradients([axis](const std::vector<TensorD>& in) { return ops::softmax(in[0], axis); },
                    {random({2, 3, 2, 3}, 2, -2, 2)});
  }
  CHECK(test::max_abs_diff(ops::softmax(x), ops::softmax(x, 3)) == 0.0);
}

TEST_CASE("softmax is stable for large logits") {
  // exp(1000) overflows; subtracting the row max keeps the result exact.
  TensorF x = TensorF::from_vector({2, 3}, {1000, 1001, 1002, -1000, -1001, -1002});
  auto y = ops::softmax(x).to_vector();
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  const std::vector<double> want = {e2 / z, e1 / z, 1 / z, 1 / z, e1 / z, e2 / z};
  for (size_t i = 0; i < want.size(); ++i) CHECK(y[i] == Approx(want[i]).epsilon(1e-6));
}

TEST_CASE("l2_normalize matches F.normalize in both eps regimes") {
  TensorD x = random({2, 3, 4, 5}, 3);
  for (int axis = 0; axis < 4; ++axis)
    CHECK(test::max_abs_diff(ops::l2_normalize(x, axis), along_axis(x, axis, naive_normalize(1e-12))) < 1e-15);
  // Rows of norm ~0.1 (below eps = 1: divided by eps) next to rows of norm ~3 (divided by the norm).
  TensorD mixed = random({2, 4}, 4, 0.2, 1.0);
  for (index_t i = 0; i < 4; ++i) {
    mixed.at(i) *= 0.1;
    mixed.at(4 + i) *= 3.0;
  }
  TensorD m4 = mixed.view_as_shape({1, 1, 2, 4});
  CHECK(test::max_abs_diff(ops::l2_normalize(m4, -1, 1.0), along_axis(m4, 3, naive_normalize(1.0))) < 1e-15);
  check_gradients([](const std::vector<TensorD>& in) { return ops::l2_normalize(in[0], -1, 1.0); }, {mixed});
  check_gradients([](const std::vector<TensorD>& in) { return ops::l2_normalize(in[0], 1); }, {random({2, 3, 2, 2}, 5)});
  // An all-zero row stays zero with gradient gy/eps, as in PyTorch.
  TensorD zero = TensorD::zeros({1, 3});
  zero.requires_grad_();
  TensorD y = ops::l2_normalize(zero, -1, 0.5);
  for (double v : y.to_vector()) CHECK(v == 0.0);
  autograd::backward(ops::sum(ops::mul(y, TensorD::from_vector({1, 3}, {1, 2, 3}))));
  CHECK(zero.grad().to_vector() == std::vector<double>{2, 4, 6});
}

TEST_CASE("softmax and l2_normalize reject bad arguments with named errors") {
  TensorF x = TensorF::zeros({2, 3});
  try {
    ops::softmax(x, 2);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("softmax") != std::string::npos);
    CHECK(m.find("[-2,2)") != std::string::npos);
    CHECK(m.find("found 2") != std::string::npos);
  }
  try {
    ops::l2_normalize(x, -1, 0.0);
    FAIL("no exception");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("l2_normalize") != std::string::npos);
    CHECK(m.find("eps > 0") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::l2_normalize(x, -3), ShapeError);
}
