// Degradation spec strings: parsing, determinism, noise statistics, kernels, blur against a naive
// loop, and crop == full-image-then-crop for the spatially varying stages.
#include "test_util.hpp"
#include "tlc/data/degrade.hpp"

using namespace tlc;
using data::Degradation;
using Kind = Degradation::Kind;

namespace {

std::string parse_error(const std::string& spec) {
  try {
    Degradation::parse(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

double stddev(const TensorF& t, index_t c, index_t y0, index_t x0, index_t h, index_t w, double* mean_out = nullptr) {
  double s = 0, s2 = 0;
  const double n = double(h * w);
  for (index_t y = y0; y < y0 + h; ++y)
    for (index_t x = x0; x < x0 + w; ++x) {
      const double v = t.at(0, c, y, x);
      s += v, s2 += v * v;
    }
  if (mean_out) *mean_out = s / n;
  return std::sqrt(s2 / n - (s / n) * (s / n));
}

}  // namespace

TEST_CASE("degradation specs parse, and bad specs give errors naming the spec and the problem") {
  auto d = Degradation::parse("motion:len=9-21+noise:sigma=5-60");
  REQUIRE(d.stages().size() == 2);
  CHECK(d.stages()[0].kind == Kind::Motion);
  CHECK(d.stages()[0].len.lo == 9);
  CHECK(d.stages()[0].len.hi == 21);
  CHECK(d.stages()[1].sigma.hi == 60);
  CHECK(d.margin() == 10);
  CHECK(Degradation::parse("defocus:r=2-4.5+blur-map:type=motion,len=3-7").margin() == 5 + 3);
  CHECK(Degradation::parse("").empty());
  CHECK(Degradation::parse("none").empty());

  CHECK_THAT(parse_error("jpeg:q=30"), Catch::Contains("'jpeg:q=30'") && Catch::Contains("expected a stage"));
  CHECK_THAT(parse_error("noise:sigma=25,len=3"), Catch::Contains("takes sigma, clip") && Catch::Contains("'len'"));
  CHECK_THAT(parse_error("noise"), Catch::Contains("needs sigma"));
  CHECK_THAT(parse_error("noise:sigma=60-5"), Catch::Contains("within [0, 255]") && Catch::Contains("'60-5'"));
  CHECK_THAT(parse_error("noise:sigma=abc"), Catch::Contains("expected a number for sigma"));
  CHECK_THAT(parse_error("motion:len=9.5"), Catch::Contains("whole numbers"));
  CHECK_THAT(parse_error("noise:sigma=5+motion:len=9"), Catch::Contains("blur stages before noise"));
  CHECK_THAT(parse_error("noise-map:sigma=5-60,pattern=stripes"),
             Catch::Contains("pattern=gradient or pattern=blocks"));
  CHECK_THAT(parse_error("blur-map:type=defocus,len=3"), Catch::Contains("needs r="));
  CHECK_THAT(parse_error("blur-map:type=box,r=3"), Catch::Contains("type=motion or type=defocus"));
  CHECK_THAT(parse_error("noise:sigma"), Catch::Contains("expected key=value"));
}

TEST_CASE("degradations are reproducible from the seed and differ between seeds") {
  const TensorF clean = test::random<float>(Shape{1, 3, 24, 20}, 1, 0.0, 1.0);
  for (const std::string spec :
       {"noise:sigma=5-60", "motion:len=5-11+noise:sigma=10", "defocus:r=1-3", "noise-map:sigma=5-60,pattern=blocks",
        "blur-map:type=defocus,r=0-3,pattern=gradient"}) {
    INFO(spec);
    auto d = Degradation::parse(spec);
    Rng a(42), b(42), c(43);
    const TensorF ya = d.apply(clean, a), yb = d.apply(clean, b), yc = d.apply(clean, c);
    CHECK(test::max_abs_diff(ya, yb) == 0.0);
    CHECK(test::max_abs_diff(ya, yc) > 1e-4);
    CHECK(test::max_abs_diff(clean, test::random<float>(Shape{1, 3, 24, 20}, 1, 0.0, 1.0)) == 0.0);  // input untouched
  }
}

TEST_CASE("Gaussian noise has the requested standard deviation; a sigma range is drawn per call") {
  const TensorF flat = TensorF::full(Shape{1, 3, 96, 96}, 0.5f);
  Rng rng(7);
  const TensorF y = Degradation::parse("noise:sigma=25").apply(flat, rng);
  for (index_t c = 0; c < 3; ++c) {
    double mean = 0;
    const double sd = stddev(y, c, 0, 0, 96, 96, &mean);
    CHECK(sd == Approx(25.0 / 255.0).epsilon(0.03));
    CHECK(mean == Approx(0.5).margin(0.003));
  }
  auto ranged = Degradation::parse("noise:sigma=5-60");
  std::vector<double> sds;
  for (int i = 0; i < 4; ++i) {
    const double sd = stddev(ranged.apply(flat, rng), 0, 0, 0, 96, 96) * 255.0;
    CHECK(sd > 5 * 0.95);
    CHECK(sd < 60 * 1.05);
    sds.push_back(sd);
  }
  CHECK(*std::max_element(sds.begin(), sds.end()) - *std::min_element(sds.begin(), sds.end()) > 2.0);
  // clip=1 keeps values in [0,1]
  const TensorF clipped = Degradation::parse("noise:sigma=200,clip=1").apply(flat, rng);
  for (float v : clipped.to_vector()) REQUIRE((v >= 0.0f && v <= 1.0f));
}

TEST_CASE("noise-map: the noise level varies across the image") {
  const TensorF flat = TensorF::full(Shape{1, 1, 128, 128}, 0.5f);
  for (const std::string spec : {"noise-map:sigma=5-60", "noise-map:sigma=5-60,pattern=blocks,grid=4"}) {
    INFO(spec);
    Rng rng(11);
    const TensorF y = Degradation::parse(spec).apply(flat, rng);
    std::vector<double> sds;
    for (index_t by = 0; by < 128; by += 32)
      for (index_t bx = 0; bx < 128; bx += 32) sds.push_back(stddev(y, 0, by, bx, 32, 32) * 255.0);
    const double lo = *std::min_element(sds.begin(), sds.end()), hi = *std::max_element(sds.begin(), sds.end());
    CHECK(lo > 5 * 0.8);
    CHECK(hi < 60 * 1.15);
    CHECK(hi / lo > 2.0);  // a 32x32 patch does not see the whole image's statistics
  }
}

TEST_CASE("blur kernels are normalised, non-negative and of the documented size") {
  Rng rng(3);
  for (int len : {1, 2, 9, 14, 21}) {
    const auto k = Degradation::draw_kernel(Kind::Motion, {double(len), double(len)}, rng);
    CHECK(k.side() == (len % 2 ? len : len + 1));
    CHECK(k.sum() == Approx(1.0).epsilon(1e-12));
    for (double v : k.w) CHECK(v >= 0.0);
    if (len >= 9) {  // a trajectory, not a blob: most entries stay zero
      const auto nonzero = std::count_if(k.w.begin(), k.w.end(), [](double v) { return v > 0; });
      CHECK(nonzero < k.side() * k.side() / 2);
    }
  }
  for (double r : {0.0, 0.4, 2.0, 3.7}) {
    const auto k = Degradation::draw_kernel(Kind::Defocus, {r, r}, rng);
    CHECK(k.radius == index_t(std::ceil(r)));
    CHECK(k.sum() == Approx(1.0).epsilon(1e-12));
    const index_t s = k.side();
    for (index_t y = 0; y < s; ++y)
      for (index_t x = 0; x < s; ++x) CHECK(k.w[y * s + x] == Approx(k.w[x * s + (s - 1 - y)]));  // rotation symmetric
  }
}

TEST_CASE("motion blur equals a naive correlation with replicate borders; a flat image stays flat") {
  const TensorF x = test::random<float>(Shape{1, 3, 13, 17}, 5, 0.0, 1.0);
  Rng kr(9), ar(9);
  const auto k = Degradation::draw_kernel(Kind::Motion, {7, 7}, kr);
  const TensorF y = Degradation::parse("motion:len=7").apply(x, ar);
  const index_t r = k.radius, s = k.side();
  double worst = 0;
  for (index_t c = 0; c < 3; ++c)
    for (index_t i = 0; i < 13; ++i)
      for (index_t j = 0; j < 17; ++j) {
        double acc = 0;
        for (index_t a = 0; a < s; ++a)
          for (index_t b = 0; b < s; ++b)
            acc += k.w[a * s + b] *
                   x.at(0, c, std::clamp<index_t>(i + a - r, 0, 12), std::clamp<index_t>(j + b - r, 0, 16));
        worst = std::max(worst, std::abs(acc - y.at(0, c, i, j)));
      }
  CHECK(worst < 1e-6);

  Rng rng(1);
  const TensorF flat = TensorF::full(Shape{1, 3, 10, 12}, 0.25f);
  for (const std::string spec : {"motion:len=15", "defocus:r=4", "blur-map:type=motion,len=3-15,pattern=blocks"}) {
    INFO(spec);
    CHECK(test::max_abs_diff(Degradation::parse(spec).apply(flat, rng), flat) < 1e-6);
  }
}

TEST_CASE("degrading a crop with margin() context equals degrading the full image, then cropping") {
  const TensorF full = test::random<float>(Shape{1, 3, 48, 40}, 8, 0.0, 1.0);
  for (const std::string spec :
       {"blur-map:type=motion,len=3-9,pattern=blocks,grid=3+noise-map:sigma=5-60,pattern=blocks",
        "defocus:r=1-2+blur-map:type=defocus,r=0-3+noise-map:sigma=1-30", "noise:sigma=20"}) {
    INFO(spec);
    auto d = Degradation::parse(spec);
    Rng a(21), b(21);
    const TensorF whole = d.apply(full, a);
    const index_t m = d.margin(), top = 12, left = 9, h = 20, w = 18;
    const index_t rt = top - m, rl = left - m, rh = h + 2 * m, rw = w + 2 * m;
    REQUIRE(rt >= 0);
    TensorF region = TensorF::empty(Shape{1, 3, rh, rw});
    for (index_t c = 0; c < 3; ++c)
      for (index_t i = 0; i < rh; ++i)
        for (index_t j = 0; j < rw; ++j) region.at(0, c, i, j) = full.at(0, c, rt + i, rl + j);
    const TensorF part = d.apply(region, b, data::Frame{48, 40, rt, rl});
    double worst = 0;
    for (index_t c = 0; c < 3; ++c)
      for (index_t i = 0; i < h; ++i)
        for (index_t j = 0; j < w; ++j)
          worst = std::max(worst, double(std::abs(part.at(0, c, m + i, m + j) - whole.at(0, c, top + i, left + j))));
    CHECK(worst == 0.0);
  }
  Rng rng(0);
  CHECK_THROWS_AS(Degradation::parse("noise:sigma=5").apply(full, rng, data::Frame{40, 40, 0, 0}), ShapeError);
}
