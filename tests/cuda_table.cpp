// CPU vs CUDA, one table (the model is ggml's test-backend-ops): a row per group of CUDA entry
// points of include/tlc/ops/cuda/<family>.hpp, with its inputs (float32, the only CUDA dtype; the
// shapes are in each case's label), a comparison metric and a tolerance with its reason. A row
// runs the CPU op and the CUDA op on the same random inputs and compares the outputs and, through
// autograd, every input gradient. The coverage case (no device needed) reads the declaration
// headers and fails when an entry point has no row, or a row names one that is not declared.
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cuda_test_util.hpp"
#include "tlc/ops/windows.hpp"
#include "tlc/optim/adamw.hpp"
#include "tlc/optim/clip.hpp"
#include "tlc/optim/ema.hpp"

using namespace tlc;
using test::kGpu;
using test::Metric;
using test::random;

namespace {

struct Tolerance {
  Metric metric;
  double value;
  const char* why;
};

struct Case {
  std::string what;  // the op and its shapes
  test::OpFn f;
  std::vector<TensorF> inputs;
};

struct Row {
  std::string family;                    // the declaration header: include/tlc/ops/cuda/<family>.hpp
  std::vector<std::string> entry_points;  // the cuda:: functions its cases reach
  Tolerance tol;
  // The check: by default every case of `cases` through test::check_op; rows that are not one op
  // (the optimisers) bring their own.
  std::function<std::vector<Case>()> cases;
  std::function<void(const Tolerance&)> check;
};

using V = std::vector<TensorF>;

// Tolerances shared by several rows.
const Tolerance kExact{Metric::Abs, 1e-5,
                       "the same float32 body on both sides (or a copy); gradients add at most a few "
                       "float roundings"};
const Tolerance kDoubleStats{Metric::Scaled, 1e-5,
                             "statistics accumulated in double on both sides, in different orders; "
                             "float32 rounding of the result, relative to the largest value"};
const Tolerance kNorms{Metric::Scaled, 1e-4,
                       "group statistics in double, then float32 normalisation and a backward of "
                       "several float32 terms that partly cancel (scaled by 1/std)"};
const Tolerance kFloatSums{Metric::Scaled, 1e-4,
                           "float32 sums of up to a few hundred products in different orders "
                           "(cuBLAS / cuDNN vs the packed CPU GEMM); TF32 is off"};

// Maps of odd and even sizes, a single pixel, and windows of 1, even, odd, one axis covering the
// map and both larger than the map.
const std::vector<Shape> kMaps = {{2, 3, 7, 9}, {1, 2, 13, 6}, {1, 1, 1, 1}, {2, 1, 16, 17}, {1, 2, 1, 11}};
const std::vector<std::pair<index_t, index_t>> kWindows = {{1, 1},   {3, 3},   {2, 4},    {5, 2},
                                                            {100, 3}, {4, 100}, {100, 100}};

std::string window_str(const Shape& s, index_t kh, index_t kw) {
  return s.str() + " window " + std::to_string(kh) + "x" + std::to_string(kw);
}

// Integers in {0, 1, 2}: many equal values in every window, so the arg-max tie-breaking decides
// where the max's gradient goes.
TensorF with_ties(const Shape& s, std::uint64_t seed) {
  std::vector<float> v = random<float>(s, seed, 0.0, 3.0).to_vector();
  for (float& a : v) a = std::floor(a);
  return TensorF::from_vector(s, v);
}

std::vector<Case> unary_cases() {
  using kernels::Unary;
  struct U {
    Unary op;
    float alpha, lo, hi;
  };
  const U us[] = {{Unary::Neg, 0, -2, 2},        {Unary::Exp, 0, -2, 2},          {Unary::Log, 0, 0.5, 3},
                  {Unary::Sqrt, 0, 0.5, 3},      {Unary::Square, 0, -2, 2},       {Unary::Abs, 0, -2, 2},
                  {Unary::Relu, 0, -2, 2},       {Unary::LeakyRelu, 0.2f, -2, 2}, {Unary::Gelu, 0, -3, 3},
                  {Unary::Sigmoid, 0, -4, 4},    {Unary::Tanh, 0, -2, 2},         {Unary::AddScalar, 1.5f, -2, 2},
                  {Unary::MulScalar, -3, -2, 2}, {Unary::PowScalar, 2.5f, 0.5, 2}};
  std::vector<Case> cases;
  for (const U& u : us)
    cases.push_back({"unary op " + std::to_string(static_cast<int>(u.op)) + " [3, 4, 33, 17]",
                     [u](const V& v) { return ops::detail::unary("unary", u.op, v[0], u.alpha); },
                     {random<float>({3, 4, 33, 17}, 10 + static_cast<int>(u.op), u.lo, u.hi)}});
  return cases;
}

std::vector<Case> binary_cases() {
  const std::pair<Shape, Shape> shapes[] = {{{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {3, 1, 1}},
                                            {{2, 1, 4, 1}, {1, 3, 1, 5}}, {{4, 5}, {2, 3, 4, 5}},
                                            {{1}, {7, 9}},                 {{64, 1, 130}, {64, 70, 1}}};
  const std::pair<const char*, test::OpFn> fns[] = {{"add", [](const V& v) { return ops::add(v[0], v[1]); }},
                                                    {"sub", [](const V& v) { return ops::sub(v[0], v[1]); }},
                                                    {"mul", [](const V& v) { return ops::mul(v[0], v[1]); }},
                                                    {"div", [](const V& v) { return ops::div(v[0], v[1]); }}};
  std::vector<Case> cases;
  std::uint64_t seed = 0;
  for (const auto& [a, b] : shapes) {
    const TensorF ta = random<float>(a, ++seed), tb = random<float>(b, ++seed, 0.5, 2.0);
    for (const auto& [name, f] : fns)
      cases.push_back({std::string(name) + " " + a.str() + " with " + b.str(), f, {ta, tb}});
  }
  return cases;
}

std::vector<Case> sum_cases() {
  const TensorF x = random<float>({3, 5, 7, 9}, 1);
  std::vector<Case> cases;
  for (const std::vector<int>& axes : std::vector<std::vector<int>>{{}, {0}, {1}, {2, 3}, {0, 2}, {-1}, {0, 1, 3}})
    for (bool keep : {false, true})
      cases.push_back({"sum [3, 5, 7, 9] over " + std::to_string(axes.size()) + " axes" + (keep ? " keepdim" : ""),
                       [axes, keep](const V& v) { return ops::sum(v[0], axes, keep); }, {x}});
  cases.push_back({"mean [3, 5, 7, 9] over 1, 2", [](const V& v) { return ops::mean(v[0], {1, 2}); }, {x}});
  cases.push_back({"div [5, 7] by [7]", [](const V& v) { return ops::div(v[0], v[1]); },
                   {random<float>({5, 7}, 5), random<float>({7}, 6, 1.0, 2.0)}});
  return cases;
}

// Long reductions take the block path (one block per output); a sum of 8000 elements of |x| < 1
// in float32 on the CPU side differs from the double sum by up to ~1e-4 absolute.
std::vector<Case> long_sum_cases() {
  const TensorF big = random<float>({4, 6, 40, 50}, 2);
  return {{"sum [4, 6, 40, 50] over N, H, W", [](const V& v) { return ops::sum(v[0], {0, 2, 3}); }, {big}},
          {"add [4, 6, 40, 50] + [1, 6, 1, 1]", [](const V& v) { return ops::add(v[0], v[1]); },
           {big, random<float>({1, 6, 1, 1}, 3)}},
          {"mul [4, 6, 40, 50] * [4, 1, 40, 50]", [](const V& v) { return ops::mul(v[0], v[1]); },
           {big, random<float>({4, 1, 40, 50}, 4)}}};
}

std::vector<Case> layout_cases() {
  const TensorF x = random<float>({2, 12, 5, 6}, 11);
  std::vector<Case> cases = {
      {"pixel_shuffle [2, 12, 5, 6] by 2", [](const V& v) { return ops::pixel_shuffle(v[0], 2); }, {x}},
      {"pixel_unshuffle [2, 3, 9, 6] by 3", [](const V& v) { return ops::pixel_unshuffle(v[0], 3); },
       {random<float>({2, 3, 9, 6}, 12)}}};
  for (ops::PadMode mode : {ops::PadMode::Zero, ops::PadMode::Replicate, ops::PadMode::Reflect})
    cases.push_back({"pad [2, 12, 5, 6] by 2, 1, 3, 4 mode " + std::to_string(static_cast<int>(mode)),
                     [mode](const V& v) { return ops::pad(v[0], 2, 1, 3, 4, mode); }, {x}});
  cases.push_back({"crop [2, 12, 5, 6] to 3x3 at 1, 2", [](const V& v) { return ops::crop(v[0], 1, 2, 3, 3); }, {x}});
  return cases;
}

std::vector<Case> copy_cases() {
  const TensorF x = random<float>({2, 12, 5, 6}, 11);
  return {{"concat axis 1 of [2, 12, 5, 6], [2, 3, 5, 6]", [](const V& v) { return ops::concat(v, 1); },
           {x, random<float>({2, 3, 5, 6}, 13)}},
          {"concat axis -1 of [2, 12, 5, 6/2/1]", [](const V& v) { return ops::concat(v, -1); },
           {x, random<float>({2, 12, 5, 2}, 14), random<float>({2, 12, 5, 1}, 15)}},
          {"slice [2, 12, 5, 6] axis 2 [1, 4)", [](const V& v) { return ops::slice(v[0], 2, 1, 4); }, {x}},
          {"split [2, 12, 5, 6] axis 1 into 5, 7", [](const V& v) {
             const auto parts = ops::split(v[0], 1, {5, 7});
             return ops::add(ops::mul_scalar(parts[0], 2.f), ops::slice(parts[1], 1, 0, 5));
           }, {x}}};
}

std::vector<Case> softmax_cases() {
  const TensorF x = random<float>({2, 4, 6, 33}, 21, -3.0, 3.0);
  std::vector<Case> cases;
  for (int axis : {-1, 1, 2})
    cases.push_back({"softmax [2, 4, 6, 33] axis " + std::to_string(axis),
                     [axis](const V& v) { return ops::softmax(v[0], axis); }, {x}});
  return cases;
}

std::vector<Case> l2_cases() {
  const TensorF x = random<float>({2, 4, 6, 33}, 21, -3.0, 3.0);
  std::vector<Case> cases;
  for (int axis : {-1, 1})
    cases.push_back({"l2_normalize [2, 4, 6, 33] axis " + std::to_string(axis),
                     [axis](const V& v) { return ops::l2_normalize(v[0], axis); }, {x}});
  return cases;
}

std::vector<Case> loss_cases() {
  // More than one chunk (2^14 elements) per image, with a partial last chunk.
  const V in = {random<float>({3, 3, 100, 70}, 31), random<float>({3, 3, 100, 70}, 32)};
  return {{"l1_loss [3, 3, 100, 70]", [](const V& v) { return ops::l1_loss(v[0], v[1]); }, in},
          {"mse_loss [3, 3, 100, 70]", [](const V& v) { return ops::mse_loss(v[0], v[1]); }, in},
          {"charbonnier_loss [3, 3, 100, 70]", [](const V& v) { return ops::charbonnier_loss(v[0], v[1]); }, in},
          {"psnr_loss [3, 3, 100, 70]", [](const V& v) { return ops::psnr_loss(v[0], v[1]); }, in}};
}

std::vector<Case> window_cases() {
  const local::WindowGrid g(13, 11, 5, 4);
  return {{"window_partition [2, 3, 13, 11] by 5x4", [](const V& v) { return ops::window_partition(v[0], 5, 4); },
           {random<float>({2, 3, 13, 11}, 41)}},
          {"window_merge to [2, 3, 13, 11] from 5x4",
           [](const V& v) { return ops::window_merge(v[0], 2, 13, 11, 5, 4); },
           {random<float>({2 * g.count(), 3, 5, 4}, 42)}},
          // Rows wider than the merge's 64-pixel accumulator tile, with overlapping columns.
          {"window_partition [1, 2, 37, 157] by 13x50",
           [](const V& v) { return ops::window_partition(v[0], 13, 50); }, {random<float>({1, 2, 37, 157}, 43)}}};
}

std::vector<Case> matmul_cases() {
  std::vector<Case> cases;
  std::uint64_t seed = 100;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Shape a = ta ? Shape{3, 24, 17} : Shape{3, 17, 24}, b = tb ? Shape{3, 9, 24} : Shape{3, 24, 9};
      cases.push_back({"matmul " + a.str() + " " + b.str() + " trans " + std::to_string(ta) + std::to_string(tb),
                       [ta, tb](const V& v) { return ops::matmul(v[0], v[1], ta, tb); },
                       {random<float>(a, ++seed), random<float>(b, ++seed)}});
    }
  cases.push_back({"matmul [130, 96] [96, 70]", [](const V& v) { return ops::matmul(v[0], v[1]); },
                   {random<float>({130, 96}, 110), random<float>({96, 70}, 111)}});
  return cases;
}

std::vector<Case> conv_cases() {
  struct C {
    Shape x, w;
    ops::Conv2dParams p;
    const char* what;
  };
  const C cs[] = {{{2, 3, 9, 7}, {4, 3, 3, 3}, {1, 1, 1, 1, 1}, "plain 3x3, same padding"},
                  {{1, 4, 11, 10}, {6, 4, 5, 3}, {2, 2, 0, 0, 1}, "non-square kernel, stride 2"},
                  {{2, 4, 8, 8}, {6, 2, 3, 3}, {1, 1, 1, 1, 2}, "two groups"},
                  {{2, 8, 12, 9}, {8, 1, 3, 3}, {1, 1, 1, 1, 8}, "depthwise"},
                  {{3, 16, 6, 5}, {32, 16, 1, 1}, {}, "1x1"}};
  std::vector<Case> cases;
  std::uint64_t seed = 120;
  for (const C& c : cs)
    cases.push_back({std::string("conv2d ") + c.what + " x " + c.x.str() + " w " + c.w.str(),
                     [p = c.p](const V& v) { return ops::conv2d(v[0], v[1], v[2], p); },
                     {random<float>(c.x, ++seed), random<float>(c.w, ++seed), random<float>({c.w[0]}, ++seed)}});
  cases.push_back({"conv_transpose2d x [2, 6, 5, 4] w [6, 2, 3, 3] stride 2 padding 1 groups 2",
                   [](const V& v) { return ops::conv_transpose2d(v[0], v[1], v[2], 2, 1, 2); },
                   {random<float>({2, 6, 5, 4}, 130), random<float>({6, 2, 3, 3}, 131), random<float>({4}, 132)}});
  return cases;
}

std::vector<Case> layer_norm_cases() {
  std::vector<Case> cases;
  // The last shape has more pixels than one reduction chunk (2^14) for the parameter gradients.
  for (const Shape& s : std::vector<Shape>{{2, 5, 7, 9}, {1, 3, 1, 1}, {3, 32, 8, 8}, {2, 4, 100, 90}}) {
    const TensorF x = random<float>(s, 1, -2.0, 3.0), w = random<float>({s[1]}, 2), b = random<float>({s[1]}, 3);
    cases.push_back({"layer_norm2d WithBias " + s.str(),
                     [](const V& v) { return ops::layer_norm2d(v[0], v[1], v[2]); }, {x, w, b}});
    cases.push_back({"layer_norm2d BiasFree " + s.str(), [](const V& v) {
                       return ops::layer_norm2d(v[0], v[1], TensorF(), 1e-5, ops::LayerNormKind::BiasFree);
                     }, {x, w}});
  }
  return cases;
}

std::vector<Case> gate_cases() {
  std::vector<Case> cases;
  for (const Shape& s : std::vector<Shape>{{2, 6, 5, 7}, {1, 2, 1, 1}, {3, 64, 9, 11}, {5, 4}}) {
    const TensorF x = random<float>(s, 11, -3.0, 3.0);
    cases.push_back({"simple_gate " + s.str(), [](const V& v) { return ops::simple_gate(v[0]); }, {x}});
    cases.push_back({"gelu_gate " + s.str(), [](const V& v) { return ops::gelu_gate(v[0]); }, {x}});
  }
  return cases;
}

std::vector<Case> local_mean_cases() {
  std::vector<Case> cases;
  std::uint64_t seed = 20;
  for (const Shape& s : kMaps)
    for (const auto& [kh, kw] : kWindows) {
      const TensorF x = random<float>(s, ++seed, -2.0, 2.0);
      cases.push_back({"local_mean " + window_str(s, kh, kw),
                       [kh = kh, kw = kw](const V& v) { return ops::local_mean(v[0], kh, kw); }, {x}});
      cases.push_back({"local_mean_valid " + window_str(s, kh, kw),
                       [kh = kh, kw = kw](const V& v) { return ops::local_mean_valid(v[0], kh, kw); }, {x}});
      const index_t hv = s[2] - std::min(kh, s[2]) + 1, wv = s[3] - std::min(kw, s[3]) + 1;
      cases.push_back({"local_expand " + window_str(s, kh, kw),
                       [s, kh = kh, kw = kw](const V& v) { return ops::local_expand(v[0], s[2], s[3], kh, kw); },
                       {random<float>({s[0], s[1], hv, wv}, ++seed)}});
    }
  // A large map: long running sums along both axes.
  cases.push_back({"local_mean [1, 3, 150, 170] window 37x52",
                   [](const V& v) { return ops::local_mean(v[0], 37, 52); },
                   {random<float>({1, 3, 150, 170}, 30, 5.0, 7.0)}});
  return cases;
}

std::vector<Case> local_max_cases() {
  std::vector<Case> cases;
  std::uint64_t seed = 40;
  for (const Shape& s : kMaps)
    for (const auto& [kh, kw] : kWindows)
      for (bool ties : {false, true}) {
        const TensorF x = ties ? with_ties(s, ++seed) : random<float>(s, ++seed, -2.0, 2.0);
        const std::string what = window_str(s, kh, kw) + (ties ? " with ties" : "");
        cases.push_back({"local_max " + what,
                         [kh = kh, kw = kw](const V& v) { return ops::local_max(v[0], kh, kw); }, {x}});
        cases.push_back({"local_max_valid " + what,
                         [kh = kh, kw = kw](const V& v) { return ops::local_max_valid(v[0], kh, kw); }, {x}});
      }
  // A NaN propagates to every window that holds it (the Scaled metric fails on a NaN mismatch).
  std::vector<float> v = random<float>({1, 2, 9, 8}, 50).to_vector();
  v[20] = std::numeric_limits<float>::quiet_NaN();
  cases.push_back({"local_max [1, 2, 9, 8] window 3x4 with a NaN",
                   [](const V& in) { return ops::local_max(in[0], 3, 4); }, {TensorF::from_vector({1, 2, 9, 8}, v)}});
  return cases;
}

std::vector<Case> group_norm_cases() {
  using ops::Window;
  struct G {
    Shape s;
    index_t groups;
    Window win;
  };
  const std::vector<G> gs = {
      {{2, 6, 7, 9}, 3, {}},      {{2, 6, 7, 9}, 3, {3, 3}},   {{2, 6, 7, 9}, 6, {2, 4}},    {{1, 4, 13, 6}, 1, {5, 2}},
      {{1, 4, 13, 6}, 2, {13, 3}}, {{1, 4, 13, 6}, 4, {100, 100}}, {{2, 2, 1, 11}, 2, {1, 4}}, {{1, 3, 1, 1}, 3, {}},
      {{2, 4, 10, 12}, 2, {1, 1}}, {{2, 4, 96, 96}, 1, {}},     {{1, 8, 64, 80}, 2, {17, 24}},
  };
  std::vector<Case> cases;
  std::uint64_t seed = 60;
  for (const G& g : gs) {
    const TensorF x = random<float>(g.s, ++seed, -2.0, 3.0);
    const TensorF w = random<float>({g.s[1]}, ++seed, 0.5, 1.5), b = random<float>({g.s[1]}, ++seed);
    const std::string what = window_str(g.s, g.win.kh, g.win.kw) + " groups " + std::to_string(g.groups);
    cases.push_back({"group_norm affine " + what,
                     [g](const V& v) { return ops::group_norm(v[0], g.groups, v[1], v[2], 1e-5, g.win); }, {x, w, b}});
    cases.push_back({"group_norm no affine " + what,
                     [g](const V& v) { return ops::group_norm(v[0], g.groups, TensorF(), TensorF(), 1e-5, g.win); },
                     {x}});
  }
  cases.push_back({"instance_norm local [2, 3, 11, 10] window 4x5",
                   [](const V& v) { return ops::instance_norm(v[0], v[1], v[2], 1e-5, ops::Window{4, 5}); },
                   {random<float>({2, 3, 11, 10}, 70), random<float>({3}, 71), random<float>({3}, 72)}});
  // mean^2 >> var (mean 100, std ~0.01): the shifted double statistics stay accurate on the GPU too.
  for (const Window& win : {Window{}, Window{5, 5}})
    cases.push_back({"instance_norm [1, 2, 16, 16] offset 100 window " + std::to_string(win.kh),
                     [win](const V& v) { return ops::instance_norm(v[0], TensorF(), TensorF(), 1e-5, win); },
                     {random<float>({1, 2, 16, 16}, 73, 99.98, 100.02)}});
  return cases;
}

// Adam / AdamW, EMA and gradient clipping: parameters, moments and shadows after three steps.
void check_optimisers(const Tolerance& tol) {
  for (bool decoupled : {true, false}) {
    INFO("decoupled " << decoupled);
    const TensorF p0 = random<float>({4, 50}, 51), p1 = random<float>({7}, 52);
    std::vector<TensorF> pc = {p0.clone(), p1.clone()}, pg = {p0.to(kGpu), p1.to(kGpu)};
    for (auto& p : pc) p.requires_grad_();
    for (auto& p : pg) p.requires_grad_();
    optim::AdamOptions opt;
    opt.lr = 1e-2;
    opt.weight_decay = 0.1;
    opt.decoupled = decoupled;
    optim::Adam<float> ac(pc, opt), ag(pg, opt);
    optim::Ema<float> ec(pc, 0.9), eg(pg, 0.9);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < pc.size(); ++i) {
        const TensorF g = random<float>(pc[i].shape(), 60 + static_cast<std::uint64_t>(step * 2 + i), -5.0, 5.0);
        pc[i].set_grad(g.clone());
        pg[i].set_grad(g.to(kGpu));
      }
      const double nc = optim::clip_grad_norm(pc, 1.0), ng = optim::clip_grad_norm(pg, 1.0);
      CHECK(ng == Approx(nc).epsilon(1e-12));
      for (size_t i = 0; i < pc.size(); ++i) CHECK(test::diff(tol.metric, pg[i].grad(), pc[i].grad()) <= 1e-7);
      ac.step();
      ag.step();
      ec.update();
      eg.update();
    }
    for (size_t i = 0; i < pc.size(); ++i) {
      CHECK(test::diff(tol.metric, pg[i], pc[i]) <= tol.value);
      CHECK(test::diff(tol.metric, ag.first_moments()[i], ac.first_moments()[i]) <= tol.value);
      CHECK(test::diff(tol.metric, ag.second_moments()[i], ac.second_moments()[i]) <= tol.value);
      CHECK(test::diff(tol.metric, eg.shadow()[i], ec.shadow()[i]) <= tol.value);
    }
    CHECK(optim::grads_finite(pg));
    std::vector<float> bad(7, 0.f);
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    pg[1].set_grad(TensorF::from_vector({7}, bad).to(kGpu));
    CHECK_FALSE(optim::grads_finite(pg));
  }
}

// clip_grad_norm and grads_finite: the norm (a double sum of squares) and the scaled gradients.
void check_clip(const Tolerance& tol) {
  const std::vector<TensorF> gc = {random<float>({300, 70}, 53, -5.0, 5.0), random<float>({9}, 54)};
  std::vector<TensorF> pc, pg;
  for (const TensorF& g : gc) {
    pc.push_back(TensorF::zeros(g.shape()).requires_grad_());
    pc.back().set_grad(g.clone());
    pg.push_back(TensorF::zeros(g.shape(), kGpu).requires_grad_());
    pg.back().set_grad(g.to(kGpu));
  }
  CHECK(optim::clip_grad_norm(pg, 1.0) == Approx(optim::clip_grad_norm(pc, 1.0)).epsilon(1e-12));
  for (size_t i = 0; i < pc.size(); ++i) CHECK(test::diff(tol.metric, pg[i].grad(), pc[i].grad()) <= tol.value);
  CHECK(optim::grads_finite(pg));
  std::vector<float> bad(9, 0.f);
  bad[3] = std::numeric_limits<float>::infinity();
  pg[1].set_grad(TensorF::from_vector({9}, bad).to(kGpu));
  CHECK_FALSE(optim::grads_finite(pg));
}

const std::vector<Row>& table() {
  static const std::vector<Row> rows = {
      {"elementwise", {"unary_forward", "unary_backward"},
       {Metric::Rel, 1e-5, "one body on both sides; exp/log/erf/tanh of the CUDA math library may differ "
                           "from glibc's by an ulp or two"},
       unary_cases, {}},
      {"elementwise", {"binary_forward"},
       {Metric::Rel, 1e-6, "one float32 operation per element; gradients summed in double on both sides"},
       binary_cases, {}},
      {"reduce", {"sum_keep4d"}, kExact, sum_cases, {}},
      {"reduce", {"sum_keep4d"},
       {Metric::Abs, 1e-3, "sums of up to 8000 elements reach ~100: both sides sum in double, in different "
                           "orders, then round to float32 (absolute differences grow with the magnitude)"},
       long_sum_cases, {}},
      {"layout", {"pixel_shuffle", "window_rows", "window_scatter"}, kExact, layout_cases, {}},
      {"layout", {"copy_blocks"}, kExact, copy_cases, {}},
      {"softmax", {"softmax_forward", "softmax_backward"}, kExact, softmax_cases, {}},
      {"softmax", {"l2_normalize_forward", "l2_normalize_backward"}, kExact, l2_cases, {}},
      {"softmax", {"l2_normalize_forward", "l2_normalize_backward"},
       {Metric::Abs, 1e-4, "rows whose norm is below eps take the constant-divisor branch: gradients of "
                           "1/eps = 100 times the inputs"},
       [] {
         return std::vector<Case>{{"l2_normalize [3, 4] tiny rows eps 1e-2",
                                   [](const V& v) { return ops::l2_normalize(v[0], -1, 1e-2); },
                                   {random<float>({3, 4}, 22, -1e-3, 1e-3)}}};
       },
       {}},
      {"loss", {"pixel_loss_partials", "pixel_loss_grad"},
       {Metric::Abs, 1e-5, "chunk sums in double on both sides, combined on the host the same way"}, loss_cases,
       {}},
      {"windows", {"window_gather", "window_merge"}, kExact, window_cases, {}},
      {"optim", {"adam_step", "ema_update"},
       {Metric::Abs, 1e-6, "one body per element on both sides; sqrt and division may round differently"},
       {}, check_optimisers},
      {"reduce", {"sum_squares"},
       {Metric::Abs, 1e-7, "clip_grad_norm: double sums of squares; the gradients scaled by one float factor"},
       {}, check_clip},
      {"gemm", {"gemm_batched"}, kFloatSums, matmul_cases, {}},
      {"conv", {"conv2d_forward", "conv2d_backward_data", "conv2d_backward_filter", "conv2d_backward_bias"},
       kFloatSums, conv_cases, {}},
      {"layer_norm", {"layer_norm2d_forward", "layer_norm2d_backward"}, kDoubleStats, layer_norm_cases, {}},
      {"layer_norm", {"layer_norm2d_forward", "layer_norm2d_backward"},
       {Metric::Scaled, 1e-4, "a common offset of 100: float32 inputs carry ~1e-5 absolute rounding"},
       [] {
         return std::vector<Case>{{"layer_norm2d [2, 16, 5, 5] offset 100",
                                   [](const V& v) { return ops::layer_norm2d(v[0], v[1], v[2]); },
                                   {random<float>({2, 16, 5, 5}, 4, 99.0, 101.0), random<float>({16}, 5),
                                    random<float>({16}, 6)}}};
       },
       {}},
      {"gate", {"gate_forward", "gate_backward"}, kDoubleStats, gate_cases, {}},
      {"local", {"local_forward", "local_backward"}, kDoubleStats, local_mean_cases, {}},
      {"local", {"local_forward", "local_backward"},
       {Metric::Scaled, 1e-5, "maxima are exact; the gradients are routed to the same arg-max (ties to the "
                              "first element, NaN first) and summed in different orders"},
       local_max_cases, {}},
      {"spatial_norm", {"group_norm_forward", "group_norm_backward"}, kNorms, group_norm_cases, {}},
  };
  return rows;
}

std::set<std::string>& families_with_a_case() {
  static std::set<std::string> families;
  return families;
}

void run_family(const std::string& family) {
  int rows = 0;
  for (const Row& row : table()) {
    if (row.family != family) continue;
    ++rows;
    std::string names;
    for (const auto& e : row.entry_points) names += (names.empty() ? "" : ", ") + e;
    INFO("row " << rows << " of " << family << ": cuda::" << names << ", float32; tolerance " << row.tol.value
                << " because " << row.tol.why);
    if (row.check) {
      row.check(row.tol);
      continue;
    }
    for (const Case& c : row.cases()) test::check_op(c.what, c.f, c.inputs, row.tol.metric, row.tol.value);
  }
  CHECK(rows > 0);
}

// The entry points declared in `header` (inside namespace tlc::cuda): the name before the first
// parenthesis of every declaration, struct definitions and comments removed.
std::vector<std::string> declared_entry_points(const std::filesystem::path& header) {
  std::ifstream in(header);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const std::string open = "namespace tlc::cuda {", close = "}  // namespace tlc::cuda";
  const size_t a = text.find(open), b = text.find(close);
  if (a == std::string::npos || b == std::string::npos) return {};
  text = text.substr(a + open.size(), b - a - open.size());
  text = std::regex_replace(text, std::regex("//[^\n]*"), "");
  text = std::regex_replace(text, std::regex("struct\\s+\\w+\\s*\\{[^}]*\\};"), "");
  std::vector<std::string> names;
  const std::regex decl("([A-Za-z_]\\w*)\\s*\\(");
  std::stringstream statements(text);
  for (std::string s; std::getline(statements, s, ';');) {
    std::smatch m;
    if (std::regex_search(s, m, decl)) names.push_back(m[1]);
  }
  return names;
}

// Checked by tests/cuda_runtime.cpp (they have no CPU twin): core/cuda_runtime.hpp and
// core/cuda_allocator.hpp.
const std::set<std::string> kRuntimeEntryPoints = {
    "device_count", "set_device",           "synchronize",     "set_allow_tf32", "allow_tf32",
    "allocate",     "deallocate",           "copy_h2d",        "copy_d2h",       "copy_d2d",
    "fill",         "peak_allocated_bytes", "reset_peak_allocated_bytes",       "allocated_bytes",
    "cached_bytes", "empty_cache"};

}  // namespace

#define CPU_VS_CUDA(family)                                                                       \
  static const bool registered_##family = families_with_a_case().insert(#family).second;         \
  TEST_CASE("cpu vs cuda: " #family " (include/tlc/ops/cuda/" #family ".hpp)", "[gpu][table]") { \
    run_family(#family);                                                                          \
  }

CPU_VS_CUDA(elementwise)
CPU_VS_CUDA(reduce)
CPU_VS_CUDA(layout)
CPU_VS_CUDA(softmax)
CPU_VS_CUDA(loss)
CPU_VS_CUDA(windows)
CPU_VS_CUDA(optim)
CPU_VS_CUDA(gemm)
CPU_VS_CUDA(conv)
CPU_VS_CUDA(layer_norm)
CPU_VS_CUDA(gate)
CPU_VS_CUDA(local)
CPU_VS_CUDA(spatial_norm)

TEST_CASE("cpu vs cuda table: every CUDA entry point has a row, every row a declared entry point", "[coverage]") {
  namespace fs = std::filesystem;
  const fs::path include = fs::path(TLC_SOURCE_DIR) / "include" / "tlc";
  std::map<std::string, std::string> family_of;  // entry point -> declaration header family
  for (const auto& f : fs::directory_iterator(include / "ops" / "cuda"))
    for (const auto& name : declared_entry_points(f.path())) family_of[name] = f.path().stem().string();
  REQUIRE(family_of.size() > 30);  // the parser found the declarations
  std::set<std::string> runtime;
  for (const char* h : {"cuda_runtime.hpp", "cuda_allocator.hpp"})
    for (const auto& name : declared_entry_points(include / "core" / h)) runtime.insert(name);
  CHECK(runtime == kRuntimeEntryPoints);

  std::set<std::string> covered;
  for (const Row& row : table()) {
    INFO("a row of family " << row.family);
    CHECK(families_with_a_case().count(row.family) == 1);  // its rows run
    for (const auto& e : row.entry_points) {
      INFO("entry point " << e);
      CHECK(family_of.count(e) == 1);  // declared ...
      if (family_of.count(e)) CHECK(family_of.at(e) == row.family);  // ... in the row's family header
      covered.insert(e);
    }
  }
  for (const auto& [name, family] : family_of) {
    INFO("cuda::" << name << " (include/tlc/ops/cuda/" << family << ".hpp) has no row in tests/cuda_table.cpp");
    CHECK(covered.count(name) == 1);
  }
}

TEST_CASE("cpu vs cuda: sums, losses, the norms' gradients and the max's routing are deterministic", "[gpu]") {
  const TensorF x = random<float>({2, 8, 128, 128}, 7).to(kGpu);
  CHECK(ops::sum(x).to_vector() == ops::sum(x).to_vector());
  CHECK(ops::sum(x, {0, 2, 3}).to_vector() == ops::sum(x, {0, 2, 3}).to_vector());
  for (const Case& c : loss_cases()) {
    INFO(c.what);
    const V in = {c.inputs[0].to(kGpu), c.inputs[1].to(kGpu)};
    CHECK(c.f(in).item() == c.f(in).item());
  }
  // Every input gradient of sum(f(inputs) * weight), on the host.
  const auto grads = [](const test::OpFn& f, const V& inputs) {
    V leaves;
    for (const auto& t : inputs) leaves.push_back(t.to(kGpu).requires_grad_());
    const TensorF y = f(leaves);
    autograd::backward(ops::sum(ops::mul(y, random<float>(y.shape(), 83).to(kGpu))));
    std::vector<std::vector<float>> out;
    for (const auto& l : leaves) out.push_back(l.grad().to_vector());
    return out;
  };
  const V xwb = {random<float>({2, 8, 40, 50}, 80), random<float>({8}, 81), random<float>({8}, 82)};
  const test::OpFn ln = [](const V& v) { return ops::layer_norm2d(v[0], v[1], v[2]); };
  const test::OpFn gn = [](const V& v) { return ops::group_norm(v[0], 2, v[1], v[2], 1e-5, ops::Window{7, 9}); };
  const test::OpFn in = [](const V& v) { return ops::instance_norm(v[0], v[1], v[2]); };
  const test::OpFn mx = [](const V& v) { return ops::local_max(v[0], 5, 6); };
  CHECK(grads(ln, xwb) == grads(ln, xwb));
  CHECK(grads(gn, xwb) == grads(gn, xwb));
  CHECK(grads(in, xwb) == grads(in, xwb));
  CHECK(grads(mx, {with_ties({2, 3, 40, 50}, 84)}) == grads(mx, {with_ties({2, 3, 40, 50}, 84)}));
}

TEST_CASE("cpu vs cuda: float64 on CUDA throws DTypeError naming the op", "[gpu]") {
  const TensorD x = random<double>({2, 4, 5, 5}, 90).to(kGpu), w = random<double>({4}, 91).to(kGpu);
  const auto throws_dtype = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
      FAIL("expected a DTypeError from " << op);
    } catch (const DTypeError& e) {
      CHECK(std::string(e.what()).find(op) != std::string::npos);
    }
  };
  throws_dtype([&] { ops::sum(x); }, "sum");
  throws_dtype([&] { ops::softmax(x); }, "softmax");
  throws_dtype([&] { ops::pixel_shuffle(x, 1); }, "pixel_shuffle");
  throws_dtype([&] { ops::mse_loss(x, x); }, "mse_loss");
  throws_dtype([&] { ops::window_partition(x, 2, 2); }, "window_partition");
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
