// Optimisers against PyTorch 1.13 (tests/data/optim/expected.json, written by
// weights_tools/make_optim_fixtures.py): AdamW / Adam trajectories, the cosine schedule,
// clip_grad_norm; plus warm-up and EMA against their formulas.
#include <cmath>

#include "test_util.hpp"
#include "tlc/io/file.hpp"
#include "tlc/io/json.hpp"
#include "tlc/optim/adamw.hpp"
#include "tlc/optim/clip.hpp"
#include "tlc/optim/ema.hpp"
#include "tlc/optim/schedule.hpp"

using namespace tlc;
namespace json = tlc::io::json;

namespace {

const json::Value& expected() {
  static const json::Value v =
      json::parse(io::read_file(std::string(TLC_SOURCE_DIR) + "/tests/data/optim/expected.json", 1 << 20));
  return v;
}

const json::Value& field(const json::Value& v, const char* key) {
  const json::Value* f = v.find(key);
  REQUIRE(f);
  return *f;
}

std::vector<double> numbers(const json::Value& v) {
  std::vector<double> out;
  for (const auto& e : v.as_array()) out.push_back(e.as_double());
  return out;
}

Shape shape_of(const json::Value& v) {
  std::vector<index_t> dims;
  for (const auto& d : v.as_array()) dims.push_back(d.as_int());
  return Shape(dims.begin(), dims.end());
}

// One tensor per entry of a list of flat value arrays, shaped by `shapes`.
template <class T>
std::vector<Tensor<T>> tensors(const json::Value& shapes, const json::Value& values, bool requires_grad) {
  std::vector<Tensor<T>> out;
  for (size_t i = 0; i < values.as_array().size(); ++i) {
    std::vector<T> v;
    for (double d : numbers(values.as_array()[i])) v.push_back(static_cast<T>(d));
    out.push_back(Tensor<T>::from_vector(shape_of(shapes.as_array()[i]), v));
    out.back().requires_grad_(requires_grad);
  }
  return out;
}

// Largest |a - b| over parameter lists, with b given as flat JSON arrays.
template <class T>
double max_diff(const std::vector<Tensor<T>>& a, const json::Value& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto want = numbers(b.as_array()[i]);
    auto got = a[i].to_vector();
    REQUIRE(got.size() == want.size());
    for (size_t j = 0; j < want.size(); ++j) m = std::max(m, std::abs(double(got[j]) - want[j]));
  }
  return m;
}

// Replays one optimiser fixture: same initial values, same gradients, lr from our schedule.
template <class T>
void replay(const json::Value& c, double tol) {
  const bool adamw = field(c, "kind").as_string() == "adamw";
  INFO((adamw ? "AdamW" : "Adam (L2)") << (field(c, "cosine").is_null() ? "" : " + cosine"));
  auto params = tensors<T>(field(c, "shapes"), field(c, "init"), true);
  auto betas = numbers(field(c, "betas"));
  optim::AdamOptions o;
  o.lr = field(c, "lr").as_double();
  o.beta1 = betas[0];
  o.beta2 = betas[1];
  o.eps = field(c, "eps").as_double();
  o.weight_decay = field(c, "weight_decay").as_double();
  o.decoupled = adamw;
  optim::Adam<T> opt(params, o);
  optim::CosineSchedule sched;
  const json::Value& cos = field(c, "cosine");
  if (!cos.is_null()) sched = {o.lr, field(cos, "eta_min").as_double(), field(cos, "t_max").as_int()};
  const auto lrs = numbers(field(c, "lrs"));
  const auto& grads = field(c, "grads").as_array();
  const auto& after = field(c, "after").as_array();
  for (size_t step = 0; step < grads.size(); ++step) {
    INFO("step " << step + 1);
    if (!cos.is_null()) opt.set_lr(sched.at(static_cast<long long>(step) + 1));
    CHECK(std::abs(opt.lr() - lrs[step]) <= 1e-15);
    auto g = tensors<T>(field(c, "shapes"), grads[step], false);
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(g[i]);
    opt.step();
    CHECK(opt.step_count() == static_cast<long long>(step) + 1);
    CHECK(max_diff(params, after[step]) <= tol);
  }
}

}  // namespace

TEST_CASE("AdamW and Adam (L2) follow torch.optim step by step, in double and float") {
  const auto& cases = field(expected(), "optimisers").as_array();
  REQUIRE(cases.size() == 3);
  for (const auto& c : cases) {
    replay<double>(c, 1e-12);
    replay<float>(c, 2e-6);
  }
}

TEST_CASE("Adam's blocked CPU update (vectorised sqrt) equals the element kernel, past block and vector tails") {
  for (bool decoupled : {true, false}) {
    const index_t n = 1037;  // 4 blocks of 256 and a tail of 13
    TensorF p = test::random<float>({n}, 1).requires_grad_(true), ref = p.detach().clone();
    std::vector<float> m(static_cast<size_t>(n), 0.0f), v(m.size(), 0.0f);
    optim::AdamOptions o;
    o.lr = 1e-2;
    o.weight_decay = 0.05;
    o.decoupled = decoupled;
    optim::Adam<float> opt({p}, o);
    for (int step = 1; step <= 3; ++step) {
      const TensorF g = test::random<float>({n}, 10 + step);
      p.set_grad(g);
      opt.step();
      const float bc1 = 1.0f - static_cast<float>(std::pow(o.beta1, double(step)));
      const float bc2 = 1.0f - static_cast<float>(std::pow(o.beta2, double(step)));
      const kernels::AdamStep<float> f{float(o.lr), float(o.beta1), float(o.beta2), float(o.eps), float(o.weight_decay),
                                       bc1, bc2, decoupled};
      float* r = ref.data();
      for (index_t j = 0; j < n; ++j) f(r[j], m[size_t(j)], v[size_t(j)], g.data()[j]);
      INFO("decoupled " << decoupled << ", step " << step);
      CHECK(test::max_abs_diff(p.detach(), ref) == 0.0);
    }
  }
}

TEST_CASE("the fixture moves parameters far beyond the tolerance (the comparison can fail)") {
  // Each step moves a parameter by about lr; a wrong decay or bias correction shows up well above 1e-12.
  const auto& c = field(expected(), "optimisers").as_array()[0];
  auto init = tensors<double>(field(c, "shapes"), field(c, "init"), false);
  CHECK(max_diff(init, field(c, "after").as_array().back()) > 1e-3);
}

TEST_CASE("Adam leaves parameters without a gradient alone and rejects frozen parameters") {
  TensorD a = test::random<double>({3}, 1), b = test::random<double>({2}, 2);
  a.requires_grad_();
  b.requires_grad_();
  const auto b0 = b.to_vector();
  optim::Adam<double> opt({a, b}, {});
  a.set_grad(TensorD::ones({3}));
  opt.step();
  CHECK(b.to_vector() == b0);
  CHECK(a.to_vector() != test::random<double>({3}, 1).to_vector());
  TensorD frozen = TensorD::zeros({2});
  CHECK_THROWS_AS(optim::Adam<double>({frozen}, {}), Error);
}

TEST_CASE("cosine schedule: the official recipe's formula and torch CosineAnnealingLR stepped t-1 times") {
  for (const auto& c : field(expected(), "cosine").as_array()) {
    const double lr0 = field(c, "lr0").as_double(), eta_min = field(c, "eta_min").as_double();
    const long long t_max = field(c, "t_max").as_int();
    const optim::CosineSchedule s{lr0, eta_min, t_max};
    const auto torch_lrs = numbers(field(c, "lrs"));
    REQUIRE(torch_lrs.size() == static_cast<size_t>(t_max + 1));
    for (long long t = 1; t <= t_max + 1; ++t) {
      INFO("T_max " << t_max << ", t " << t);
      const double pi = std::acos(-1.0);
      const double formula = eta_min + (lr0 - eta_min) * (1 + std::cos(pi * double(t - 1) / double(t_max))) / 2;
      CHECK(std::abs(s.at(t) - formula) <= 1e-18);
      // torch's recursive form drifts by rounding only.
      CHECK(std::abs(s.at(t) - torch_lrs[t - 1]) <= 1e-12 * lr0);
    }
    CHECK(s.at(1) == lr0);
    CHECK(std::abs(s.at(t_max + 1) - eta_min) <= 1e-18);
  }
}

TEST_CASE("linear warm-up overrides the cosine value before warmup_iters (BasicSR rule)") {
  const optim::CosineSchedule plain{1e-3, 1e-7, 100};
  optim::CosineSchedule warm = plain;
  warm.warmup_iters = 10;
  for (long long t = 1; t < 10; ++t) CHECK(warm.at(t) == Approx(1e-3 * double(t) / 10.0).epsilon(1e-15));
  for (long long t = 10; t <= 101; ++t) CHECK(warm.at(t) == plain.at(t));
}

TEST_CASE("clip_grad_norm matches torch.nn.utils.clip_grad_norm_ above and below the limit") {
  for (const auto& c : field(expected(), "clip").as_array()) {
    const double torch_norm = field(c, "norm").as_double();
    INFO("norm " << torch_norm);
    auto params = tensors<double>(field(c, "shapes"), field(c, "grads"), true);
    auto grads = tensors<double>(field(c, "shapes"), field(c, "grads"), false);
    for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
    const double norm = optim::clip_grad_norm(params, field(c, "max_norm").as_double());
    CHECK(std::abs(norm - torch_norm) <= 1e-15 * std::max(1.0, torch_norm));
    std::vector<TensorD> clipped;
    for (auto& p : params) clipped.push_back(p.grad());
    CHECK(max_diff(clipped, field(c, "clipped")) <= 1e-15);
  }
  // float: same result to float rounding
  const auto& c = field(expected(), "clip").as_array()[0];
  auto params = tensors<float>(field(c, "shapes"), field(c, "grads"), true);
  auto grads = tensors<float>(field(c, "shapes"), field(c, "grads"), false);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
  CHECK(optim::clip_grad_norm(params, 0.01) == Approx(field(c, "norm").as_double()).epsilon(1e-6));
  std::vector<TensorF> clipped;
  for (auto& p : params) clipped.push_back(p.grad());
  CHECK(max_diff(clipped, field(c, "clipped")) <= 1e-8);
  // A gradient longer than the 16 partial sums, with a tail: the brute-force norm.
  TensorF long_param = test::random<float>({1037}, 3).requires_grad_(true);
  const TensorF long_grad = test::random<float>({1037}, 4);
  long_param.set_grad(long_grad);
  double sq = 0;
  for (float g : long_grad.to_vector()) sq += double(g) * double(g);
  CHECK(optim::clip_grad_norm(std::vector<TensorF>{long_param}, 1e9) == Approx(std::sqrt(sq)).epsilon(1e-14));
}

TEST_CASE("grads_finite spots NaN and infinity") {
  TensorD p = TensorD::zeros({3});
  p.requires_grad_();
  p.set_grad(TensorD::from_vector({3}, {1.0, 2.0, 3.0}));
  CHECK(optim::grads_finite<double>({p}));
  p.grad().data()[1] = NAN;
  CHECK_FALSE(optim::grads_finite<double>({p}));
  p.grad().data()[1] = INFINITY;
  CHECK_FALSE(optim::grads_finite<double>({p}));
}

TEST_CASE("EMA keeps a separate shadow: s = d*s + (1-d)*p after every update") {
  TensorD p = test::random<double>({2, 3}, 11);
  p.requires_grad_();
  const double d = 0.9;
  optim::Ema<double> ema({p}, d);
  std::vector<double> s = p.to_vector();
  for (int k = 0; k < 4; ++k) {
    const auto before = ema.shadow()[0].to_vector();
    // Changing the parameter does not touch the shadow until update().
    const TensorD step = test::random<double>({2, 3}, 20 + k);
    for (index_t i = 0; i < p.numel(); ++i) p.data()[i] += step.data()[i];
    CHECK(ema.shadow()[0].to_vector() == before);
    ema.update();
    auto pv = p.to_vector();
    for (size_t i = 0; i < s.size(); ++i) s[i] = d * s[i] + (1 - d) * pv[i];
    auto got = ema.shadow()[0].to_vector();
    for (size_t i = 0; i < s.size(); ++i) CHECK(std::abs(got[i] - s[i]) <= 1e-15);
  }
}
