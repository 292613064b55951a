// The CUDA paths of the reductions, layout, softmax, loss, window and optimiser ops against the
// CPU ops on random inputs, forward and backward through autograd. Skipped without a GPU.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"
#include "tlc/local/windows.hpp"
#include "tlc/optim/adamw.hpp"
#include "tlc/optim/clip.hpp"
#include "tlc/optim/ema.hpp"

using namespace tlc;
using test::max_abs_diff;
using test::kGpu;
using test::random;

namespace {

// CPU vs CUDA, outputs and input gradients, by the largest absolute difference.
void check_op(const std::string& what, const test::OpFn& f, const std::vector<TensorF>& inputs, double tol = 1e-5) {
  test::check_op(what, f, inputs, tol, [](const TensorF& a, const TensorF& b) { return max_abs_diff(a, b); });
}

}  // namespace

TEST_CASE("cuda ops: sum, mean and broadcasting backward match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorF x = random<float>({3, 5, 7, 9}, 1);
  for (const std::vector<int>& axes : std::vector<std::vector<int>>{{}, {0}, {1}, {2, 3}, {0, 2}, {-1}, {0, 1, 3}})
    for (bool keep : {false, true})
      check_op("sum axes " + std::to_string(axes.size()) + (keep ? " keepdim" : ""),
               [&](const std::vector<TensorF>& v) { return ops::sum(v[0], axes, keep); }, {x});
  check_op("mean", [](const std::vector<TensorF>& v) { return ops::mean(v[0], {1, 2}); }, {x});
  // Long reductions take the block path (one block per output), short ones one thread per output.
  const TensorF big = random<float>({4, 6, 40, 50}, 2);
  check_op("sum over N, H, W", [](const std::vector<TensorF>& v) { return ops::sum(v[0], {0, 2, 3}); }, {big}, 1e-3);
  check_op("broadcast add", [](const std::vector<TensorF>& v) { return ops::add(v[0], v[1]); },
           {big, random<float>({1, 6, 1, 1}, 3)}, 1e-3);
  check_op("broadcast mul over C", [](const std::vector<TensorF>& v) { return ops::mul(v[0], v[1]); },
           {big, random<float>({4, 1, 40, 50}, 4)}, 1e-4);
  check_op("broadcast div rank 2", [](const std::vector<TensorF>& v) { return ops::div(v[0], v[1]); },
           {random<float>({5, 7}, 5), random<float>({7}, 6, 1.0, 2.0)});
}

TEST_CASE("cuda ops: the sum is deterministic") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorF x = random<float>({2, 8, 128, 128}, 7).to(kGpu);
  const auto a = ops::sum(x).to_vector(), b = ops::sum(x).to_vector();
  CHECK(a == b);
  const auto c = ops::sum(x, {0, 2, 3}).to_vector(), d = ops::sum(x, {0, 2, 3}).to_vector();
  CHECK(c == d);
}

TEST_CASE("cuda ops: pixel shuffle, pad, crop, concat, slice and split match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorF x = random<float>({2, 12, 5, 6}, 11);
  check_op("pixel_shuffle", [](const std::vector<TensorF>& v) { return ops::pixel_shuffle(v[0], 2); }, {x});
  check_op("pixel_unshuffle", [](const std::vector<TensorF>& v) { return ops::pixel_unshuffle(v[0], 3); },
           {random<float>({2, 3, 9, 6}, 12)});
  for (ops::PadMode mode : {ops::PadMode::Zero, ops::PadMode::Replicate, ops::PadMode::Reflect})
    check_op("pad mode " + std::to_string(static_cast<int>(mode)),
             [mode](const std::vector<TensorF>& v) { return ops::pad(v[0], 2, 1, 3, 4, mode); }, {x});
  check_op("crop", [](const std::vector<TensorF>& v) { return ops::crop(v[0], 1, 2, 3, 3); }, {x});
  check_op("concat axis 1", [](const std::vector<TensorF>& v) { return ops::concat(v, 1); },
           {x, random<float>({2, 3, 5, 6}, 13)});
  check_op("concat axis -1", [](const std::vector<TensorF>& v) { return ops::concat(v, -1); },
           {x, random<float>({2, 12, 5, 2}, 14), random<float>({2, 12, 5, 1}, 15)});
  check_op("slice", [](const std::vector<TensorF>& v) { return ops::slice(v[0], 2, 1, 4); }, {x});
  check_op("split", [](const std::vector<TensorF>& v) {
    const auto parts = ops::split(v[0], 1, {5, 7});
    return ops::add(ops::mul_scalar(parts[0], 2.f), ops::slice(parts[1], 1, 0, 5));
  }, {x});
}

TEST_CASE("cuda ops: softmax and l2_normalize match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorF x = random<float>({2, 4, 6, 33}, 21, -3.0, 3.0);
  for (int axis : {-1, 1, 2})
    check_op("softmax axis " + std::to_string(axis),
             [axis](const std::vector<TensorF>& v) { return ops::softmax(v[0], axis); }, {x});
  for (int axis : {-1, 1})
    check_op("l2_normalize axis " + std::to_string(axis),
             [axis](const std::vector<TensorF>& v) { return ops::l2_normalize(v[0], axis); }, {x});
  // Rows whose norm is below eps take the constant-divisor branch.
  check_op("l2_normalize tiny rows", [](const std::vector<TensorF>& v) { return ops::l2_normalize(v[0], -1, 1e-2); },
           {random<float>({3, 4}, 22, -1e-3, 1e-3)}, 1e-4);
}

TEST_CASE("cuda ops: pixel losses match the CPU, forward and backward") {
  TLC_SKIP_WITHOUT_GPU();
  // More than one chunk (2^14 elements) per image, with a partial last chunk.
  const TensorF pred = random<float>({3, 3, 100, 70}, 31), target = random<float>({3, 3, 100, 70}, 32);
  const std::vector<std::pair<std::string, test::OpFn>> losses = {
      {"l1", [](const std::vector<TensorF>& v) { return ops::l1_loss(v[0], v[1]); }},
      {"mse", [](const std::vector<TensorF>& v) { return ops::mse_loss(v[0], v[1]); }},
      {"charbonnier", [](const std::vector<TensorF>& v) { return ops::charbonnier_loss(v[0], v[1]); }},
      {"psnr", [](const std::vector<TensorF>& v) { return ops::psnr_loss(v[0], v[1]); }},
  };
  for (const auto& [name, f] : losses) {
    check_op(name, f, {pred, target}, 1e-5);
    const TensorF a = f({pred.to(kGpu), target.to(kGpu)}), b = f({pred.to(kGpu), target.to(kGpu)});
    CHECK(a.item() == b.item());  // deterministic
  }
}

TEST_CASE("cuda ops: window_partition and window_merge match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorF x = random<float>({2, 3, 13, 11}, 41);
  check_op("window_partition", [](const std::vector<TensorF>& v) { return ops::window_partition(v[0], 5, 4); }, {x});
  const local::WindowGrid g(13, 11, 5, 4);
  check_op("window_merge", [](const std::vector<TensorF>& v) { return ops::window_merge(v[0], 2, 13, 11, 5, 4); },
           {random<float>({2 * g.count(), 3, 5, 4}, 42)});
  // Rows wider than the merge's 64-pixel accumulator tile, with overlapping columns.
  check_op("window_partition wide", [](const std::vector<TensorF>& v) { return ops::window_partition(v[0], 13, 50); },
           {random<float>({1, 2, 37, 157}, 43)});
}

TEST_CASE("cuda ops: Adam, AdamW, EMA and gradient clipping match the CPU") {
  TLC_SKIP_WITHOUT_GPU();
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
      for (size_t i = 0; i < pc.size(); ++i) CHECK(max_abs_diff(pg[i].grad(), pc[i].grad()) <= 1e-7);
      ac.step();
      ag.step();
      ec.update();
      eg.update();
    }
    for (size_t i = 0; i < pc.size(); ++i) {
      CHECK(max_abs_diff(pg[i], pc[i]) <= 1e-6);
      CHECK(max_abs_diff(ag.first_moments()[i], ac.first_moments()[i]) <= 1e-6);
      CHECK(max_abs_diff(ag.second_moments()[i], ac.second_moments()[i]) <= 1e-6);
      CHECK(max_abs_diff(eg.shadow()[i], ec.shadow()[i]) <= 1e-6);
    }
    CHECK(optim::grads_finite(pg));
    std::vector<float> bad(7, 0.f);
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    pg[1].set_grad(TensorF::from_vector({7}, bad).to(kGpu));
    CHECK_FALSE(optim::grads_finite(pg));
  }
}

TEST_CASE("cuda ops: float64 on CUDA throws DTypeError naming the op") {
  TLC_SKIP_WITHOUT_GPU();
  const TensorD x = random<double>({2, 3, 4, 4}, 71).to(kGpu);
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
}
