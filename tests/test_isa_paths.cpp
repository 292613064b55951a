// The CPU ops whose loops are chosen at run time (ops/cpu/isa_target.hpp: with_cpu_isa,
// parallel_for_vectorised; vec_math's kernels) give the same results with every instruction set
// this CPU supports: each op's output and input gradients (through autograd) with AVX2 / AVX-512
// against the same op with TLC_ISA=scalar, on float32 inputs whose sizes leave vector tails. The
// op tests check the default path against naive loops; this closes the loop for the other paths.
#include <functional>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "tlc/optim/adamw.hpp"

using namespace tlc;
using test::random;
using V = std::vector<TensorF>;

namespace {

struct Result {
  TensorF y;
  std::vector<TensorF> grads;
};

// f on fresh leaves; the gradients of sum(f(x) * w) for a fixed random w.
Result run(const std::function<TensorF(const V&)>& f, const V& inputs) {
  V leaves;
  for (const auto& x : inputs) leaves.push_back(x.clone()), leaves.back().requires_grad_();
  Result r{f(leaves), {}};
  autograd::backward(ops::sum(ops::mul(r.y, random<float>(r.y.shape(), 99))));
  for (const auto& x : leaves) r.grads.push_back(x.grad());
  return r;
}

// max |a - b| over max(1, max |b|): float32 roundings that differ (FMA contraction, lane order).
double scaled_diff(const TensorF& a, const TensorF& b) {
  double scale = 1;
  for (float v : b.to_vector()) scale = std::max(scale, double(std::abs(v)));
  return test::max_abs_diff(a, b) / scale;
}

void check_every_isa(const std::string& what, const std::function<TensorF(const V&)>& f, const V& inputs) {
  INFO(what);
  const Result want = test::with_isa(CpuIsa::Scalar, [&] { return run(f, inputs); });
  test::for_each_isa([&] {
    const Result got = run(f, inputs);
    CHECK(scaled_diff(got.y, want.y) <= 2e-6);
    for (size_t i = 0; i < inputs.size(); ++i) {
      INFO("gradient of input " << i);
      CHECK(scaled_diff(got.grads[i], want.grads[i]) <= 2e-6);
    }
  });
}

}  // namespace

TEST_CASE("element-wise ops agree across instruction sets") {
  const TensorF x = random<float>({2, 3, 7, 13}, 1, -4.0, 4.0), b = random<float>({2, 3, 7, 13}, 2, 0.5, 2.0);
  const TensorF per_channel = random<float>({1, 3, 1, 1}, 3), row = random<float>({13}, 4);
  check_every_isa("relu, tanh, exp", [](const V& v) { return ops::exp(ops::tanh(ops::relu(v[0]))); }, {x});
  check_every_isa("gelu", [](const V& v) { return ops::gelu(v[0]); }, {x});
  check_every_isa("sigmoid", [](const V& v) { return ops::sigmoid(v[0]); }, {x});
  check_every_isa("mul, div, sub", [](const V& v) { return ops::sub(ops::div(ops::mul(v[0], v[1]), v[1]), v[1]); },
                  {x, b});
  check_every_isa("mul by a per-channel scale", [](const V& v) { return ops::mul(v[0], v[1]); }, {x, per_channel});
  check_every_isa("add a row", [](const V& v) { return ops::add(v[0], v[1]); }, {x, row});
  check_every_isa("addcmul", [](const V& v) { return ops::addcmul(v[0], v[1], v[2]); }, {x, b, per_channel});
}

TEST_CASE("gates, norms and softmax agree across instruction sets") {
  const TensorF x = random<float>({2, 10, 9, 11}, 5, -2.0, 3.0);
  const TensorF w = random<float>({10}, 6, 0.5, 1.5), bias = random<float>({10}, 7);
  check_every_isa("simple_gate", [](const V& v) { return ops::simple_gate(v[0]); }, {x});
  check_every_isa("gelu_gate", [](const V& v) { return ops::gelu_gate(v[0]); }, {x});
  check_every_isa("layer_norm2d", [](const V& v) { return ops::layer_norm2d(v[0], v[1], v[2]); }, {x, w, bias});
  check_every_isa("instance_norm", [](const V& v) { return ops::instance_norm(v[0], v[1], v[2]); }, {x, w, bias});
  check_every_isa("group_norm, TLC window 5x4", [](const V& v) {
    return ops::group_norm(v[0], 5, v[1], v[2], 1e-5, ops::Window{5, 4});
  }, {x, w, bias});
  check_every_isa("local_mean 4x6 (TLC)", [](const V& v) { return ops::local_mean(v[0], 4, 6); }, {x});
  check_every_isa("softmax", [](const V& v) { return ops::softmax(v[0], 3); }, {x});
}

TEST_CASE("depthwise and biased convolutions agree across instruction sets") {
  const TensorF x = random<float>({2, 8, 12, 9}, 8);
  check_every_isa("depthwise 3x3", [](const V& v) { return ops::conv2d(v[0], v[1], v[2], {1, 1, 1, 1, 8}); },
                  {x, random<float>({8, 1, 3, 3}, 9), random<float>({8}, 10)});
  check_every_isa("depthwise 5x5, padding 2", [](const V& v) { return ops::conv2d(v[0], v[1], v[2], {1, 1, 2, 2, 8}); },
                  {x, random<float>({8, 1, 5, 5}, 11), random<float>({8}, 12)});
  check_every_isa("1x1 with bias", [](const V& v) { return ops::conv2d(v[0], v[1], v[2]); },
                  {x, random<float>({5, 8, 1, 1}, 13), random<float>({5}, 14)});
}

TEST_CASE("AdamW steps agree across instruction sets") {
  auto steps = [] {
    std::vector<TensorF> p = {random<float>({4, 50}, 51), random<float>({7}, 52)};
    for (auto& t : p) t.requires_grad_();
    optim::AdamOptions opt;
    opt.lr = 1e-2, opt.weight_decay = 0.1, opt.decoupled = true;
    optim::Adam<float> adam(p, opt);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < p.size(); ++i)
        p[i].set_grad(random<float>(p[i].shape(), 60 + static_cast<std::uint64_t>(step * 2 + i), -5.0, 5.0));
      adam.step();
    }
    return p;
  };
  const std::vector<TensorF> want = test::with_isa(CpuIsa::Scalar, steps);
  test::for_each_isa([&] {
    const std::vector<TensorF> got = steps();
    for (size_t i = 0; i < got.size(); ++i) CHECK(scaled_diff(got[i], want[i]) <= 1e-6);
  });
}
