// The spatially aggregating nn modules (AvgPool, MaxPool, SE, SCA, GE, CBAM, InstanceNorm2d,
// GroupNorm, MDTA), global and local: a window covering the map gives the global output; smaller
// windows match brute-force references written here with explicit loops (the official clamped
// windows, the overlapping attention windows of the official Restormer TLC code); gradients in
// double; calibration by convert.
#include <algorithm>
#include <cmath>
#include <map>

#include "test_util.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/nn/attention.hpp"
#include "tlc/nn/mdta.hpp"
#include "tlc/nn/pool.hpp"
#include "tlc/nn/spatial_norm.hpp"
#include "tlc/nn/state_dict.hpp"

using namespace tlc;
using local::WindowSize;

namespace {

using Weights = std::map<std::string, TensorD>;

// The module's parameters by name, as double tensors.
template <class T>
Weights weights_of(nn::Module<T>& m) {
  Weights w;
  for (auto& [name, p] : m.named_parameters()) {
    std::vector<double> v;
    for (T e : p.to_vector()) v.push_back(double(e));
    w.emplace(name, TensorD::from_vector(p.shape(), v));
  }
  return w;
}

// Shifts every parameter by U(-0.5, 0.5) so norm weights/biases and temperatures are not 1/0.
template <class T>
void perturb(nn::Module<T>& m, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& p : m.parameters())
    for (index_t i = 0; i < p.numel(); ++i) p.data()[i] += static_cast<T>(rng.uniform(-0.5, 0.5));
}

template <class T>
void set_windows(nn::Module<T>& m, WindowSize w) {
  for (auto& [name, a] : local::aggregating_layers(m)) a->set_window(w);
}

// ---- brute-force references (double, explicit loops) --------------------------------------

// Window extent and clamped start along an axis (the official clamped window); K <= 0 means global.
index_t extent(index_t K, index_t size) { return K <= 0 ? size : std::min(K, size); }
index_t start(index_t i, index_t k, index_t size) { return std::clamp<index_t>(i - (k - 1) / 2, 0, size - k); }

// Window mean (max = false) or max of every pixel's clamped window, per channel.
TensorD window_stat(const TensorD& x, WindowSize win, bool max) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const index_t k1 = extent(win.kh, H), k2 = extent(win.kw, W);
  TensorD y = TensorD::empty(x.shape());
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          const index_t r0 = start(i, k1, H), c0 = start(j, k2, W);
          double acc = max ? -INFINITY : 0.0;
          for (index_t a = r0; a < r0 + k1; ++a)
            for (index_t b = c0; b < c0 + k2; ++b) acc = max ? std::max(acc, x.at(n, c, a, b)) : acc + x.at(n, c, a, b);
          y.at(n, c, i, j) = max ? acc : acc / double(k1 * k2);
        }
  return y;
}

// 1x1 convolution with weight [O, I, 1, 1] and optional bias [O].
TensorD conv1x1(const TensorD& x, const TensorD& w, const TensorD* b) {
  const index_t N = x.size(0), I = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0);
  TensorD y = TensorD::empty({N, O, H, W});
  for (index_t n = 0; n < N; ++n)
    for (index_t o = 0; o < O; ++o)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          double acc = b ? b->at(o) : 0.0;
          for (index_t c = 0; c < I; ++c) acc += w.at(o * I + c) * x.at(n, c, i, j);
          y.at(n, o, i, j) = acc;
        }
  return y;
}

// k x k convolution, stride 1, zero padding k/2; groups = 1 or depthwise (groups = channels).
TensorD conv_same(const TensorD& x, const TensorD& w, const TensorD* b, bool depthwise) {
  const index_t N = x.size(0), I = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0), k = w.size(2), p = k / 2;
  const index_t per = depthwise ? 1 : I;
  TensorD y = TensorD::empty({N, O, H, W});
  for (index_t n = 0; n < N; ++n)
    for (index_t o = 0; o < O; ++o)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          double acc = b ? b->at(o) : 0.0;
          for (index_t ci = 0; ci < per; ++ci) {
            const index_t c = depthwise ? o : ci;
            for (index_t a = 0; a < k; ++a)
              for (index_t d = 0; d < k; ++d) {
                const index_t r = i + a - p, s = j + d - p;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                acc += w.at(((o * per + ci) * k + a) * k + d) * x.at(n, c, r, s);
              }
          }
          y.at(n, o, i, j) = acc;
        }
  return y;
}

template <class F>
TensorD map(const TensorD& x, F f) {
  TensorD y = x.clone();
  for (index_t i = 0; i < y.numel(); ++i) y.data()[i] = f(y.data()[i]);
  return y;
}
template <class F>
TensorD zip(const TensorD& a, const TensorD& b, F f) {
  REQUIRE(a.shape() == b.shape());
  TensorD y = a.clone();
  for (index_t i = 0; i < y.numel(); ++i) y.data()[i] = f(a.data()[i], b.data()[i]);
  return y;
}
double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double relu(double v) { return std::max(v, 0.0); }
TensorD add(const TensorD& a, const TensorD& b) { return zip(a, b, [](double u, double v) { return u + v; }); }
TensorD mul(const TensorD& a, const TensorD& b) { return zip(a, b, [](double u, double v) { return u * v; }); }

// Mean or max over channels at every pixel, [N, 1, H, W]: the inputs of CBAM's spatial branch.
TensorD channel_stat(const TensorD& x, bool max) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  TensorD y = TensorD::empty({N, 1, H, W});
  for (index_t n = 0; n < N; ++n)
    for (index_t i = 0; i < H; ++i)
      for (index_t j = 0; j < W; ++j) {
        double acc = max ? -INFINITY : 0.0;
        for (index_t c = 0; c < C; ++c) acc = max ? std::max(acc, x.at(n, c, i, j)) : acc + x.at(n, c, i, j);
        y.at(n, 0, i, j) = max ? acc : acc / double(C);
      }
  return y;
}

TensorD concat_channels(const TensorD& a, const TensorD& b) {
  const index_t N = a.size(0), Ca = a.size(1), Cb = b.size(1), H = a.size(2), W = a.size(3);
  TensorD y = TensorD::empty({N, Ca + Cb, H, W});
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < Ca + Cb; ++c)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) y.at(n, c, i, j) = c < Ca ? a.at(n, c, i, j) : b.at(n, c - Ca, i, j);
  return y;
}

// Group norm with every statistic taken over the group's channels and the pixel's clamped window.
TensorD norm_ref(const TensorD& x, const Weights& w, index_t groups, double eps, WindowSize win) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), cg = C / groups;
  const index_t k1 = extent(win.kh, H), k2 = extent(win.kw, W);
  TensorD y = TensorD::empty(x.shape());
  for (index_t n = 0; n < N; ++n)
    for (index_t g = 0; g < groups; ++g)
      for (index_t i = 0; i < H; ++i)
        for (index_t j = 0; j < W; ++j) {
          const index_t r0 = start(i, k1, H), c0 = start(j, k2, W);
          double sum = 0, sq = 0;
          const double count = double(cg * k1 * k2);
          for (index_t c = g * cg; c < (g + 1) * cg; ++c)
            for (index_t a = r0; a < r0 + k1; ++a)
              for (index_t b = c0; b < c0 + k2; ++b) sum += x.at(n, c, a, b);
          const double mu = sum / count;
          for (index_t c = g * cg; c < (g + 1) * cg; ++c)
            for (index_t a = r0; a < r0 + k1; ++a)
              for (index_t b = c0; b < c0 + k2; ++b) sq += (x.at(n, c, a, b) - mu) * (x.at(n, c, a, b) - mu);
          const double inv = 1.0 / std::sqrt(sq / count + eps);
          for (index_t c = g * cg; c < (g + 1) * cg; ++c)
            y.at(n, c, i, j) = (x.at(n, c, i, j) - mu) * inv * w.at("weight").at(c) + w.at("bias").at(c);
        }
  return y;
}

// Restormer attention: qkv on the full map, then per window (the official overlapping windows: local::window_starts
// per axis, row-major) and head: L2-normalised q, k over the window's pixels, softmax over
// channels of q k^T * temperature, A v; overlaps averaged; project_out on the merged map.
TensorD mdta_ref(const TensorD& x, const Weights& w, index_t heads, WindowSize win) {
  const index_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), d = C / heads;
  const TensorD qkv = conv_same(conv1x1(x, w.at("qkv.weight"), &w.at("qkv.bias")), w.at("qkv_dwconv.weight"),
                                &w.at("qkv_dwconv.bias"), true);
  const index_t k1 = extent(win.kh, H), k2 = extent(win.kw, W);
  TensorD acc = TensorD::zeros({N, C, H, W});
  std::vector<double> count(static_cast<size_t>(H * W), 0.0);
  for (index_t r0 : local::window_starts(H, k1))
    for (index_t c0 : local::window_starts(W, k2)) {
      for (index_t a = r0; a < r0 + k1; ++a)
        for (index_t b = c0; b < c0 + k2; ++b) count[a * W + b] += 1;
      for (index_t n = 0; n < N; ++n)
        for (index_t h = 0; h < heads; ++h) {
          // q, k, v of this head: d rows of k1*k2 window pixels.
          auto rows = [&](index_t part) {
            std::vector<std::vector<double>> r(static_cast<size_t>(d));
            for (index_t e = 0; e < d; ++e)
              for (index_t a = r0; a < r0 + k1; ++a)
                for (index_t b = c0; b < c0 + k2; ++b) r[e].push_back(qkv.at(n, part * C + h * d + e, a, b));
            return r;
          };
          auto normalise = [](std::vector<std::vector<double>> r) {
            for (auto& row : r) {
              double s = 0;
              for (double v : row) s += v * v;
              const double nrm = std::max(std::sqrt(s), 1e-12);
              for (double& v : row) v /= nrm;
            }
            return r;
          };
          const auto q = normalise(rows(0)), k = normalise(rows(1)), v = rows(2);
          const double temp = w.at("temperature").at(h);
          for (index_t e = 0; e < d; ++e) {
            std::vector<double> logits(static_cast<size_t>(d));
            for (index_t f = 0; f < d; ++f) {
              double dot = 0;
              for (size_t p = 0; p < q[e].size(); ++p) dot += q[e][p] * k[f][p];
              logits[f] = dot * temp;
            }
            const double mx = *std::max_element(logits.begin(), logits.end());
            double z = 0;
            for (double& l : logits) z += (l = std::exp(l - mx));
            size_t p = 0;
            for (index_t a = r0; a < r0 + k1; ++a)
              for (index_t b = c0; b < c0 + k2; ++b, ++p) {
                double o = 0;
                for (index_t f = 0; f < d; ++f) o += logits[f] / z * v[f][p];
                acc.at(n, h * d + e, a, b) += o;
              }
          }
        }
    }
  for (index_t n = 0; n < N; ++n)
    for (index_t c = 0; c < C; ++c)
      for (index_t a = 0; a < H; ++a)
        for (index_t b = 0; b < W; ++b) acc.at(n, c, a, b) /= count[a * W + b];
  return conv1x1(acc, w.at("project_out.weight"), &w.at("project_out.bias"));
}

// CBAM with its own windows for the average and the max pool (equal after local::convert).
TensorD cbam_ref(const TensorD& x, const Weights& w, WindowSize avg_win, WindowSize max_win) {
  auto mlp = [&](const TensorD& m) {
    return conv1x1(map(conv1x1(m, w.at("mlp.0.weight"), &w.at("mlp.0.bias")), relu), w.at("mlp.2.weight"),
                   &w.at("mlp.2.bias"));
  };
  const TensorD ca = map(add(mlp(window_stat(x, avg_win, false)), mlp(window_stat(x, max_win, true))), sigmoid);
  const TensorD y = mul(x, ca);
  const TensorD pooled = concat_channels(channel_stat(y, false), channel_stat(y, true));
  TensorD sa = map(conv_same(pooled, w.at("spatial.weight"), &w.at("spatial.bias"), false), sigmoid);
  TensorD sa_c = TensorD::empty(y.shape());  // broadcast over channels
  const index_t hw = y.size(2) * y.size(3);
  for (index_t i = 0; i < y.numel(); ++i) sa_c.data()[i] = sa.data()[(i / (y.size(1) * hw)) * hw + i % hw];
  return mul(y, sa_c);
}

// ---- the modules under test, each with its reference ---------------------------------------

constexpr index_t kC = 4, kHidden = 2, kGroups = 2, kHeads = 2;

// Reference output on the full H x W map, given the module's weights and window.
using Ref = std::function<TensorD(const TensorD&, const Weights&, WindowSize)>;

template <class T>
struct Subject {
  std::string name;
  std::shared_ptr<nn::Module<T>> module;
  Ref ref;
};

template <class T>
std::vector<Subject<T>> subjects(std::uint64_t seed) {
  nn::manual_seed(seed);
  auto mlp = [](const TensorD& m, const Weights& w, const std::string& a, const std::string& b) {
    return conv1x1(map(conv1x1(m, w.at(a + ".weight"), &w.at(a + ".bias")), relu), w.at(b + ".weight"),
                   &w.at(b + ".bias"));
  };
  std::vector<Subject<T>> s;
  s.push_back({"AvgPool", std::make_shared<nn::AvgPool<T>>(),
               [](const TensorD& x, const Weights&, WindowSize win) { return window_stat(x, win, false); }});
  s.push_back({"MaxPool", std::make_shared<nn::MaxPool<T>>(),
               [](const TensorD& x, const Weights&, WindowSize win) { return window_stat(x, win, true); }});
  const Ref se = [mlp](const TensorD& x, const Weights& w, WindowSize win) {
    return map(mlp(window_stat(x, win, false), w, "1", "3"), sigmoid);
  };
  s.push_back({"SE", std::make_shared<nn::SE<T>>(kC, kHidden), se});
  s.push_back({"SCA", std::make_shared<nn::SCA<T>>(kC), [](const TensorD& x, const Weights& w, WindowSize win) {
                 return conv1x1(window_stat(x, win, false), w.at("1.weight"), &w.at("1.bias"));
               }});
  s.push_back({"GE", std::make_shared<nn::GE<T>>(), [](const TensorD& x, const Weights&, WindowSize win) {
                 return mul(x, map(window_stat(x, win, false), sigmoid));
               }});
  s.push_back({"CBAM", std::make_shared<nn::CBAM<T>>(kC, kHidden),
               [](const TensorD& x, const Weights& w, WindowSize win) { return cbam_ref(x, w, win, win); }});
  s.push_back({"InstanceNorm2d", std::make_shared<nn::InstanceNorm2d<T>>(kC),
               [](const TensorD& x, const Weights& w, WindowSize win) { return norm_ref(x, w, kC, 1e-5, win); }});
  s.push_back({"GroupNorm", std::make_shared<nn::GroupNorm<T>>(kGroups, kC),
               [](const TensorD& x, const Weights& w, WindowSize win) { return norm_ref(x, w, kGroups, 1e-5, win); }});
  s.push_back({"MDTA", std::make_shared<nn::MDTA<T>>(kC, kHeads, true),
               [](const TensorD& x, const Weights& w, WindowSize win) { return mdta_ref(x, w, kHeads, win); }});
  for (auto& sub : s) perturb(*sub.module, seed + 100);
  return s;
}

template <class T>
TensorD to_double(const Tensor<T>& t) {
  std::vector<double> v;
  for (T e : t.to_vector()) v.push_back(double(e));
  return TensorD::from_vector(t.shape(), v);
}

// Pools return [N, C, 1, 1] globally; broadcast to the map so they compare with the reference.
TensorD broadcast_to(const TensorD& y, const Shape& s) {
  if (y.shape() == s) return y;
  REQUIRE(y.shape() == Shape{s[0], s[1], 1, 1});
  TensorD out = TensorD::empty(s);
  for (index_t i = 0; i < out.numel(); ++i) out.data()[i] = y.data()[i / (s[2] * s[3])];
  return out;
}

// Forward of every subject against its reference for several windows, batch 2, odd map.
template <class T>
void check_forwards(double tol) {
  const index_t H = 9, W = 11;
  const Tensor<T> x = test::random<T>({2, kC, H, W}, 5);
  const TensorD xd = to_double(x);
  const std::vector<WindowSize> windows{{3, 3}, {4, 6}, {9, 4}, {2, 11}, {1, 1}, {8, 10}};
  for (auto& s : subjects<T>(17)) {
    INFO(s.name);
    const Weights w = weights_of(*s.module);
    NoGrad ng;
    set_windows(*s.module, {});
    const Tensor<T> global = s.module->forward(x);
    CHECK(test::max_abs_diff(broadcast_to(to_double(global), xd.shape()), s.ref(xd, w, {})) <= tol);
    // A window covering the map (on both axes) is the global aggregation.
    for (WindowSize big : {WindowSize{H, W}, WindowSize{H + 3, W + 1}, WindowSize{100, 100}}) {
      set_windows(*s.module, big);
      CHECK(test::max_abs_diff(s.module->forward(x), global) <= 1e-6);
    }
    for (WindowSize win : windows) {
      INFO("window " << win.kh << "x" << win.kw);
      set_windows(*s.module, win);
      const TensorD y = to_double(s.module->forward(x));
      REQUIRE(y.shape() == xd.shape());
      CHECK(test::max_abs_diff(y, s.ref(xd, w, win)) <= tol);
    }
  }
}

// dL/dx through test::check_gradients, and dL/dparameter by central differences on the module's
// own parameters, with the same probe L = sum(y * R).
void check_module_gradients(nn::Module<double>& m, const TensorD& x) {
  test::check_gradients([&](const std::vector<TensorD>& in) { return m.forward(in[0]); }, {x});
  if (m.parameters().empty()) return;
  const TensorD probe = test::random<double>(m.forward(x).shape(), 99);
  auto loss = [&]() { return ops::sum(ops::mul(m.forward(x), probe)); };
  m.zero_grad();
  autograd::backward(loss());
  NoGrad ng;
  const double eps = 1e-6;
  for (auto& [name, p] : m.named_parameters()) {
    INFO("parameter " << name);
    const TensorD g = p.grad();
    REQUIRE(g.defined());
    double worst = 0;
    for (index_t i = 0; i < p.numel(); ++i) {
      const double saved = p.data()[i];
      p.data()[i] = saved + eps;
      const double lp = loss().item();
      p.data()[i] = saved - eps;
      const double lm = loss().item();
      p.data()[i] = saved;
      const double numeric = (lp - lm) / (2 * eps);
      worst = std::max(worst, std::abs(g.data()[i] - numeric) - 1e-4 * std::abs(numeric));
    }
    CHECK(worst <= 1e-6);
  }
}

}  // namespace

TEST_CASE("modules with covering windows equal the global ones; smaller windows match brute force (double)") {
  check_forwards<double>(1e-10);
}

TEST_CASE("the same in float") { check_forwards<float>(2e-5); }

TEST_CASE("local aggregation really differs from global on a non-stationary map") {
  // Guards the references: if every module silently stayed global, the brute-force checks above
  // would still pass for the covering windows but this one fails.
  TensorD x = test::random<double>({1, kC, 9, 11}, 6);
  for (index_t i = 0; i < x.numel(); ++i) x.data()[i] += double(i % 11) * 0.3;
  for (auto& s : subjects<double>(18)) {
    INFO(s.name);
    NoGrad ng;
    set_windows(*s.module, {});
    const TensorD global = broadcast_to(s.module->forward(x), x.shape());
    set_windows(*s.module, {3, 3});
    CHECK(test::max_abs_diff(s.module->forward(x), global) > 1e-3);
  }
}

TEST_CASE("module gradients match finite differences in double, global and local windows") {
  const TensorD x = test::random<double>({2, kC, 4, 5}, 7);
  for (auto& s : subjects<double>(19)) {
    for (WindowSize win : {WindowSize{}, WindowSize{3, 2}, WindowSize{2, 5}}) {
      INFO(s.name << " window " << win.kh << "x" << win.kw);
      set_windows(*s.module, win);
      check_module_gradients(*s.module, x);
    }
  }
}

TEST_CASE("CBAM with different average and max windows (set by hand) still matches brute force") {
  const TensorD x = test::random<double>({2, kC, 9, 11}, 8);
  nn::manual_seed(23);
  nn::CBAM<double> m(kC, kHidden);
  perturb(m, 24);
  const Weights w = weights_of(m);
  auto pools = local::aggregating_layers(m);
  REQUIRE(pools.size() == 2);
  for (auto [a, b] : {std::pair<WindowSize, WindowSize>{{3, 3}, {4, 6}}, {{}, {2, 5}}, {{5, 2}, {100, 100}}}) {
    INFO("avg " << a.kh << "x" << a.kw << " max " << b.kh << "x" << b.kw);
    pools[0].second->set_window(a);  // avg_pool, then max_pool
    pools[1].second->set_window(b);
    NoGrad ng;
    CHECK(test::max_abs_diff(m.forward(x), cbam_ref(x, w, a, b)) <= 1e-10);
  }
}

TEST_CASE("covering windows reproduce the global outputs exactly; local SE/SCA/CBAM run their MLP on the valid map") {
  const TensorF x = test::random<float>({1, kC, 9, 11}, 9);
  for (auto& s : subjects<float>(25)) {
    if (s.name == "InstanceNorm2d" || s.name == "GroupNorm" || s.name == "MDTA") continue;
    INFO(s.name);
    NoGrad ng;
    set_windows(*s.module, {});
    const TensorF global = s.module->forward(x);
    set_windows(*s.module, {9, 11});
    CHECK(test::max_abs_diff(s.module->forward(x), global) == 0.0);
  }
  // 1x1 convs cost C_in * C_out MACs per pixel they run on: 7 x 8 valid windows of 3 x 4 on 9 x 11.
  auto macs = [&](nn::Module<float>& m) {
    ops::MacCounter counter;
    NoGrad ng;
    m.forward(x);
    return counter.macs();
  };
  nn::SCA<float> sca(kC);
  nn::SE<float> se(kC, kHidden);
  nn::CBAM<float> cbam(kC, kHidden);
  for (nn::Module<float>* m : {static_cast<nn::Module<float>*>(&sca), static_cast<nn::Module<float>*>(&se),
                               static_cast<nn::Module<float>*>(&cbam)})
    set_windows(*m, {3, 4});
  CHECK(macs(sca) == double(kC * kC * 7 * 8));
  CHECK(macs(se) == double(2 * kC * kHidden * 7 * 8));
  CHECK(macs(cbam) == double(2 * 2 * kC * kHidden * 7 * 8 + 2 * 49 * 9 * 11));  // + the 7x7 spatial conv
}

TEST_CASE("MDTA without bias: local windows of the official Restormer TLC code, batch 2, gradients") {
  nn::manual_seed(23);
  nn::MDTA<double> m(6, 3, false);
  perturb(m, 24);
  const Weights w = [&] {
    Weights ws = weights_of(m);
    // the reference always adds biases; zero ones stand in for the missing parameters
    ws.emplace("qkv.bias", TensorD::zeros({18}));
    ws.emplace("qkv_dwconv.bias", TensorD::zeros({18}));
    ws.emplace("project_out.bias", TensorD::zeros({6}));
    return ws;
  }();
  CHECK(m.named_parameters().size() == 4);
  const TensorD x = test::random<double>({2, 6, 12, 10}, 8);
  for (WindowSize win : {WindowSize{5, 4}, WindowSize{12, 3}, WindowSize{7, 10}}) {
    INFO("window " << win.kh << "x" << win.kw);
    m.set_window(win);
    NoGrad ng;
    CHECK(test::max_abs_diff(m.forward(x), mdta_ref(x, w, 3, win)) <= 1e-10);
  }
  m.set_window({3, 4});
  check_module_gradients(m, test::random<double>({2, 6, 5, 6}, 9));
}

TEST_CASE("local::convert records each layer's map size and sets K = map * base // train") {
  nn::manual_seed(31);
  nn::Sequential<float> net;
  net.add(std::make_shared<nn::Conv2d<float>>(3, kC, 3, 2, 1));  // H -> ceil(H / 2)
  net.add(std::make_shared<nn::GE<float>>());
  auto inner = net.add(std::make_shared<nn::Sequential<float>>());
  inner->add(std::make_shared<nn::Conv2d<float>>(kC, kC, 3, 2, 1));
  inner->add(std::make_shared<nn::InstanceNorm2d<float>>(kC));
  inner->add(std::make_shared<nn::MDTA<float>>(kC, kHeads, false));
  net.add(std::make_shared<nn::SE<float>>(kC, kHidden));  // global output [N, C, 1, 1]

  // train 30 x 50, scale 1.5: base 45 x 75; maps 15 x 25 then 8 x 13.
  const auto list = local::convert(net, {30, 50, 1.5, 3});
  std::map<std::string, local::LayerWindow> by_name;
  for (const auto& l : list) by_name[l.name] = l;
  REQUIRE(by_name.size() == 4);
  auto expect = [&](const std::string& name, const char* kind, index_t mh, index_t mw, index_t kh, index_t kw) {
    INFO(name);
    REQUIRE(by_name.count(name));
    const auto& l = by_name.at(name);
    CHECK(l.kind == kind);
    CHECK(l.map_h == mh);
    CHECK(l.map_w == mw);
    CHECK(l.window == WindowSize{kh, kw});
  };
  expect("1.pool", "avg-pool", 15, 25, 22, 37);        // 15*45//30 = 22 (22.5), 25*75//50 = 37 (37.5)
  expect("2.1", "instance-norm", 8, 13, 12, 19);       // 8*45//30 = 12, 13*75//50 = 19 (19.5)
  expect("2.2", "attention", 8, 13, 12, 19);
  expect("3.0", "avg-pool", 8, 13, 12, 19);

  // Forwards at other sizes neither move the windows nor the recorded calibration maps.
  {
    NoGrad ng;
    net.forward(test::random<float>({2, 3, 70, 90}, 3, 0, 1));
  }
  const auto after = local::windows(net);
  REQUIRE(after.size() == list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    CHECK(after[i].window == list[i].window);
    CHECK(after[i].map_h == list[i].map_h);
    CHECK(after[i].map_w == list[i].map_w);
  }
  // Scale 1 on a square size: K = the map itself.
  for (const auto& l : local::convert(net, {40, 40, 1.0, 3})) CHECK(l.window == WindowSize{l.map_h, l.map_w});
}

TEST_CASE("aggregating modules reject bad shapes with an error naming the module") {
  using Catch::Matchers::Contains;
  const TensorF rank3 = TensorF::zeros({kC, 5, 5});
  CHECK_THROWS_WITH(nn::AvgPool<float>().forward(rank3), Contains("AvgPool"));
  CHECK_THROWS_WITH(nn::MaxPool<float>().forward(rank3), Contains("MaxPool"));
  CHECK_THROWS_WITH(nn::InstanceNorm2d<float>(kC).forward(rank3), Contains("InstanceNorm2d"));
  CHECK_THROWS_WITH(nn::MDTA<float>(kC, kHeads, false).forward(rank3), Contains("MDTA"));
  CHECK_THROWS_AS(nn::MDTA<float>(6, 4, false), ShapeError);
  CHECK_THROWS_WITH(nn::GroupNorm<float>(3, 4), Contains("GroupNorm") && Contains("4 channels and 3 groups"));
  // A channel count the module was not built for fails in its first convolution / norm.
  CHECK_THROWS_AS(nn::SE<float>(kC, kHidden).forward(TensorF::zeros({1, kC + 1, 5, 5})), ShapeError);
  CHECK_THROWS_AS(nn::GroupNorm<float>(kGroups, kC).forward(TensorF::zeros({1, kC + 2, 5, 5})), ShapeError);
}

TEST_CASE("SkipInit draws no weights in its scope only, and nests") {
  // Whether a conv's construction drew its weights from init_rng(): a copy of the generator taken
  // before it gives the next number the shared one gives after it only if nothing was drawn.
  auto draws = [] {
    Rng before = nn::init_rng();
    nn::Conv2d<float> conv(4, 8, 3, 1, 1);
    CHECK(conv.named_parameters().size() == 2);
    return before.next_u64() != nn::init_rng().next_u64();
  };
  {
    nn::SkipInit skip;
    {
      nn::SkipInit inner;
    }
    CHECK_FALSE(draws());
  }
  CHECK(draws());
}

TEST_CASE("load_state_dict is strict, copies a dict it is lent and takes over the tensors of one handed to it") {
  nn::Conv2d<float> conv(2, 3, 3, 1, 1);
  auto dict = [] {
    return nn::StateDict{{"weight", test::random<float>(Shape{3, 2, 3, 3}, 1)},
                         {"bias", test::random<float>(Shape{3}, 2)}};
  };
  auto param = [&](const std::string& name) {
    for (auto& [n, p] : conv.named_parameters())
      if (n == name) return p;
    FAIL("no parameter " << name);
    return TensorF();
  };
  const std::vector<float> before = param("weight").to_vector();
  // A mismatch names what is wrong and changes nothing, lent or handed over.
  nn::StateDict short_dict = dict();
  short_dict.pop_back();
  CHECK_THROWS_WITH(nn::load_state_dict(conv, short_dict), Catch::Contains("missing (1): bias"));
  CHECK_THROWS_WITH(nn::load_state_dict(conv, std::move(short_dict)), Catch::Contains("missing (1): bias"));
  CHECK(param("weight").to_vector() == before);

  const nn::StateDict lent = dict();
  nn::load_state_dict(conv, lent);
  CHECK(param("weight").to_vector() == lent[0].second.to_vector());
  CHECK(param("weight").data() != lent[0].second.data());

  nn::StateDict given = dict();
  const float* weight_memory = given[0].second.data();
  const TensorF kept = given[1].second.detach();  // the bias's memory is shared: it is copied
  nn::load_state_dict(conv, std::move(given));
  CHECK(given.empty());
  CHECK(param("weight").data() == weight_memory);
  CHECK(param("weight").to_vector() == dict()[0].second.to_vector());
  CHECK(param("bias").data() != kept.data());
  CHECK(param("bias").to_vector() == kept.to_vector());
  // The module's own handle sees the new memory: its forward uses the loaded weights.
  const TensorF x = test::random<float>(Shape{1, 2, 4, 4}, 3);
  nn::Conv2d<float> copied(2, 3, 3, 1, 1);
  nn::load_state_dict(copied, lent);  // by copy
  CHECK(conv.forward(x).to_vector() == copied.forward(x).to_vector());
}
