// cpu::gemm and cpu::gemm_batched against a naive triple loop, with every instruction set this CPU
// supports (the kernel is chosen at run time: core/cpu_isa.hpp).
#include "test_util.hpp"
#include "tlc/ops/cpu/gemm.hpp"

using namespace tlc;
using tlc::test::for_each_isa;

namespace {

std::vector<double> random_values(index_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(count));
  for (auto& x : v) x = rng.uniform(-1.0, 1.0);
  return v;
}

// C = alpha * op(A) op(B) + beta * C with the obvious loops, in double.
void naive_gemm(bool ta, bool tb, index_t m, index_t n, index_t k, double alpha, const double* a, index_t lda,
                const double* b, index_t ldb, double beta, double* c, index_t ldc) {
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t p = 0; p < k; ++p)
        s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
    }
}

// Runs one case in T with padded leading dimensions and compares to the naive result.
template <class T>
void check_case(bool ta, bool tb, index_t m, index_t n, index_t k, double alpha, double beta, index_t batch = 1) {
  const index_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
  const index_t sa = (ta ? k : m) * lda + 5, sb = (tb ? n : k) * ldb + 7, sc = m * ldc + 1;
  const auto a = random_values(sa * batch, 1 + m), b = random_values(sb * batch, 2 + n);
  auto c = random_values(sc * batch, 3 + k);
  std::vector<T> at(a.begin(), a.end()), bt(b.begin(), b.end()), ct(c.begin(), c.end());
  if (beta == 0)  // beta == 0 must ignore C entirely, even NaN
    for (auto& x : ct) x = std::numeric_limits<T>::quiet_NaN();
  for (index_t i = 0; i < batch; ++i)
    naive_gemm(ta, tb, m, n, k, alpha, a.data() + i * sa, lda, b.data() + i * sb, ldb, beta, c.data() + i * sc, ldc);
  if (batch == 1)
    cpu::gemm<T>(ta, tb, m, n, k, T(alpha), at.data(), lda, bt.data(), ldb, T(beta), ct.data(), ldc);
  else
    cpu::gemm_batched<T>(ta, tb, m, n, k, T(alpha), at.data(), lda, sa, bt.data(), ldb, sb, T(beta), ct.data(), ldc, sc,
                         batch);
  const double tol = (std::is_same_v<T, float> ? 2e-6 : 1e-13) * double(k + 1);
  double worst = 0;
  for (index_t bi = 0; bi < batch; ++bi)
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j) {
        const size_t at_ = static_cast<size_t>(bi * sc + i * ldc + j);
        worst = std::max(worst, std::abs(double(ct[at_]) - c[at_]));
      }
  INFO("T=" << dtype_name<T>() << " ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k
            << " alpha=" << alpha << " beta=" << beta << " batch=" << batch);
  CHECK(worst <= tol);
  // Padding between rows (past column n) must be untouched.
  if (beta != 0)
    for (index_t i = 0; i < m; ++i)
      CHECK(double(ct[static_cast<size_t>(i * ldc + n)]) == double(T(c[static_cast<size_t>(i * ldc + n)])));
}

}  // namespace

TEST_CASE("gemm matches a naive loop over sizes and transposes (float), with every supported ISA") {
  const index_t sizes[][3] = {{1, 1, 1},   {1, 17, 5},   {7, 1, 3},      {5, 9, 1},      {13, 31, 17},  {6, 16, 8},
                              {8, 32, 16}, {33, 65, 70}, {127, 45, 300}, {64, 300, 513}, {150, 129, 31}};
  for_each_isa([&] {
    for (auto& s : sizes)
      for (int t = 0; t < 4; ++t) check_case<float>(t & 1, t & 2, s[0], s[1], s[2], 1.0, 0.0);
  });
  if (cpu_isa_supported() != CpuIsa::Avx512) WARN("avx512 kernel not run: this CPU lacks AVX-512F");
}

TEST_CASE("the instruction set is chosen at run time, and one the CPU lacks is refused") {
  CHECK(static_cast<int>(cpu_isa()) <= static_cast<int>(cpu_isa_supported()));
  if (cpu_isa_supported() != CpuIsa::Avx512) {
    CHECK_THROWS_WITH(set_cpu_isa(CpuIsa::Avx512), Catch::Contains("this CPU does not support avx512"));
    CHECK(cpu_isa() != CpuIsa::Avx512);
  }
  CHECK_THROWS_WITH(detail::parse_isa("sse9"), Catch::Contains("expected scalar, avx2 or avx512"));
}

TEST_CASE("gemm applies alpha and beta (float and double)") {
  for_each_isa([] {
    for (int t = 0; t < 4; ++t) {
      check_case<float>(t & 1, t & 2, 19, 37, 290, 0.5, 1.0);
      check_case<float>(t & 1, t & 2, 9, 70, 11, -2.0, 0.25);
      check_case<double>(t & 1, t & 2, 23, 41, 270, 1.5, -0.5);
      check_case<double>(t & 1, t & 2, 3, 5, 7, 1.0, 0.0);
    }
    check_case<float>(false, false, 4, 5, 6, 0.0, 0.5);  // alpha == 0 only scales C
    check_case<float>(false, false, 4, 5, 0, 1.0, 2.0);  // k == 0 likewise
  });
}

TEST_CASE("gemm handles a wide matrix that spans several column blocks") {
  check_case<float>(false, false, 10, 5000, 40, 1.0, 0.0);
  check_case<float>(true, true, 24, 4200, 300, 1.0, 1.0);
}

TEST_CASE("gemm_batched matches per-item loops, serial and parallel over the batch") {
  for (int t = 0; t < 4; ++t) {
    check_case<float>(t & 1, t & 2, 11, 23, 19, 1.0, 0.0, 3);
    check_case<float>(t & 1, t & 2, 5, 7, 9, 0.5, 1.0, 9);
    check_case<double>(t & 1, t & 2, 6, 13, 4, 1.0, 0.5, 5);
  }
}

TEST_CASE("gemm adds a per-row bias in its store, with and without beta, across k blocks") {
  for_each_isa([] {
    for (index_t k : {index_t(0), index_t(5), index_t(300)})  // 300 > KC: the bias must be added once
      for (double beta : {0.0, 0.5}) {
        const index_t m = 19, n = 45, ldc = n + 2;
        const auto a = random_values(m * k + 1, 4), b = random_values(k * n + 1, 5), bias = random_values(m, 6);
        auto c = random_values(m * ldc, 7);
        std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), biasf(bias.begin(), bias.end()),
            cf(c.begin(), c.end());
        naive_gemm(false, false, m, n, k, 1.5, a.data(), k, b.data(), n, beta, c.data(), ldc);
        cpu::gemm<float>(false, false, m, n, k, 1.5f, af.data(), k, bf.data(), n, float(beta), cf.data(), ldc,
                         biasf.data());
        double worst = 0;
        for (index_t i = 0; i < m; ++i)
          for (index_t j = 0; j < n; ++j)
            worst = std::max(worst,
                             std::abs(double(cf[size_t(i * ldc + j)]) - (c[size_t(i * ldc + j)] + bias[size_t(i)])));
        INFO("k=" << k << " beta=" << beta);
        CHECK(worst <= 2e-6 * double(k + 1));
      }
  });
}

TEST_CASE("gemm_packed with A packed once equals gemm, also when the instruction set changes in between") {
  const index_t sizes[][3] = {{1, 1, 1}, {7, 33, 5}, {13, 40, 300}, {64, 70, 513}, {150, 17, 31}};
  for (auto& s : sizes) {
    const index_t m = s[0], n = s[1], k = s[2], lda = k + 3, ldb = n + 1, ldc = n + 2;
    const auto a = random_values(m * lda, 11), b = random_values(k * ldb, 12), bias = random_values(m, 13);
    const auto c0 = random_values(m * ldc, 14);
    std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), biasf(bias.begin(), bias.end());
    for (const float beta : {0.0f, 0.5f}) {
      std::vector<float> want(c0.begin(), c0.end());
      cpu::gemm<float>(false, false, m, n, k, 1.0f, af.data(), lda, bf.data(), ldb, beta, want.data(), ldc, biasf.data());
      for_each_isa([&] {
        const cpu::PackedA<float> packed = cpu::pack_gemm_a(m, k, af.data(), lda);
        for_each_isa([&] {  // gemm_packed multiplies with the kernel it was packed for
          std::vector<float> got(c0.begin(), c0.end());
          cpu::gemm_packed(packed, n, bf.data(), ldb, beta, got.data(), ldc, biasf.data());
          double worst = 0;
          for (index_t i = 0; i < m; ++i)
            for (index_t j = 0; j < n; ++j)
              worst = std::max(worst, std::abs(double(got[i * ldc + j]) - want[i * ldc + j]));
          INFO("m=" << m << " n=" << n << " k=" << k << " beta=" << beta << " packed for " << isa_name(packed.isa));
          CHECK(worst <= 2e-6 * double(k + 1));
        });
      });
    }
  }
}
