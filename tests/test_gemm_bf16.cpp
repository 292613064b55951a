// bf16 products (core/matmul_precision.hpp): the rounding to bfloat16, and cpu::gemm / gemm_packed with
// bf16 operands against a naive loop in double over the same rounded operands. The kernel cases need
// a CPU with AVX512-BF16 and are skipped (with a warning) elsewhere.
#include <cstring>

#include "test_util.hpp"
#include "tlc/core/matmul_precision.hpp"
#include "tlc/ops/cpu/gemm.hpp"

using namespace tlc;
using cpu::gemm_detail::bf16_bits;

namespace {

float from_bits(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

float bf16_value(float x) { return from_bits(static_cast<std::uint32_t>(bf16_bits(x)) << 16); }

std::vector<float> random_floats(index_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(count));
  for (auto& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// C = alpha * op(A) op(B) + bias[i] + beta * C in double over A and B rounded to bf16.
std::vector<double> naive_bf16(bool ta, bool tb, index_t m, index_t n, index_t k, double alpha, const float* a,
                               index_t lda, const float* b, index_t ldb, double beta, const std::vector<float>& c,
                               index_t ldc, const float* bias) {
  std::vector<double> out(c.begin(), c.end());
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t p = 0; p < k; ++p)
        s += double(bf16_value(ta ? a[p * lda + i] : a[i * lda + p])) *
             double(bf16_value(tb ? b[j * ldb + p] : b[p * ldb + j]));
      out[i * ldc + j] = alpha * s + (bias ? bias[i] : 0.0) + (beta != 0 ? beta * c[i * ldc + j] : 0.0);
    }
  return out;
}

double worst_difference(const std::vector<float>& got, const std::vector<double>& want, index_t m, index_t n,
                        index_t ldc) {
  double worst = 0;
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) worst = std::max(worst, std::abs(double(got[i * ldc + j]) - want[i * ldc + j]));
  return worst;
}

// Whether this CPU runs the bf16 kernel (a warning where it does not).
bool bf16_kernel_here() {
  if (!cpu_has_bf16()) WARN("bf16 kernel not run: this CPU lacks AVX512-BF16");
  return cpu_has_bf16();
}

// AVX-512 kernels for the test's scope; the instruction set and the precision restored at its end.
struct Bf16Scope {
  test::RestorePrecision precision;
  test::RestoreIsa isa;
  Bf16Scope() { set_cpu_isa(CpuIsa::Avx512); }
};

}  // namespace

TEST_CASE("bf16_bits rounds to nearest even like vcvtneps2bf16") {
  CHECK(bf16_bits(1.0f) == 0x3f80);
  CHECK(bf16_bits(-2.0f) == 0xc000);
  CHECK(bf16_bits(from_bits(0x3f808000)) == 0x3f80);  // a tie rounds to the even 0x3f80
  CHECK(bf16_bits(from_bits(0x3f818000)) == 0x3f82);  // a tie rounds to the even 0x3f82
  CHECK(bf16_bits(from_bits(0x3f808001)) == 0x3f81);  // above the tie rounds up
  CHECK(bf16_bits(from_bits(0x3f807fff)) == 0x3f80);  // below the tie rounds down
  CHECK(bf16_bits(from_bits(0x7f7fffff)) == 0x7f80);  // the largest float rounds to infinity
  CHECK(bf16_bits(std::numeric_limits<float>::infinity()) == 0x7f80);
  CHECK(bf16_bits(from_bits(0x00400000)) == 0x0000);  // denormals flush to zero, keeping the sign
  CHECK(bf16_bits(from_bits(0x80000001)) == 0x8000);
  CHECK(std::isnan(bf16_value(std::numeric_limits<float>::quiet_NaN())));
  CHECK(std::isnan(bf16_value(from_bits(0x7f800001))));  // a NaN with only low mantissa bits stays NaN
  CHECK(cpu::gemm_detail::bf16_pair(1.0f, -2.0f) == 0xc0003f80u);
}

TEST_CASE("the matmul precision is checked by name and by CPU") {
  CHECK_THROWS_WITH(parse_matmul_precision("fp16", "--precision"),
                    Catch::Contains("--precision: expected fp32 or bf16, found 'fp16'"));
  CHECK(parse_matmul_precision("fp32", "x") == MatmulPrecision::Fp32);
  if (!cpu_has_bf16()) {
    CHECK_THROWS_WITH(parse_matmul_precision("bf16", "TLC_MATMUL"), Catch::Contains("needs a CPU with AVX512-BF16"));
    CHECK_THROWS_WITH(set_matmul_precision(MatmulPrecision::Bf16), Catch::Contains("needs a CPU with AVX512-BF16"));
    CHECK(matmul_precision() == MatmulPrecision::Fp32);
  }
}

TEST_CASE("gemm with bf16 products equals the products of the rounded operands, summed in fp32") {
  if (!bf16_kernel_here()) return;
  Bf16Scope scope;
  set_matmul_precision(MatmulPrecision::Bf16);
  // Odd depths (a zero-padded last pair), k past one depth block of 256, n with whole panels of 32
  // (the vector packing) and partial ones.
  const index_t sizes[][3] = {{1, 1, 1},    {1, 17, 5},   {7, 1, 3},     {5, 9, 1},       {13, 31, 17},
                              {8, 32, 16},  {9, 64, 33},  {33, 65, 70},  {127, 45, 300},  {64, 300, 513},
                              {150, 129, 31}, {17, 4100, 9}};
  for (auto& s : sizes)
    for (int t = 0; t < 4; ++t)
      for (const float beta : {0.0f, 0.5f}) {
        const bool ta = t & 1, tb = t & 2;
        const index_t m = s[0], n = s[1], k = s[2];
        const index_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
        const auto a = random_floats((ta ? k : m) * lda, 1 + m), b = random_floats((tb ? n : k) * ldb, 2 + n);
        const auto bias = random_floats(m, 4);
        auto c = random_floats(m * ldc, 3 + k);
        const auto want = naive_bf16(ta, tb, m, n, k, 0.75, a.data(), lda, b.data(), ldb, beta, c, ldc, bias.data());
        if (beta == 0)
          for (auto& x : c) x = std::numeric_limits<float>::quiet_NaN();  // beta == 0 never reads C
        cpu::gemm<float>(ta, tb, m, n, k, 0.75f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc, bias.data());
        INFO("ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " beta=" << beta);
        CHECK(worst_difference(c, want, m, n, ldc) <= 2e-6 * double(k + 1));
      }
}

TEST_CASE("bf16 products differ from fp32 ones by the operands' rounding, and only under bf16 with AVX-512") {
  if (!bf16_kernel_here()) return;
  Bf16Scope scope;
  const index_t m = 24, n = 96, k = 200;
  const auto a = random_floats(m * k, 5), b = random_floats(k * n, 6);
  auto product = [&](CpuIsa isa, MatmulPrecision p) {
    set_cpu_isa(isa);
    set_matmul_precision(p);
    std::vector<float> c(static_cast<size_t>(m * n));
    cpu::gemm<float>(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
    return c;
  };
  const auto fp32 = product(CpuIsa::Avx512, MatmulPrecision::Fp32);
  const auto bf16 = product(CpuIsa::Avx512, MatmulPrecision::Bf16);
  double worst = 0;
  for (size_t i = 0; i < fp32.size(); ++i) worst = std::max(worst, double(std::abs(fp32[i] - bf16[i])));
  CHECK(worst > 1e-4);  // the operands were rounded: 8 mantissa bits, not 24
  CHECK(worst < 0.1);   // each product off by at most ~2^-8 relative; sums of 200 terms in [-1, 1]
  CHECK(product(CpuIsa::Avx2, MatmulPrecision::Bf16) == product(CpuIsa::Avx2, MatmulPrecision::Fp32));
}

TEST_CASE("gemm_packed with A packed under bf16 keeps bf16 products after the precision changes") {
  if (!bf16_kernel_here()) return;
  Bf16Scope scope;
  const index_t sizes[][3] = {{1, 1, 1}, {7, 33, 5}, {13, 40, 300}, {64, 70, 513}, {150, 17, 31}};
  for (auto& s : sizes) {
    const index_t m = s[0], n = s[1], k = s[2], lda = k + 3, ldb = n + 1, ldc = n + 2;
    const auto a = random_floats(m * lda, 11), b = random_floats(k * ldb, 12), bias = random_floats(m, 13);
    const auto c0 = random_floats(m * ldc, 14);
    set_matmul_precision(MatmulPrecision::Bf16);
    const cpu::PackedA<float> packed = cpu::pack_gemm_a(m, k, a.data(), lda);
    std::vector<float> want(c0), got(c0);
    cpu::gemm<float>(false, false, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 0.5f, want.data(), ldc, bias.data());
    set_matmul_precision(MatmulPrecision::Fp32);
    cpu::gemm_packed(packed, n, b.data(), ldb, 0.5f, got.data(), ldc, bias.data());
    INFO("m=" << m << " n=" << n << " k=" << k);
    CHECK(packed.precision == MatmulPrecision::Bf16);
    CHECK(got == want);
  }
}
