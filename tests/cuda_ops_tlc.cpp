// The CUDA paths of layer_norm2d, the gates, the local (TLC) ops and group / instance norm against
// the CPU ops on random inputs: outputs and, through autograd, every input gradient. Skipped
// without a GPU.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"

using namespace tlc;
using test::kGpu;
using test::random;
using test::scaled_diff;

namespace {

// CPU vs CUDA, outputs and input gradients, relative to the CPU values' scale (NaN must match).
void check_op(const std::string& what, const test::OpFn& f, const std::vector<TensorF>& inputs, double tol = 1e-5) {
  test::check_op(what, f, inputs, tol, scaled_diff);
}

std::string shape_str(const Shape& s, index_t kh, index_t kw) {
  return s.str() + " window " + std::to_string(kh) + "x" + std::to_string(kw);
}

// Maps of odd and even sizes, a single pixel, and windows of 1, even, odd, one axis covering the
// map and both larger than the map.
const std::vector<Shape> kMaps = {{2, 3, 7, 9}, {1, 2, 13, 6}, {1, 1, 1, 1}, {2, 1, 16, 17}, {1, 2, 1, 11}};
const std::vector<std::pair<index_t, index_t>> kWindows = {{1, 1},   {3, 3},   {2, 4},    {5, 2},
                                                            {100, 3}, {4, 100}, {100, 100}};

// Integers in {0, 1, 2}: many equal values in every window, so the arg-max tie-breaking decides
// where the max's gradient goes.
TensorF with_ties(const Shape& s, std::uint64_t seed) {
  std::vector<float> v = random<float>(s, seed, 0.0, 3.0).to_vector();
  for (float& a : v) a = std::floor(a);
  return TensorF::from_vector(s, v);
}

}  // namespace

TEST_CASE("cuda tlc ops: layer_norm2d matches the CPU, WithBias and BiasFree") {
  TLC_SKIP_WITHOUT_GPU();
  // The last shape has more pixels than one reduction chunk (2^14) for the parameter gradients.
  for (const Shape& s : std::vector<Shape>{{2, 5, 7, 9}, {1, 3, 1, 1}, {3, 32, 8, 8}, {2, 4, 100, 90}}) {
    const TensorF x = random<float>(s, 1, -2.0, 3.0), w = random<float>({s[1]}, 2), b = random<float>({s[1]}, 3);
    check_op("WithBias " + s.str(), [](const std::vector<TensorF>& v) { return ops::layer_norm2d(v[0], v[1], v[2]); },
             {x, w, b});
    check_op("BiasFree " + s.str(), [](const std::vector<TensorF>& v) {
      return ops::layer_norm2d(v[0], v[1], TensorF(), 1e-5, ops::LayerNormKind::BiasFree);
    }, {x, w});
  }
  // A large common offset: the two-pass statistics keep the normalisation accurate on both sides.
  check_op("offset 100", [](const std::vector<TensorF>& v) { return ops::layer_norm2d(v[0], v[1], v[2]); },
           {random<float>({2, 16, 5, 5}, 4, 99.0, 101.0), random<float>({16}, 5), random<float>({16}, 6)}, 1e-4);
}

TEST_CASE("cuda tlc ops: simple_gate and gelu_gate match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  for (const Shape& s : std::vector<Shape>{{2, 6, 5, 7}, {1, 2, 1, 1}, {3, 64, 9, 11}, {5, 4}}) {
    const TensorF x = random<float>(s, 11, -3.0, 3.0);
    check_op("simple_gate " + s.str(), [](const std::vector<TensorF>& v) { return ops::simple_gate(v[0]); }, {x});
    check_op("gelu_gate " + s.str(), [](const std::vector<TensorF>& v) { return ops::gelu_gate(v[0]); }, {x});
  }
}

TEST_CASE("cuda tlc ops: local_mean, local_mean_valid and local_expand match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  std::uint64_t seed = 20;
  for (const Shape& s : kMaps)
    for (const auto& [kh, kw] : kWindows) {
      const TensorF x = random<float>(s, ++seed, -2.0, 2.0);
      check_op("local_mean " + shape_str(s, kh, kw),
               [kh = kh, kw = kw](const std::vector<TensorF>& v) { return ops::local_mean(v[0], kh, kw); }, {x});
      check_op("local_mean_valid " + shape_str(s, kh, kw),
               [kh = kh, kw = kw](const std::vector<TensorF>& v) { return ops::local_mean_valid(v[0], kh, kw); }, {x});
      const index_t hv = s[2] - std::min(kh, s[2]) + 1, wv = s[3] - std::min(kw, s[3]) + 1;
      check_op("local_expand " + shape_str(s, kh, kw),
               [&s, kh = kh, kw = kw](const std::vector<TensorF>& v) {
                 return ops::local_expand(v[0], s[2], s[3], kh, kw);
               },
               {random<float>({s[0], s[1], hv, wv}, ++seed)});
    }
  // A large map: long running sums along both axes.
  check_op("local_mean 1x3x150x170 window 37x52",
           [](const std::vector<TensorF>& v) { return ops::local_mean(v[0], 37, 52); },
           {random<float>({1, 3, 150, 170}, 30, 5.0, 7.0)});
}

TEST_CASE("cuda tlc ops: local_max and local_max_valid match the CPU, ties and NaN included") {
  TLC_SKIP_WITHOUT_GPU();
  std::uint64_t seed = 40;
  for (const Shape& s : kMaps)
    for (const auto& [kh, kw] : kWindows)
      for (bool ties : {false, true}) {
        const TensorF x = ties ? with_ties(s, ++seed) : random<float>(s, ++seed, -2.0, 2.0);
        const std::string what = shape_str(s, kh, kw) + (ties ? " with ties" : "");
        check_op("local_max " + what,
                 [kh = kh, kw = kw](const std::vector<TensorF>& v) { return ops::local_max(v[0], kh, kw); }, {x});
        check_op("local_max_valid " + what,
                 [kh = kh, kw = kw](const std::vector<TensorF>& v) { return ops::local_max_valid(v[0], kh, kw); }, {x});
      }
  // A NaN propagates to every window that holds it (the comparison fails on a NaN mismatch).
  std::vector<float> v = random<float>({1, 2, 9, 8}, 50).to_vector();
  v[20] = std::numeric_limits<float>::quiet_NaN();
  const TensorF x = TensorF::from_vector({1, 2, 9, 8}, v);
  const TensorF yc = ops::local_max(x, 3, 4), yg = ops::local_max(x.to(kGpu), 3, 4);
  CHECK(scaled_diff(yg, yc) <= 1e-6);
}

TEST_CASE("cuda tlc ops: group_norm and instance_norm match the CPU, global and local") {
  TLC_SKIP_WITHOUT_GPU();
  using ops::Window;
  struct Case {
    Shape s;
    index_t groups;
    Window win;
  };
  const std::vector<Case> cases = {
      {{2, 6, 7, 9}, 3, {}},           {{2, 6, 7, 9}, 3, {3, 3}},        {{2, 6, 7, 9}, 6, {2, 4}},
      {{1, 4, 13, 6}, 1, {5, 2}},      {{1, 4, 13, 6}, 2, {13, 3}},      {{1, 4, 13, 6}, 4, {100, 100}},
      {{2, 2, 1, 11}, 2, {1, 4}},      {{1, 3, 1, 1}, 3, {}},            {{2, 4, 10, 12}, 2, {1, 1}},
      {{2, 4, 96, 96}, 1, {}},         {{1, 8, 64, 80}, 2, {17, 24}},
  };
  std::uint64_t seed = 60;
  for (const Case& c : cases) {
    const TensorF x = random<float>(c.s, ++seed, -2.0, 3.0);
    const TensorF w = random<float>({c.s[1]}, ++seed, 0.5, 1.5), b = random<float>({c.s[1]}, ++seed);
    const std::string what = shape_str(c.s, c.win.kh, c.win.kw) + " groups " + std::to_string(c.groups);
    check_op("affine " + what, [&c](const std::vector<TensorF>& v) {
      return ops::group_norm(v[0], c.groups, v[1], v[2], 1e-5, c.win);
    }, {x, w, b}, 1e-4);
    check_op("no affine " + what, [&c](const std::vector<TensorF>& v) {
      return ops::group_norm(v[0], c.groups, TensorF(), TensorF(), 1e-5, c.win);
    }, {x}, 1e-4);
  }
  check_op("instance_norm local", [](const std::vector<TensorF>& v) {
    return ops::instance_norm(v[0], v[1], v[2], 1e-5, ops::Window{4, 5});
  }, {random<float>({2, 3, 11, 10}, 70), random<float>({3}, 71), random<float>({3}, 72)}, 1e-4);
  // mean^2 >> var (mean 100, std ~0.01): the shifted double statistics stay accurate on the GPU too.
  for (const Window& win : {Window{}, Window{5, 5}})
    check_op("offset 100 window " + std::to_string(win.kh), [win](const std::vector<TensorF>& v) {
      return ops::instance_norm(v[0], TensorF(), TensorF(), 1e-5, win);
    }, {random<float>({1, 2, 16, 16}, 73, 99.98, 100.02)}, 1e-4);
}

TEST_CASE("cuda tlc ops: the norms' gradients and the max's routing are deterministic") {
  TLC_SKIP_WITHOUT_GPU();
  // Every input gradient of sum(f(inputs) * weight), on the host.
  const auto grads = [](const test::OpFn& f, const std::vector<TensorF>& inputs) {
    std::vector<TensorF> leaves;
    for (const auto& x : inputs) leaves.push_back(x.to(kGpu).requires_grad_());
    const TensorF y = f(leaves);
    autograd::backward(ops::sum(ops::mul(y, random<float>(y.shape(), 83).to(kGpu))));
    std::vector<std::vector<float>> out;
    for (const auto& l : leaves) out.push_back(l.grad().to_vector());
    return out;
  };
  const std::vector<TensorF> xwb = {random<float>({2, 8, 40, 50}, 80), random<float>({8}, 81), random<float>({8}, 82)};
  const test::OpFn ln = [](const std::vector<TensorF>& v) { return ops::layer_norm2d(v[0], v[1], v[2]); };
  const test::OpFn gn = [](const std::vector<TensorF>& v) {
    return ops::group_norm(v[0], 2, v[1], v[2], 1e-5, ops::Window{7, 9});
  };
  const test::OpFn in = [](const std::vector<TensorF>& v) { return ops::instance_norm(v[0], v[1], v[2]); };
  const test::OpFn mx = [](const std::vector<TensorF>& v) { return ops::local_max(v[0], 5, 6); };
  CHECK(grads(ln, xwb) == grads(ln, xwb));
  CHECK(grads(gn, xwb) == grads(gn, xwb));
  CHECK(grads(in, xwb) == grads(in, xwb));
  CHECK(grads(mx, {with_ties({2, 3, 40, 50}, 84)}) == grads(mx, {with_ties({2, 3, 40, 50}, 84)}));
}

TEST_CASE("cuda tlc ops: float64 on CUDA throws DTypeError naming the op") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorD x = random<double>({2, 4, 5, 5}, 90).to(kGpu), w = random<double>({4}, 91).to(kGpu);
  const auto throws_dtype = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
      FAIL("expected a DTypeError from " << op);
    } catch (const DTypeError& e) {
      CHECK(std::string(e.what()).find(op) != std::string::npos);
    }
  };
  throws_dtype([&] { ops::layer_norm2d(x, w, w); }, "layer_norm2d");
  throws_dtype([&] { ops::simple_gate(x); }, "simple_gate");
  throws_dtype([&] { ops::gelu_gate(x); }, "gelu_gate");
  throws_dtype([&] { ops::local_mean(x, 3, 3); }, "local_mean");
  throws_dtype([&] { ops::local_mean_valid(x, 3, 3); }, "local_mean_valid");
  throws_dtype([&] { ops::local_max(x, 3, 3); }, "local_max");
  throws_dtype([&] { ops::local_max_valid(x, 3, 3); }, "local_max_valid");
  throws_dtype([&] { ops::local_expand(x, 7, 7, 3, 3); }, "local_expand");
  throws_dtype([&] { ops::group_norm(x, 2); }, "group_norm");
  throws_dtype([&] { ops::instance_norm(x, w, w, 1e-5, ops::Window{3, 3}); }, "group_norm");
}
