// PSNR / SSIM exactly as the official psnr_ssim.py: hand-computed tiny cases and a fixture from an independent
// Python/torch re-statement (weights_tools/make_metric_fixtures.py).
#include <limits>

#include "test_util.hpp"
#include "tlc/data/image.hpp"
#include "tlc/io/json.hpp"
#include "tlc/metrics/psnr.hpp"
#include "tlc/metrics/ssim.hpp"

using namespace tlc;
using metrics::MetricOptions;

namespace {
const std::string kData = std::string(TLC_SOURCE_DIR) + "/tests/data/";

TensorF levels(const Shape& s, const std::vector<int>& v) {  // uint8 levels as [0,1] floats
  std::vector<float> f;
  for (int x : v) f.push_back(float(x) / 255.0f);
  return TensorF::from_vector(s, f);
}
}  // namespace

TEST_CASE("psnr: hand-computed cases, uint8 path") {
  // one of four values differs by 2 levels: mse = 4/4 = 1 -> 20 log10(255)
  const TensorF a = levels(Shape{1, 1, 2, 2}, {10, 20, 30, 40}), b = levels(Shape{1, 1, 2, 2}, {10, 20, 30, 42});
  CHECK(metrics::psnr(a, b) == Approx(20 * std::log10(255.0)).epsilon(1e-12));
  CHECK(metrics::psnr(a, a) == std::numeric_limits<double>::infinity());
  // clamping and round-half-to-even happen before the difference: 1.7 -> 255, -0.3 -> 0,
  // 0.5 -> 127.5 -> 128, and (2.5/255) -> 2.5 -> 2
  const TensorD c = TensorD::from_vector(Shape{1, 4}, {1.7, -0.3, 0.5, 2.5 / 255}).view_as_shape(Shape{1, 1, 1, 4});
  const TensorD d = TensorD::from_vector(Shape{1, 1, 1, 4}, {1.0, 0.0, 128.0 / 255, 2.0 / 255});
  CHECK(metrics::psnr(c, d) == std::numeric_limits<double>::infinity());
  // max_value from img1 only: an all-dark img1 (levels <= 1) is scored with range 1
  const TensorF dark = levels(Shape{1, 1, 1, 2}, {1, 0}), other = levels(Shape{1, 1, 1, 2}, {1, 2});
  CHECK(metrics::psnr(dark, other) == Approx(20 * std::log10(1.0 / std::sqrt(2.0))).epsilon(1e-12));
  CHECK(metrics::psnr(other, dark) == Approx(20 * std::log10(255.0 / std::sqrt(2.0))).epsilon(1e-12));
}

TEST_CASE("psnr: float path uses raw values; crop_border cuts every side") {
  MetricOptions raw;
  raw.use_image = false;
  const TensorD a = TensorD::from_vector(Shape{1, 1, 1, 2}, {0.5, 0.25}),
                b = TensorD::from_vector(Shape{1, 1, 1, 2}, {0.5, 0.35});
  CHECK(metrics::psnr(a, b, raw) == Approx(10 * std::log10(1.0 / (0.01 / 2))).epsilon(1e-12));
  // an output pixel slightly above 1 switches to range 255 (the documented trap, kept on purpose)
  const TensorD over = TensorD::from_vector(Shape{1, 1, 1, 2}, {1.01, 0.25});
  const TensorD gt = TensorD::from_vector(Shape{1, 1, 1, 2}, {1.0, 0.25});
  CHECK(metrics::psnr(over, gt, raw) == Approx(20 * std::log10(255.0 / std::sqrt(0.0001 / 2))).epsilon(1e-9));

  // 5x5 with a differing border: crop_border 1 leaves the identical 3x3 centre
  TensorF x = TensorF::full(Shape{1, 3, 5, 5}, 0.5f), y = TensorF::full(Shape{1, 3, 5, 5}, 0.5f);
  y.at(0, 1, 0, 2) = 0.9f;
  y.at(0, 2, 4, 4) = 0.1f;
  MetricOptions crop;
  crop.crop_border = 1;
  CHECK(metrics::psnr(x, y, crop) == std::numeric_limits<double>::infinity());
  CHECK(metrics::psnr(x, y) < 40.0);
  crop.crop_border = 2;
  CHECK_NOTHROW(metrics::psnr(x, y, crop));
  crop.crop_border = 3;
  CHECK_THROWS_AS(metrics::psnr(x, y, crop), ShapeError);
  CHECK_THROWS_WITH(metrics::psnr(x, TensorF::zeros(Shape{1, 3, 5, 4})),
                    Catch::Contains("psnr") && Catch::Contains("[1,3,5,5]") && Catch::Contains("[1,3,5,4]"));
}

TEST_CASE("ssim: identical images give 1, a constant offset matches the closed form") {
  const TensorF a = test::random<float>(Shape{1, 3, 12, 9}, 3, 0.0, 1.0);
  CHECK(metrics::ssim(a, a) == Approx(1.0).epsilon(1e-12));
  // constant images u and v (levels): sigma terms vanish, SSIM = (2uv + C1) / (u^2 + v^2 + C1) everywhere
  const TensorF u = TensorF::full(Shape{1, 3, 8, 8}, 100.0f / 255.0f),
                v = TensorF::full(Shape{1, 3, 8, 8}, 120.0f / 255.0f);
  const double C1 = (0.01 * 255) * (0.01 * 255);
  CHECK(metrics::ssim(u, v) == Approx((2 * 100.0 * 120 + C1) / (100.0 * 100 + 120.0 * 120 + C1)).epsilon(1e-12));
  MetricOptions raw;
  raw.use_image = false;  // range 1 (max <= 1): C1 = 1e-4
  const double fu = double(100.0f / 255.0f), fv = double(120.0f / 255.0f);
  CHECK(metrics::ssim(u, v, raw) == Approx((2 * fu * fv + 1e-4) / (fu * fu + fv * fv + 1e-4)).epsilon(1e-12));
}

TEST_CASE("ssim is the 3-D variant; channel order does not matter") {
  // with a per-channel 2-D SSIM, channels 0 and 2 would stay perfect; the 3-D filter spreads it
  TensorF a = test::random<float>(Shape{1, 3, 16, 16}, 4, 0.2, 0.8);
  TensorF b = a.clone();
  for (index_t i = 0; i < 16; ++i) b.at(0, 1, i, i) = 0.0f;
  const double s = metrics::ssim(a, b);
  TensorF a0 = TensorF::empty(Shape{1, 1, 16, 16}), b0 = TensorF::empty(Shape{1, 1, 16, 16});
  std::copy(a.data(), a.data() + 256, a0.data());
  std::copy(b.data(), b.data() + 256, b0.data());  // channel 0 is unchanged
  CHECK(metrics::ssim(a0, b0) == Approx(1.0));
  CHECK(s < 1.0);
  // channel order does not matter (symmetric channel filter): RGB vs BGR
  TensorF ar = a.clone(), br = b.clone();
  std::copy(a.data(), a.data() + 256, ar.data() + 512);
  std::copy(a.data() + 512, a.data() + 768, ar.data());
  std::copy(b.data(), b.data() + 256, br.data() + 512);
  std::copy(b.data() + 512, b.data() + 768, br.data());
  CHECK(metrics::ssim(ar, br) == Approx(s).epsilon(1e-13));
}

TEST_CASE("psnr and ssim match the Python/torch fixture (float64) to 1e-9") {
  const auto fx = io::json::parse(io::read_file(kData + "metric_fixture.json", 1 << 20));
  const TensorF a = data::read_image(kData + "images/metric_a.png").rgb;
  const TensorF b = data::read_image(kData + "images/metric_b.png").rgb;
  auto expect = [&](const char* key) { return fx.find(key)->as_double(); };
  MetricOptions crop4, raw;
  crop4.crop_border = 4;
  raw.use_image = false;
  CHECK(std::abs(metrics::psnr(a, b) - expect("psnr_image")) < 1e-9);
  CHECK(std::abs(metrics::ssim(a, b) - expect("ssim_image")) < 1e-9);
  CHECK(std::abs(metrics::psnr(a, b, crop4) - expect("psnr_image_crop4")) < 1e-9);
  CHECK(std::abs(metrics::ssim(a, b, crop4) - expect("ssim_image_crop4")) < 1e-9);
  CHECK(std::abs(metrics::psnr(a, b, raw) - expect("psnr_float")) < 1e-9);
  CHECK(std::abs(metrics::ssim(a, b, raw) - expect("ssim_float")) < 1e-9);
  // the fixture is not trivially close: the images differ a lot
  CHECK(expect("ssim_image") < 0.9);
}
