// Vectorised CPU math loops (ops/cpu/vec_math.hpp, ops/cpu/scan.hpp) against scalar references in
// double, over whole ranges and at the edge values, on lengths that use the vector body and the tail.
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"
#include "tlc/ops/cpu/scan.hpp"
#include "tlc/ops/cpu/vec_math.hpp"

using namespace tlc;

TEST_CASE("inv_sqrt_clamped is within 2 ulp of 1/sqrt(max(v, 0) + eps) and exact at 0 and inf") {
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
  // The edge values, inside a full vector of 8 and in the scalar tail.
  std::vector<float> edge = {0.0f, -1.0f, inf, nan, 4.0f, -inf, 0.0f, 1.0f, 0.0f, inf, nan};
  cpu::inv_sqrt_clamped(edge.data(), static_cast<index_t>(edge.size()), 0.0f);
  CHECK(edge[0] == inf);
  CHECK(edge[1] == inf);  // negative variance clamps to 0
  CHECK(edge[2] == 0.0f);
  CHECK(std::isnan(edge[3]));
  CHECK(edge[4] == 0.5f);
  CHECK(edge[5] == inf);
  CHECK(edge[8] == inf);
  CHECK(edge[9] == 0.0f);
  CHECK(std::isnan(edge[10]));
}

TEST_CASE("running_sum_of_differences equals the scalar running sum") {
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
}
