// conv2d and conv_transpose2d: forward and both gradients against naive loops, gradchecks in
// double for each code path (im2col, 1x1, depthwise, grouped, transposed), argument errors.
#include "test_util.hpp"
#include "tlc/ops/conv.hpp"
#include "tlc/ops/cpu/conv_cpu.hpp"

using namespace tlc;
using test::check_gradients;
using test::random;

namespace {

struct Naive {
  std::vector<double> y, gx, gw;
};

// conv2d forward, and its input and filter gradients for output gradient gy, with plain loops.
template <class T>
Naive naive_conv(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias, const ops::Conv2dParams& p,
                 const Tensor<T>& gy) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const index_t O = w.size(0), CG = w.size(1), KH = w.size(2), KW = w.size(3), OG = O / p.groups;
  const index_t OH = gy.size(2), OW = gy.size(3);
  Naive r{std::vector<double>(static_cast<size_t>(N * O * OH * OW)),
          std::vector<double>(static_cast<size_t>(x.numel())), std::vector<double>(static_cast<size_t>(w.numel()))};
  for (index_t n = 0; n < N; ++n)
    for (index_t o = 0; o < O; ++o)
      for (index_t oh = 0; oh < OH; ++oh)
        for (index_t ow = 0; ow < OW; ++ow) {
          const size_t yi = static_cast<size_t>(((n * O + o) * OH + oh) * OW + ow);
          double s = bias.defined() ? double(bias.at(o)) : 0.0;
          const double g = double(gy.data()[yi]);
          for (index_t cg = 0; cg < CG; ++cg)
            for (index_t i = 0; i < KH; ++i)
              for (index_t j = 0; j < KW; ++j) {
                const index_t ih = oh * p.stride_h - p.pad_h + i, iw = ow * p.stride_w - p.pad_w + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const index_t c = (o / OG) * CG + cg;
                const size_t xi = static_cast<size_t>(((n * C + c) * H + ih) * W + iw);
                const size_t wi = static_cast<size_t>(((o * CG + cg) * KH + i) * KW + j);
                s += double(x.data()[xi]) * double(w.data()[wi]);
                r.gx[xi] += double(w.data()[wi]) * g;
                r.gw[wi] += double(x.data()[xi]) * g;
              }
          r.y[yi] = s;
        }
  return r;
}

template <class T>
double max_diff(const Tensor<T>& t, const std::vector<double>& ref) {
  REQUIRE(static_cast<size_t>(t.numel()) == ref.size());
  double m = 0;
  for (size_t i = 0; i < ref.size(); ++i) m = std::max(m, std::abs(double(t.data()[i]) - ref[i]));
  return m;
}

// Forward, input gradient and filter gradient of ops::conv2d (through autograd) vs the naive loops.
template <class T>
void check_conv(index_t n, index_t cin, index_t h, index_t w, index_t cout, index_t kh, index_t kw,
                const ops::Conv2dParams& p, bool with_bias, double tol) {
  INFO("n=" << n << " cin=" << cin << " " << h << "x" << w << " cout=" << cout << " k=" << kh << "x" << kw
            << " s=" << p.stride_h << "x" << p.stride_w << " p=" << p.pad_h << "x" << p.pad_w << " groups=" << p.groups
            << " bias=" << with_bias << " T=" << dtype_name<T>());
  const std::uint64_t seed = static_cast<std::uint64_t>(cin * 131 + kh * 17 + p.stride_h * 7 + p.pad_h + p.groups);
  Tensor<T> x = random<T>({n, cin, h, w}, seed), wt = random<T>({cout, cin / p.groups, kh, kw}, seed + 1);
  Tensor<T> b = with_bias ? random<T>({cout}, seed + 2) : Tensor<T>();
  x.requires_grad_();
  wt.requires_grad_();
  if (with_bias) b.requires_grad_();
  Tensor<T> y = ops::conv2d(x, wt, b, p);
  const index_t oh = (h + 2 * p.pad_h - kh) / p.stride_h + 1, ow = (w + 2 * p.pad_w - kw) / p.stride_w + 1;
  REQUIRE(y.shape() == Shape{n, cout, oh, ow});
  Tensor<T> gy = random<T>(y.shape(), seed + 3);
  const Naive ref = naive_conv(x, wt, b, p, gy);
  CHECK(max_diff(y, ref.y) < tol);
  autograd::backward(y, gy);
  CHECK(max_diff(x.grad(), ref.gx) < tol);
  CHECK(max_diff(wt.grad(), ref.gw) < tol * 10);  // sums over the whole batch and plane
  if (with_bias) {
    std::vector<double> gb(static_cast<size_t>(cout));
    for (index_t i = 0; i < gy.numel(); ++i) gb[static_cast<size_t>((i / (oh * ow)) % cout)] += double(gy.data()[i]);
    CHECK(max_diff(b.grad(), gb) < tol * 10);
  }
}

// Asserts that f throws an Error whose message names the op and says what was expected and found.
template <class F>
void check_error(F&& f, const char* op) {
  try {
    f();
    FAIL("expected a tlc::Error from " << op);
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(op) != std::string::npos);
    CHECK(msg.find("expected") != std::string::npos);
    CHECK(msg.find("found") != std::string::npos);
  }
}

// conv2d's forward (the GEMM gathering its columns from the image, cpu::ConvColumns) against the
// columns written out by im2col and multiplied by cpu::gemm: the same packed panels, so the same bits.
void check_gathered_columns(index_t cin, index_t h, index_t w, index_t cout, index_t k, const ops::Conv2dParams& p) {
  INFO("cin=" << cin << " " << h << "x" << w << " cout=" << cout << " k=" << k << " s=" << p.stride_h
                << " p=" << p.pad_h << " groups=" << p.groups);
  const TensorF x = random<float>({1, cin, h, w}, 5), wt = random<float>({cout, cin / p.groups, k, k}, 6);
  const TensorF b = random<float>({cout}, 7);
  const TensorF y = ops::conv2d(x, wt, b, p);
  const ConvGeom g{1, cin, h, w, cout, k, k, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.groups, y.size(2), y.size(3)};
  const index_t P = g.out_plane(), K = g.k_g();
  std::vector<float> col(static_cast<size_t>(K * P)), want(static_cast<size_t>(cout * P));
  for (index_t gi = 0; gi < g.groups; ++gi) {
    cpu::conv_detail::im2col(g, x.data() + gi * g.cin_g() * h * w, 0, P, col.data());
    cpu::gemm<float>(false, false, g.cout_g(), P, K, 1.0f, wt.data() + gi * g.cout_g() * K, K, col.data(), P, 0.0f,
                     want.data() + gi * g.cout_g() * P, P, b.data() + gi * g.cout_g());
  }
  CHECK(y.to_vector() == want);
}

}  // namespace

TEST_CASE("conv2d forward and gradients match naive loops over kernels, strides, paddings, groups") {
  for (index_t k : {1, 2, 3, 4, 7})
    for (index_t s : {1, 2})
      for (index_t pad : {index_t(0), index_t(1), k / 2 + 1})
        for (int kind = 0; kind < 3; ++kind) {  // groups 1, 2, depthwise
          const index_t cin = 4, groups = kind == 0 ? 1 : kind == 1 ? 2 : cin, cout = kind == 2 ? cin : 6;
          const bool bias = (k + s + pad) % 2 == 0;
          check_conv<float>(kind == 1 ? 1 : 3, cin, 9, 11, cout, k, k, {s, s, pad, pad, groups}, bias, 1e-4);
        }
}

TEST_CASE("conv2d covers rectangular kernels, unequal strides and paddings, and double") {
  check_conv<float>(2, 3, 10, 7, 5, 3, 1, {2, 1, 1, 0, 1}, true, 1e-4);
  check_conv<float>(1, 6, 8, 13, 6, 1, 5, {1, 3, 0, 2, 6}, false, 1e-4);
  check_conv<double>(2, 4, 7, 9, 4, 2, 3, {1, 2, 1, 1, 2}, true, 1e-11);
  check_conv<double>(3, 8, 5, 5, 16, 1, 1, {1, 1, 0, 0, 1}, true, 1e-11);
  check_conv<float>(2, 8, 6, 6, 8, 1, 1, {2, 2, 0, 0, 1}, false, 1e-4);  // strided 1x1: not a plain GEMM
}

TEST_CASE("conv2d's fused 3x3 depthwise path handles maps one and two pixels wide or high, and every row length") {
  // Widths: no interior, runs of 1, one run of 8, two overlapping runs of 8, 16-runs with an overlapping last one.
  for (index_t h : {1, 2, 5})
    for (index_t w : {1, 2, 3, 9, 10, 17, 18, 40})
      check_conv<float>(2, 3, h, w, 3, 3, 3, {1, 1, 1, 1, 3}, (h + w) % 2 == 0, 1e-4);
  check_conv<double>(1, 2, 4, 6, 2, 3, 3, {1, 1, 1, 1, 2}, true, 1e-11);
}

TEST_CASE("conv2d handles deep filters: gradient column chunks across rows, forward depth blocks") {
  // k_g = 64 * 49 = 3136 rows: the gradients' bounded im2col buffer holds a few hundred of the 900
  // columns; the forward's GEMM gathers its columns in depth blocks of 256.
  check_conv<float>(1, 64, 30, 30, 4, 7, 7, {1, 1, 3, 3, 1}, true, 2e-3);
  check_conv<float>(2, 64, 29, 31, 3, 7, 7, {2, 1, 3, 2, 1}, false, 2e-3);
}

TEST_CASE("conv2d's columns gathered by the GEMM equal im2col's, bit for bit, on every kernel") {
  test::RestorePrecision restore;
  std::vector<MatmulPrecision> precisions{MatmulPrecision::Fp32};
  if (cpu_has_bf16()) precisions.push_back(MatmulPrecision::Bf16);
  for (MatmulPrecision precision : precisions) {
    set_matmul_precision(precision);
    INFO("precision " << (precision == MatmulPrecision::Bf16 ? "bf16" : "fp32"));
    test::for_each_isa([] {
      check_gathered_columns(3, 37, 70, 16, 3, {1, 1, 1, 1, 1});   // panels crossing output rows
      check_gathered_columns(32, 9, 45, 20, 3, {1, 1, 1, 1, 1});   // depth 288: two depth blocks
      check_gathered_columns(6, 17, 19, 9, 4, {2, 2, 1, 1, 1});    // strided, maps narrower than a panel
      check_gathered_columns(4, 10, 150, 8, 2, {2, 2, 0, 0, 1});   // strided, whole panels (NAFNet's downsampling)
      check_gathered_columns(8, 6, 5, 8, 3, {1, 1, 2, 2, 2});      // groups, padding beyond the taps
      check_gathered_columns(4, 1, 1, 5, 3, {1, 1, 1, 1, 1});      // one pixel
    });
  }
}

TEST_CASE("conv2d gradients pass gradcheck for each code path") {
  const struct {
    index_t cin, cout, k, s, p, g;
    bool bias;
  } cases[] = {{3, 4, 3, 1, 1, 1, true},  {4, 6, 2, 2, 0, 2, false}, {3, 5, 1, 1, 0, 1, true},
               {2, 3, 1, 2, 0, 1, false}, {4, 4, 3, 2, 1, 4, true},  {3, 3, 5, 1, 2, 3, false}};
  for (const auto& c : cases) {
    INFO("cin=" << c.cin << " cout=" << c.cout << " k=" << c.k << " s=" << c.s << " p=" << c.p << " g=" << c.g);
    const ops::Conv2dParams p{c.s, c.s, c.p, c.p, c.g};
    const TensorD x = random({2, c.cin, 5, 6}, 11), w = random({c.cout, c.cin / c.g, c.k, c.k}, 12);
    const std::vector<TensorD> in =
        c.bias ? std::vector<TensorD>{x, w, random({c.cout}, 13)} : std::vector<TensorD>{x, w};
    check_gradients(
        [&](const std::vector<TensorD>& t) { return ops::conv2d(t[0], t[1], c.bias ? t[2] : TensorD(), p); }, in);
  }
}

TEST_CASE("conv_transpose2d matches a naive scatter loop and is conv2d's adjoint") {
  const struct {
    index_t cin, cout, k, s, p, g;
  } cases[] = {{4, 6, 2, 2, 0, 1}, {3, 5, 3, 2, 1, 1}, {4, 6, 4, 2, 1, 2}, {4, 4, 3, 1, 1, 4}, {2, 3, 1, 1, 0, 1}};
  for (const auto& c : cases) {
    INFO("cin=" << c.cin << " cout=" << c.cout << " k=" << c.k << " s=" << c.s << " p=" << c.p << " g=" << c.g);
    const index_t N = 2, H = 5, W = 7, CG = c.cout / c.g, IG = c.cin / c.g;
    TensorF x = random<float>({N, c.cin, H, W}, 21), w = random<float>({c.cin, CG, c.k, c.k}, 22),
            b = random<float>({c.cout}, 23);
    TensorF y = ops::conv_transpose2d(x, w, b, c.s, c.p, c.g);
    const index_t OH = (H - 1) * c.s - 2 * c.p + c.k, OW = (W - 1) * c.s - 2 * c.p + c.k;
    REQUIRE(y.shape() == Shape{N, c.cout, OH, OW});
    std::vector<double> ref(static_cast<size_t>(y.numel()));
    for (index_t i = 0; i < y.numel(); ++i) ref[static_cast<size_t>(i)] = b.at((i / (OH * OW)) % c.cout);
    for (index_t n = 0; n < N; ++n)
      for (index_t ci = 0; ci < c.cin; ++ci)
        for (index_t h = 0; h < H; ++h)
          for (index_t wi = 0; wi < W; ++wi)
            for (index_t og = 0; og < CG; ++og)
              for (index_t i = 0; i < c.k; ++i)
                for (index_t j = 0; j < c.k; ++j) {
                  const index_t oh = h * c.s - c.p + i, ow = wi * c.s - c.p + j, o = (ci / IG) * CG + og;
                  if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                  ref[static_cast<size_t>(((n * c.cout + o) * OH + oh) * OW + ow)] +=
                      double(x.at(n, ci, h, wi)) * double(w.at(ci, og, i, j));
                }
    CHECK(max_diff(y, ref) < 1e-4);
  }
}

TEST_CASE("conv_transpose2d gradients pass gradcheck") {
  const struct {
    index_t cin, cout, k, s, p, g;
    bool bias;
  } cases[] = {{3, 4, 2, 2, 0, 1, true}, {2, 3, 3, 2, 1, 1, false}, {4, 2, 4, 2, 1, 2, true}, {3, 3, 3, 1, 1, 3, true}};
  for (const auto& c : cases) {
    INFO("cin=" << c.cin << " cout=" << c.cout << " k=" << c.k << " s=" << c.s << " p=" << c.p << " g=" << c.g);
    const TensorD x = random({2, c.cin, 3, 4}, 31), w = random({c.cin, c.cout / c.g, c.k, c.k}, 32);
    const std::vector<TensorD> in =
        c.bias ? std::vector<TensorD>{x, w, random({c.cout}, 33)} : std::vector<TensorD>{x, w};
    check_gradients(
        [&](const std::vector<TensorD>& t) {
          return ops::conv_transpose2d(t[0], t[1], c.bias ? t[2] : TensorD(), c.s, c.p, c.g);
        },
        in);
  }
}

TEST_CASE("conv2d and conv_transpose2d reject bad shapes with named errors") {
  const TensorF x = TensorF::zeros({1, 4, 8, 8});
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 3, 3, 3})); }, "conv2d");  // wrong channel count
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 1, 3, 3}), {}, {1, 1, 0, 0, 3}); }, "conv2d");  // 3 !| 4
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 4, 3})); }, "conv2d");                          // weight rank
  check_error([&] { ops::conv2d(TensorF::zeros({4, 8, 8}), TensorF::zeros({6, 4, 3, 3})); }, "conv2d");
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 4, 3, 3}), TensorF::zeros({5})); }, "conv2d");  // bias size
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 4, 9, 9})); }, "conv2d");                       // kernel > input
  check_error([&] { ops::conv2d(x, TensorF::zeros({6, 4, 3, 3}), {}, {0, 1, 0, 0, 1}); }, "conv2d");  // stride 0
  check_error([&] { ops::conv_transpose2d(x, TensorF::zeros({3, 2, 2, 2}), {}, 2); }, "conv_transpose2d");
  check_error(
      [&] {
        ops::conv_transpose2d(x, TensorF::zeros({4, 2, 2, 2}), TensorF::zeros({3}), 2);
      },
      "conv_transpose2d");
  check_error([&] { ops::conv_transpose2d(x, TensorF::zeros({4, 2, 2, 2}), {}, 2, 0, 3); }, "conv_transpose2d");
}
