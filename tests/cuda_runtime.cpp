// The CUDA runtime and allocator (include/tlc/core/cuda_runtime.hpp, cuda_allocator.hpp), and the
// entry points with strides the ops never pass (binary broadcasting, GEMM with padded leading
// dimensions, convolutions with every output overwritten) against naive loops in double. The CPU
// comparison of every entry point is tests/cuda_table.cpp. [gpu] cases are skipped without a device.
#include <cstring>
#include <functional>
#include <string>

#include "cuda_test_util.hpp"

using namespace tlc;
using test::kGpu;
using test::random;

namespace {

// Largest |a - b| / max(1, |b|): relative for large values, absolute near zero.
double max_rel_diff(const std::vector<float>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return m;
}
}  // namespace

TEST_CASE("cuda: without a device, device_count is 0 and CUDA tensors throw DeviceError", "[no-gpu]") {
  CHECK(cuda::device_count() == 0);
  try {
    TensorF::empty({4}, kGpu);
    FAIL("expected a DeviceError");
  } catch (const DeviceError& e) {
    CHECK(std::string(e.what()).find("cuda::allocate") != std::string::npos);
    CHECK(std::string(e.what()).find("found none") != std::string::npos);
  }
}

TEST_CASE("cuda: runtime and device selection", "[gpu]") {
  cuda::set_device(0);
  cuda::synchronize();
  CHECK_THROWS_AS(cuda::set_device(cuda::device_count()), DeviceError);
  CHECK_THROWS_AS(cuda::set_device(-1), DeviceError);
}

TEST_CASE("cuda: Tensor::to, clone, copy_ and fill round trip", "[gpu]") {
  const TensorF a = random<float>({2, 3, 5, 7}, 1);
  const TensorF g = a.to(kGpu);
  CHECK(g.is_cuda());
  CHECK(g.to_vector() == a.to_vector());
  const TensorF c = g.clone();
  CHECK(!c.shares_storage(g));
  CHECK(c.cpu().to_vector() == a.to_vector());
  const TensorF b = random<float>({2, 3, 5, 7}, 2);
  c.copy_(b);  // host to device into an existing tensor
  CHECK(c.to_vector() == b.to_vector());
  CHECK(g.to_vector() == a.to_vector());  // the clone's source is untouched
  const TensorF f = TensorF::full({3, 1000}, 2.5f, kGpu);
  for (float v : f.to_vector()) REQUIRE(v == 2.5f);
  CHECK(TensorF::empty({0}, kGpu).to_vector().empty());
}

TEST_CASE("cuda: caching allocator reuses blocks, tracks the peak and reports out-of-memory", "[gpu]") {
  void* p = cuda::allocate(1000, 0);
  REQUIRE(p != nullptr);
  cuda::deallocate(p, 1000, 0);
  void* q = cuda::allocate(1000, 0);  // same size class: the cached block comes back
  CHECK(q == p);
  cuda::deallocate(q, 1000, 0);

  const std::size_t base = cuda::allocated_bytes();
  cuda::reset_peak_allocated_bytes();
  CHECK(cuda::peak_allocated_bytes() == base);
  const std::size_t bytes = std::size_t(4) << 20;
  {
    const TensorF t = TensorF::zeros({static_cast<index_t>(bytes / sizeof(float))}, kGpu);
    CHECK(cuda::allocated_bytes() >= base + bytes);
  }
  CHECK(cuda::allocated_bytes() == base);
  CHECK(cuda::peak_allocated_bytes() >= base + bytes);
  CHECK(cuda::cached_bytes() >= bytes);
  cuda::empty_cache();
  CHECK(cuda::cached_bytes() == 0);

  const std::size_t absurd = std::size_t(1) << 50;  // 1 PiB
  try {
    cuda::allocate(absurd, 0);
    FAIL("expected a CudaError");
  } catch (const CudaError& e) {
    const std::string what = e.what();
    CHECK(what.find("out of memory") != std::string::npos);
    CHECK(what.find(std::to_string(absurd)) != std::string::npos);
  }
  // The failed request left the allocator usable.
  CHECK(TensorF::ones({16}, kGpu).to_vector() == std::vector<float>(16, 1.0f));
}

TEST_CASE("cuda: broadcasting binary ops match a naive loop", "[gpu]") {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {{{2, 3, 4, 5}, {2, 3, 4, 5}},
                        {{2, 3, 4, 5}, {3, 1, 1}},
                        {{2, 1, 4, 1}, {1, 3, 1, 5}},
                        {{4, 5}, {2, 3, 4, 5}},
                        {{1}, {7, 9}},
                        {{64, 1, 130}, {64, 70, 1}}};
  using Fn = std::function<TensorF(const TensorF&, const TensorF&)>;
  const std::pair<const char*, Fn> ops_list[] = {
      {"add", [](const TensorF& a, const TensorF& b) { return ops::add(a, b); }},
      {"sub", [](const TensorF& a, const TensorF& b) { return ops::sub(a, b); }},
      {"mul", [](const TensorF& a, const TensorF& b) { return ops::mul(a, b); }},
      {"div", [](const TensorF& a, const TensorF& b) { return ops::div(a, b); }}};
  const std::function<double(double, double)> refs[] = {
      [](double a, double b) { return a + b; }, [](double a, double b) { return a - b; },
      [](double a, double b) { return a * b; }, [](double a, double b) { return a / b; }};
  int seed = 0;
  for (const Case& c : cases) {
    const TensorF a = random<float>(c.a, ++seed), b = random<float>(c.b, ++seed, 0.5, 2.0);
    const Shape out = ops::detail::broadcast_shape("test", c.a, c.b);
    const Shape a4 = c.a.as4d(), b4 = c.b.as4d(), o4 = out.as4d();
    for (int k = 0; k < 4; ++k) {
      INFO(ops_list[k].first << " " << c.a.str() << " with " << c.b.str());
      const TensorF y = ops_list[k].second(a.to(kGpu), b.to(kGpu));
      REQUIRE(y.shape() == out);
      std::vector<double> ref;
      for (index_t n = 0; n < o4[0]; ++n)
        for (index_t ch = 0; ch < o4[1]; ++ch)
          for (index_t h = 0; h < o4[2]; ++h)
            for (index_t w = 0; w < o4[3]; ++w) {
              const double va = a.at(a4[0] == 1 ? 0 : n, a4[1] == 1 ? 0 : ch, a4[2] == 1 ? 0 : h, a4[3] == 1 ? 0 : w);
              const double vb = b.at(b4[0] == 1 ? 0 : n, b4[1] == 1 ? 0 : ch, b4[2] == 1 ? 0 : h, b4[3] == 1 ? 0 : w);
              ref.push_back(refs[k](va, vb));
            }
      CHECK(max_rel_diff(y.to_vector(), ref) < 1e-6);
    }
  }
}

namespace {

// C = alpha op(A) op(B) + beta C for row-major matrices with padded leading dimensions, batched.
void check_gemm(bool ta, bool tb, index_t m, index_t n, index_t k, index_t batch, double tol) {
  INFO("gemm ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " batch=" << batch);
  const index_t a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
  const index_t lda = a_cols + 2, ldb = b_cols + 1, ldc = n + 3;
  const index_t sa = a_rows * lda + 5, sb = b_rows * ldb, sc = m * ldc + 1;
  const TensorF A = random<float>({batch * sa}, 21), B = random<float>({batch * sb}, 22);
  const TensorF C = random<float>({batch * sc}, 23);
  const float alpha = 1.5f, beta = 0.5f;
  const TensorF Ag = A.to(kGpu), Bg = B.to(kGpu), Cg = C.to(kGpu);
  cuda::gemm_batched(ta, tb, m, n, k, alpha, Ag.data(), lda, sa, Bg.data(), ldb, sb, beta, Cg.data(), ldc, sc, batch);
  const auto got = Cg.to_vector();
  double worst = 0;
  for (index_t p = 0; p < batch; ++p)
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j) {
        double acc = 0;
        for (index_t l = 0; l < k; ++l) {
          const double av = A.at(p * sa + (ta ? l * lda + i : i * lda + l));
          const double bv = B.at(p * sb + (tb ? j * ldb + l : l * ldb + j));
          acc += av * bv;
        }
        const index_t ci = p * sc + i * ldc + j;
        const double want = alpha * acc + beta * C.at(ci);
        worst = std::max(worst, std::abs(got[static_cast<size_t>(ci)] - want));
      }
  CHECK(worst < tol);
  // Padding between rows and matrices is not written.
  for (index_t p = 0; p < batch; ++p)
    for (index_t i = 0; i < m; ++i)
      for (index_t j = n; j < ldc; ++j)
        REQUIRE(got[static_cast<size_t>(p * sc + i * ldc + j)] == C.at(p * sc + i * ldc + j));
}

}  // namespace

TEST_CASE("cuda: gemm matches a naive loop for every transpose, batched and not", "[gpu]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm(ta, tb, 5, 7, 3, 1, 1e-5);
      check_gemm(ta, tb, 9, 4, 6, 3, 1e-5);
      check_gemm(ta, tb, 130, 70, 96, 2, 1e-4);
    }
  const TensorF a = TensorF::zeros({4}, kGpu);
  CHECK_THROWS_AS(cuda::gemm_batched(false, false, 2, 2, 2, 1, a.data(), 1, 0, a.data(), 2, 0, 0, a.data(), 2, 0, 1),
                  ShapeError);
}

namespace {

// Visits every (output element, weight tap) pair of a convolution with the flat indices of the
// input, weight and output elements involved. All four naive references are built on it.
template <class Visit>
void for_each_tap(const ConvGeom& s, Visit visit) {
  const index_t cin_g = s.cin / s.groups, cout_g = s.cout / s.groups;
  for (index_t n = 0; n < s.n; ++n)
    for (index_t co = 0; co < s.cout; ++co)
      for (index_t oh = 0; oh < s.out_h; ++oh)
        for (index_t ow = 0; ow < s.out_w; ++ow) {
          const index_t yi = ((n * s.cout + co) * s.out_h + oh) * s.out_w + ow;
          for (index_t ci = 0; ci < cin_g; ++ci)
            for (index_t i = 0; i < s.kh; ++i)
              for (index_t j = 0; j < s.kw; ++j) {
                const index_t ih = oh * s.stride_h - s.pad_h + i, iw = ow * s.stride_w - s.pad_w + j;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                const index_t c = (co / cout_g) * cin_g + ci;
                visit(((n * s.cin + c) * s.h + ih) * s.w + iw, ((co * cin_g + ci) * s.kh + i) * s.kw + j, yi);
              }
        }
}

ConvGeom conv_shape(index_t n, index_t cin, index_t h, index_t w, index_t cout, index_t kh, index_t kw,
                           index_t stride, index_t pad, index_t groups) {
  const index_t out_h = (h + 2 * pad - kh) / stride + 1, out_w = (w + 2 * pad - kw) / stride + 1;
  return {n, cin, h, w, cout, kh, kw, stride, stride, pad, pad, groups, out_h, out_w};
}

void check_conv(const ConvGeom& s, double tol = 1e-4) {
  INFO("conv n=" << s.n << " cin=" << s.cin << " " << s.h << "x" << s.w << " cout=" << s.cout << " k=" << s.kh << "x"
                 << s.kw << " stride=" << s.stride_h << " pad=" << s.pad_h << " groups=" << s.groups);
  const TensorF x = random<float>({s.n, s.cin, s.h, s.w}, 31),
                w = random<float>({s.cout, s.cin / s.groups, s.kh, s.kw}, 32);
  const TensorF bias = random<float>({s.cout}, 33), gy = random<float>({s.n, s.cout, s.out_h, s.out_w}, 34);
  std::vector<double> y(static_cast<size_t>(gy.numel())), gx(static_cast<size_t>(x.numel())),
      gw(static_cast<size_t>(w.numel())), gb(static_cast<size_t>(s.cout));
  for (index_t yi = 0; yi < gy.numel(); ++yi) {
    const index_t co = (yi / (s.out_h * s.out_w)) % s.cout;
    y[static_cast<size_t>(yi)] = bias.at(co);
    gb[static_cast<size_t>(co)] += gy.at(yi);
  }
  for_each_tap(s, [&](index_t xi, index_t wi, index_t yi) {
    y[static_cast<size_t>(yi)] += double(x.at(xi)) * w.at(wi);
    gx[static_cast<size_t>(xi)] += double(w.at(wi)) * gy.at(yi);
    gw[static_cast<size_t>(wi)] += double(x.at(xi)) * gy.at(yi);
  });

  const TensorF xg = x.to(kGpu), wg = w.to(kGpu), bg = bias.to(kGpu), gyg = gy.to(kGpu);
  const TensorF y_cuda = TensorF::empty(gy.shape(), kGpu), y_nobias = TensorF::empty(gy.shape(), kGpu);
  const TensorF gx_cuda = TensorF::full(x.shape(), 7.0f, kGpu), gw_cuda = TensorF::full(w.shape(), 7.0f, kGpu);
  const TensorF gb_cuda = TensorF::full(bias.shape(), 7.0f, kGpu);  // non-zero: outputs must be overwritten
  cuda::conv2d_forward(s, xg.data(), wg.data(), bg.data(), y_cuda.data());
  cuda::conv2d_forward(s, xg.data(), wg.data(), nullptr, y_nobias.data());
  cuda::conv2d_backward_data(s, wg.data(), gyg.data(), gx_cuda.data());
  cuda::conv2d_backward_filter(s, xg.data(), gyg.data(), gw_cuda.data());
  cuda::conv2d_backward_bias(s, gyg.data(), gb_cuda.data());
  CHECK(max_rel_diff(y_cuda.to_vector(), y) < tol);
  std::vector<double> y_ref_nobias = y;
  for (size_t i = 0; i < y.size(); ++i)
    y_ref_nobias[i] -= bias.at(static_cast<index_t>(i / static_cast<size_t>(s.out_h * s.out_w)) % s.cout);
  CHECK(max_rel_diff(y_nobias.to_vector(), y_ref_nobias) < tol);
  CHECK(max_rel_diff(gx_cuda.to_vector(), gx) < tol);
  CHECK(max_rel_diff(gw_cuda.to_vector(), gw) < tol);
  CHECK(max_rel_diff(gb_cuda.to_vector(), gb) < tol);
}

}  // namespace

TEST_CASE("cuda: cuDNN conv2d forward and backward match naive loops", "[gpu]") {
  check_conv(conv_shape(2, 3, 9, 7, 4, 3, 3, 1, 1, 1));    // plain 3x3, same padding
  check_conv(conv_shape(1, 4, 11, 10, 6, 5, 3, 2, 0, 1));  // non-square kernel, stride 2, no padding
  check_conv(conv_shape(2, 4, 8, 8, 6, 3, 3, 1, 1, 2));    // two groups
  check_conv(conv_shape(2, 8, 12, 9, 8, 3, 3, 1, 1, 8));   // depthwise
  check_conv(conv_shape(3, 16, 6, 5, 32, 1, 1, 1, 0, 1));  // 1x1
  check_conv(conv_shape(2, 3, 9, 7, 4, 3, 3, 1, 1, 1));    // the first shape again: its cached plan
}

TEST_CASE("cuda: conv2d rejects inconsistent shapes with a ShapeError", "[gpu]") {
  const TensorF buf = TensorF::zeros({4096}, kGpu);
  ConvGeom s = conv_shape(1, 4, 8, 8, 4, 3, 3, 1, 1, 1);
  s.out_h = 7;  // should be 8
  CHECK_THROWS_AS(cuda::conv2d_forward(s, buf.data(), buf.data(), nullptr, buf.data()), ShapeError);
  s = conv_shape(1, 4, 8, 8, 6, 3, 3, 1, 1, 4);  // 6 output channels do not split into 4 groups
  CHECK_THROWS_AS(cuda::conv2d_forward(s, buf.data(), buf.data(), nullptr, buf.data()), ShapeError);
}

TEST_CASE("cuda: TF32 mode stays within TF32 accuracy", "[gpu]") {
  struct Tf32On {  // restores strict FP32 for the other cases even when a check throws
    Tf32On() { cuda::set_allow_tf32(true); }
    ~Tf32On() { cuda::set_allow_tf32(false); }
  } on;
  CHECK(cuda::allow_tf32());
  check_gemm(false, true, 128, 96, 256, 1, 0.1);  // 256 products of |v| < 1 with a 2^-11 mantissa
  check_conv(conv_shape(2, 16, 12, 12, 16, 3, 3, 1, 1, 1), 2e-2);
}
