// Pixel losses: naive loops, the per-image PSNR loss (not the log of the batch MSE), gradients, errors.
#include "test_util.hpp"
#include "tlc/ops/loss.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {
// A target whose difference to `pred` stays away from 0 (so |d| has a derivative everywhere).
TensorD offset_target(const TensorD& pred, std::uint64_t seed) {
  TensorD t = random(pred.shape(), seed, 0.1, 0.5);
  Rng rng(seed + 1);
  for (index_t i = 0; i < t.numel(); ++i) t.at(i) = pred.at(i) + (rng.uniform(0, 1) < 0.5 ? -t.at(i) : t.at(i));
  return t;
}
}  // namespace

TEST_CASE("l1, mse and charbonnier losses match naive means and are rank-0") {
  TensorD p = random({2, 3, 4, 5}, 1), t = random({2, 3, 4, 5}, 2);
  double l1 = 0, mse = 0, ch = 0;
  const double eps = 1e-3;
  for (index_t i = 0; i < p.numel(); ++i) {
    const double d = p.at(i) - t.at(i);
    l1 += std::abs(d) / 120;
    mse += d * d / 120;
    ch += std::sqrt(d * d + eps * eps) / 120;
  }
  TensorD L1 = ops::l1_loss(p, t), MSE = ops::mse_loss(p, t), CH = ops::charbonnier_loss(p, t);
  CHECK(L1.dim() == 0);
  CHECK(L1.item() == Approx(l1).epsilon(1e-13));
  CHECK(MSE.item() == Approx(mse).epsilon(1e-13));
  CHECK(CH.item() == Approx(ch).epsilon(1e-13));
  CHECK(ops::charbonnier_loss(p, t, 0.5).item() > CH.item());
  // Any rank works for the mean losses.
  CHECK(ops::l1_loss(TensorD::from_vector({3}, {1, -2, 3}), TensorD::zeros({3})).item() == Approx(2.0));
}

TEST_CASE("psnr_loss averages per-image log-MSE, not the log of the batch MSE") {
  // Image 0 has MSE 1e-2 (20 dB), image 1 has MSE 1e-4 (40 dB).
  TensorD t = TensorD::zeros({2, 1, 2, 2});
  TensorD p = TensorD::zeros({2, 1, 2, 2});
  for (index_t i = 0; i < 4; ++i) {
    p.at(i) = (i % 2 ? 1 : -1) * 0.1;
    p.at(4 + i) = (i % 2 ? -1 : 1) * 0.01;
  }
  const double k = 10.0 / std::log(10.0);
  const double per_image = k * 0.5 * (std::log(1e-2 + 1e-8) + std::log(1e-4 + 1e-8));
  const double batch = k * std::log(0.5 * (1e-2 + 1e-4) + 1e-8);
  const double L = ops::psnr_loss(p, t).item();
  CHECK(L == Approx(per_image).epsilon(1e-12));
  CHECK(L == Approx(-30.0).margin(1e-5));   // minus the mean PSNR (data range 1)
  CHECK(std::abs(L - batch) > 5.0);           // the batch-MSE version would report about -22.97
  // On random data: equals the naive per-image formula.
  TensorD a = random({3, 2, 3, 4}, 5, 0, 1), b = random({3, 2, 3, 4}, 6, 0, 1);
  double want = 0;
  for (index_t n = 0; n < 3; ++n) {
    double mse = 0;
    for (index_t i = 0; i < 24; ++i) mse += (a.at(n * 24 + i) - b.at(n * 24 + i)) * (a.at(n * 24 + i) - b.at(n * 24 + i)) / 24;
    want += k * std::log(mse + 1e-8) / 3;
  }
  CHECK(ops::psnr_loss(a, b).item() == Approx(want).epsilon(1e-13));
}

TEST_CASE("losses over several accumulation chunks: float agrees with double, PSNR gradient uses per-image MSE") {
  // Two images larger than one accumulation chunk (2 * 3 * 100 * 100 elements).
  TensorD a = random({2, 3, 100, 100}, 7, 0, 1), b = random({2, 3, 100, 100}, 8, 0, 1);
  TensorF af = a.cast<float>(), bf = b.cast<float>();
  TensorD ad = af.cast<double>(), bd = bf.cast<double>();
  CHECK(ops::mse_loss(af, bf).item() == Approx(ops::mse_loss(ad, bd).item()).epsilon(1e-6));
  CHECK(ops::psnr_loss(af, bf).item() == Approx(ops::psnr_loss(ad, bd).item()).epsilon(1e-6));
  CHECK(ops::l1_loss(af, bf).item() == Approx(ops::l1_loss(ad, bd).item()).epsilon(1e-6));
  // The PSNR gradient per element is (10 / ln 10) / (N * M * (mse_n + 1e-8)) * 2 d, with image n's own MSE.
  TensorD p = a.detach();
  p.requires_grad_();
  autograd::backward(ops::psnr_loss(p, b));
  const index_t M = 3 * 100 * 100;
  double max_err = 0;
  for (index_t n = 0; n < 2; ++n) {
    double mse = 0;
    for (index_t i = n * M; i < (n + 1) * M; ++i) mse += (a.at(i) - b.at(i)) * (a.at(i) - b.at(i)) / M;
    const double coef = 10.0 / std::log(10.0) / (2.0 * M * (mse + 1e-8));
    for (index_t i = n * M; i < (n + 1) * M; ++i)
      max_err = std::max(max_err, std::abs(p.grad().at(i) - coef * 2 * (a.at(i) - b.at(i))));
  }
  CHECK(max_err < 1e-15);
}

TEST_CASE("loss gradients match finite differences for prediction and target") {
  TensorD p = random({2, 2, 3, 2}, 3), t = offset_target(p, 4);
  check_gradients([](const std::vector<TensorD>& in) { return ops::l1_loss(in[0], in[1]); }, {p, t});
  check_gradients([](const std::vector<TensorD>& in) { return ops::mse_loss(in[0], in[1]); }, {p, t});
  check_gradients([](const std::vector<TensorD>& in) { return ops::charbonnier_loss(in[0], in[1], 0.3); }, {p, t});
  check_gradients([](const std::vector<TensorD>& in) { return ops::psnr_loss(in[0], in[1]); }, {p, t});
  // A scaled loss passes the upstream gradient through.
  check_gradients([](const std::vector<TensorD>& in) { return ops::mul_scalar(ops::psnr_loss(in[0], in[1]), 0.5); },
                  {p, t});
}

TEST_CASE("losses reject bad arguments with named errors") {
  TensorF a = TensorF::zeros({1, 3, 4, 4}), b = TensorF::zeros({1, 3, 4, 5});
  try {
    ops::charbonnier_loss(a, b);
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("charbonnier_loss") != std::string::npos);
    CHECK(m.find("[1,3,4,4]") != std::string::npos);
    CHECK(m.find("[1,3,4,5]") != std::string::npos);
  }
  try {
    ops::psnr_loss(TensorF::zeros({3, 4, 4}), TensorF::zeros({3, 4, 4}));
    FAIL("no exception");
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    CHECK(m.find("psnr_loss") != std::string::npos);
    CHECK(m.find("rank-4") != std::string::npos);
    CHECK(m.find("[3,4,4]") != std::string::npos);
  }
  CHECK_THROWS_AS(ops::mse_loss(TensorF::zeros({0}), TensorF::zeros({0})), ShapeError);
  CHECK_THROWS_AS(ops::l1_loss(a, TensorF()), Error);
}
