// Vectorised CPU math loops (ops/cpu/vec_math.hpp, ops/cpu/scan.hpp) against scalar references in
// double, over whole ranges and at the edge values, on lengths that use the vector body and the tail,
// with every instruction set this CPU supports (chosen at run time, core/cpu_isa.hpp).
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"
#include "tlc/ops/cpu/scan.hpp"
#include "tlc/ops/cpu/vec_math.hpp"

using namespace tlc;
using tlc::test::for_each_isa;

TEST_CASE("inv_sqrt_clamped is within 2 ulp of 1/sqrt(max(v, 0) + eps) and exact at 0 and inf") {
  for_each_isa([] {
    std::vector<float> v;
    for (double e = -38; e <= 38; e += 0.0071) v.push_back(static_cast<float>(std::pow(10.0, e)));
    for (float f : {1.0f, 2.0f, 4.0f, 0.25f, 1e-5f, 3.0f}) v.push_back(f);
    for (const float eps : {0.0f, 1e-5f}) {
      std::vector<float> r = v;
      cpu::inv_sqrt_clamped(r.data(), static_cast<index_t>(r.size()), eps);
      double worst = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        const double ref = 1.0 / std::sqrt(static_cast<double>(v[i]) + eps);
        worst = std::max(worst, std::abs(r[i] - ref) / ref);
      }
      INFO("eps " << eps);
      CHECK(worst < 2.4e-7);  // 2 ulp of float
    }
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    // The edge values in two vectors of 8 (one of 16) and in the scalar tail.
    const std::vector<float> values = {0.0f, -1.0f, inf, nan, 4.0f, -inf, 0.0f, 1.0f};
    const std::vector<float> expected = {inf, inf, 0.0f, nan, 0.5f, inf, inf, 1.0f};  // negative clamps to 0
    std::vector<float> edge, want;
    for (size_t i = 0; i < 20; ++i) edge.push_back(values[i % 8]), want.push_back(expected[i % 8]);
    cpu::inv_sqrt_clamped(edge.data(), static_cast<index_t>(edge.size()), 0.0f);
    for (size_t i = 0; i < edge.size(); ++i) {
      INFO("element " << i << " of " << edge.size() << ", input " << values[i % 8]);
      CHECK((std::isnan(want[i]) ? std::isnan(edge[i]) : edge[i] == want[i]));
    }
  });
}

TEST_CASE("running_sum_of_differences equals the scalar running sum") {
  for_each_isa([] {
    Rng rng(5);
    for (index_t n : {0, 1, 3, 4, 5, 8, 9, 31, 64, 1001}) {
      std::vector<double> plus(static_cast<size_t>(n)), minus(plus.size()), dst(plus.size(), -7.0);
      for (index_t i = 0; i < n; ++i) plus[i] = rng.uniform(-3, 3), minus[i] = rng.uniform(-3, 3);
      for (index_t start : {index_t(0), std::min<index_t>(n, 2)}) {
        double s = 0.5;
        index_t t = cpu::running_sum_of_differences(plus.data(), minus.data(), start, n, s, dst.data());
        REQUIRE(t >= start);
        REQUIRE(t <= n);
        for (; t < n; ++t) dst[t] = (s += plus[t] - minus[t]);  // the caller's tail
        double ref = 0.5;
        for (index_t i = start; i < n; ++i) {
          ref += plus[i] - minus[i];
          INFO("n=" << n << " start=" << start << " i=" << i);
          CHECK(std::abs(dst[i] - ref) < 1e-12);
        }
      }
    }
  });
}

namespace {
double exact_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double exact_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }
// |got - want| <= rel |want| + 1e-35: below that, near the float's smallest normals, the flushed
// (vector) or subnormal (scalar) tail has no relative precision left.
bool close(double got, double want, double rel) { return std::abs(got - want) <= rel * std::abs(want) + 1e-35; }
}  // namespace

TEST_CASE("the float GELU, its gradient and the GELU gate match the exact erfc forms (5e-7 relative vectorised)") {
  for_each_isa([] {
    // The scalar kernels: float erfc of a rounded x / sqrt(2) is off by up to ~x^2 * 6e-8 relative.
    const double rel = cpu_isa() == CpuIsa::Scalar ? 2e-5 : 5e-7;
    std::vector<float> x, b, gy;
    for (double v = -14; v <= 14; v += 3.7e-4) x.push_back(static_cast<float>(v));
    for (float f : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-7f, 0.5f, -0.5f, 13.0f, -13.0f, 30.0f}) x.push_back(f);
    x.push_back(1.5f);  // odd length: the last block runs through the padded tail
    const index_t n = static_cast<index_t>(x.size());
    for (index_t i = 0; i < n; ++i)
      b.push_back(0.25f + 0.001f * float(i % 97)), gy.push_back(1.0f - 0.002f * float(i % 89));
    std::vector<float> y(x.size()), gx(x.size()), gate(x.size()), ga(x.size()), gb(x.size());
    cpu::gelu(x.data(), y.data(), n);
    cpu::gelu_backward(x.data(), gy.data(), gx.data(), n);
    cpu::gelu_gate(x.data(), b.data(), gate.data(), n);
    cpu::gelu_gate_backward(x.data(), b.data(), gy.data(), ga.data(), gb.data(), n);
    int bad = 0;
    double first_bad = 0;
    for (index_t i = 0; i < n; ++i) {
      const double v = x[i], g = v * exact_cdf(v), dg = exact_cdf(v) + v * exact_pdf(v);
      // The derivative's two terms cancel near x = -0.75; there it is compared to the size of each term.
      const double dg_scale = std::max(std::abs(dg), exact_cdf(v) + std::abs(v) * exact_pdf(v) * 1e-2);
      const bool ok = close(y[i], g, rel) && close(gate[i], g * b[i], 1.2 * rel) &&
                      close(gb[i], g * gy[i], 1.2 * rel) &&
                      std::abs(gx[i] - gy[i] * dg) <= 2 * rel * std::abs(gy[i]) * dg_scale + 1e-35 &&
                      std::abs(ga[i] - gy[i] * b[i] * dg) <= 2 * rel * std::abs(gy[i] * b[i]) * dg_scale + 1e-35;
      if (!ok && bad++ == 0) first_bad = v;
    }
    INFO(bad << " elements off, the first at x = " << first_bad);
    CHECK(bad == 0);
  });
}

TEST_CASE("the float GELU gives every element the same result wherever a range is cut") {
  for_each_isa([] {
    std::vector<float> x(37);
    for (size_t i = 0; i < x.size(); ++i) x[i] = -3.0f + 0.17f * float(i);
    std::vector<float> whole(x.size()), parts(x.size());
    cpu::gelu(x.data(), whole.data(), 37);
    for (index_t lo : {0, 5, 18, 29}) {  // ranges [0,5), [5,18), [18,29), [29,37): tails at odd offsets
      const index_t hi = lo == 29 ? 37 : (lo == 0 ? 5 : (lo == 5 ? 18 : 29));
      cpu::gelu(x.data() + lo, parts.data() + lo, hi - lo);
    }
    for (size_t i = 0; i < x.size(); ++i) CHECK(parts[i] == whole[i]);
  });
}

TEST_CASE("the float GELU propagates NaN and keeps infinities") {
  for_each_isa([] {
    const float inf = std::numeric_limits<float>::infinity();
    const float in[] = {std::numeric_limits<float>::quiet_NaN(), inf, -100.0f, 100.0f};
    float out[4];
    cpu::gelu(in, out, 4);
    CHECK(std::isnan(out[0]));
    CHECK(out[1] == inf);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 100.0f);
  });
}

TEST_CASE("the float sigmoid is within 3e-7 relative of 1 / (1 + e^-x); sqrt_in_place is correctly rounded") {
  for_each_isa([] {
    std::vector<float> x;
    for (double v = -87; v <= 40; v += 1.3e-3) x.push_back(static_cast<float>(v));
    x.push_back(0.5f);  // a tail after the whole vectors
    const index_t n = static_cast<index_t>(x.size());
    std::vector<float> y(x.size());
    cpu::sigmoid(x.data(), y.data(), n);
    double worst = 0;
    for (index_t i = 0; i < n; ++i) {
      const double ref = 1.0 / (1.0 + std::exp(-double(x[i])));
      worst = std::max(worst, std::abs(y[i] - ref) / ref);
    }
    CHECK(worst < 3e-7);
    std::vector<float> r(x.size());
    for (index_t i = 0; i < n; ++i) r[i] = std::abs(x[i]) * 1e3f;
    std::vector<float> root = r;
    cpu::sqrt_in_place(root.data(), n);
    int wrong = 0;
    for (index_t i = 0; i < n; ++i) wrong += root[i] != std::sqrt(r[i]);
    CHECK(wrong == 0);
  });
}
