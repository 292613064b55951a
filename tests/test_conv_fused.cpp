// The inference forms of conv2d (ops/conv_fused.hpp): a convolution with its LeakyReLU applied by the
// GEMM as it stores each tile, a convolution added into a tensor's own memory, these and the plain
// convolution over two inputs stacked along the channels, against the ops they replace; and the cases
// where they must fall back.
#include "test_util.hpp"
#include "tlc/ops/conv_fused.hpp"

using namespace tlc;
using test::random;

namespace {

struct ConvCase {
  const char* name;
  Shape x;
  index_t cout, kernel;
  ops::Conv2dParams p;
  bool bias;
};

// Every GEMM path of conv2d: 1x1 (the image is the operand), 3x3 padded (columns gathered by the
// GEMM), 4x4 stride 2 (the UNet's downsampling), grouped, a batch, odd sizes, no bias.
const std::vector<ConvCase> kCases = {
    {"1x1 16->24", {1, 16, 13, 17}, 24, 1, {}, true},
    {"3x3 5->7, batch 2", {2, 5, 11, 9}, 7, 3, {1, 1, 1, 1, 1}, true},
    {"4x4 stride 2, no bias", {1, 8, 14, 10}, 8, 4, {2, 2, 1, 1, 1}, false},
    {"3x3 grouped 8->6 in 2", {1, 8, 9, 9}, 6, 3, {1, 1, 1, 1, 2}, true},
    {"3x3 16->40 on a wide map", {1, 16, 5, 301}, 40, 3, {1, 1, 1, 1, 1}, true},
};

struct Operands {
  TensorF x, w, b;
};

Operands operands(const ConvCase& c, std::uint64_t seed) {
  const index_t cin_g = c.x[1] / c.p.groups;
  return {random<float>(c.x, seed, -1, 1), random<float>({c.cout, cin_g, c.kernel, c.kernel}, seed + 1, -0.5f, 0.5f),
          c.bias ? random<float>({c.cout}, seed + 2, -0.5f, 0.5f) : TensorF()};
}

}  // namespace

TEST_CASE("conv2d_leaky_relu and conv2d_add equal the two ops bit for bit on every GEMM path") {
  NoGrad ng;
  std::uint64_t seed = 10;
  for (const ConvCase& c : kCases) {
    const Operands o = operands(c, seed += 3);
    const TensorF conv = ops::conv2d(o.x, o.w, o.b, c.p);
    for (int threads : {1, 2}) {
      test::ThreadCount tc(threads);
      INFO(c.name << ", " << threads << " threads");
      for (float slope : {0.2f, 0.0f}) {
        INFO("slope " << slope);
        CHECK(test::max_abs_diff(ops::conv2d_leaky_relu(o.x, o.w, o.b, c.p, slope), ops::leaky_relu(conv, slope)) == 0);
      }
      TensorF acc = random<float>(conv.shape(), seed + 5, -2, 2);
      const TensorF expected = ops::add(acc, conv);
      const float* memory = acc.data();
      const TensorF sum = ops::conv2d_add(std::move(acc), o.x, o.w, o.b, c.p);
      CHECK(sum.data() == memory);  // formed in the addend's memory
      CHECK(test::max_abs_diff(sum, expected) == 0);
    }
  }
}

TEST_CASE("over two stacked inputs they equal the ops on the concatenation, bit for bit") {
  NoGrad ng;
  std::uint64_t seed = 50;
  for (const ConvCase& c : kCases) {
    if (c.p.groups != 1) continue;
    const Operands o = operands(c, seed += 3);
    const TensorF conv = ops::conv2d(o.x, o.w, o.b, c.p);
    for (index_t split : {index_t(1), c.x[1] / 2, c.x[1] - 1}) {
      const ops::ChannelStack<float> stack(ops::slice(o.x, 1, 0, split), ops::slice(o.x, 1, split, c.x[1]));
      for (int threads : {1, 2}) {
        test::ThreadCount tc(threads);
        INFO(c.name << ", first " << split << " channels, " << threads << " threads");
        CHECK(test::max_abs_diff(ops::conv2d(stack, o.w, o.b, c.p), conv) == 0);
        CHECK(test::max_abs_diff(ops::conv2d_leaky_relu<float>(stack, o.w, o.b, c.p, 0.2f),
                                 ops::leaky_relu(conv, 0.2f)) == 0);
        TensorF acc = random<float>(conv.shape(), seed + 5, -2, 2);
        const TensorF expected = ops::add(acc, conv);
        CHECK(test::max_abs_diff(ops::conv2d_add<float>(std::move(acc), stack, o.w, o.b, c.p), expected) == 0);
      }
    }
  }
}

TEST_CASE("conv2d_add over more than one GEMM depth block (K > 256) stays within float rounding") {
  NoGrad ng;
  const ConvCase c{"3x3 32->8", {1, 32, 19, 23}, 8, 3, {1, 1, 1, 1, 1}, true};  // K = 288
  const Operands o = operands(c, 3);
  const TensorF conv = ops::conv2d(o.x, o.w, o.b, c.p);
  TensorF acc = random<float>(conv.shape(), 4, -2, 2);
  const TensorF expected = ops::add(acc, conv);
  const TensorF sum = ops::conv2d_add(std::move(acc), o.x, o.w, o.b, c.p);
  CHECK(test::max_abs_diff(sum, expected) <= 1e-5);
  CHECK(test::max_abs_diff(ops::conv2d_leaky_relu(o.x, o.w, o.b, c.p, 0.1f), ops::leaky_relu(conv, 0.1f)) == 0);
}

TEST_CASE("where they cannot fuse they are the two ops: a tape, a shared or broadcast addend, depthwise") {
  const ConvCase c = kCases[1];
  const Operands o = operands(c, 20);
  TensorF conv;
  {
    NoGrad ng;
    conv = ops::conv2d(o.x, o.w, o.b, c.p);
  }

  SECTION("an addend held elsewhere is left as it was") {
    NoGrad ng;
    const TensorF acc = random<float>(conv.shape(), 21, -1, 1);
    const std::vector<float> before = acc.to_vector();
    const TensorF sum = ops::conv2d_add(acc, o.x, o.w, o.b, c.p);
    CHECK(acc.to_vector() == before);
    CHECK(!sum.shares_storage(acc));
    CHECK(test::max_abs_diff(sum, ops::add(acc, conv)) == 0);
  }
  SECTION("a broadcast addend") {
    NoGrad ng;
    const TensorF acc = random<float>({1, c.cout, 1, 1}, 22, -1, 1);
    const TensorF sum = ops::conv2d_add(TensorF(acc), o.x, o.w, o.b, c.p);
    CHECK(sum.shape() == conv.shape());
    CHECK(test::max_abs_diff(sum, ops::add(acc, conv)) == 0);
  }
  SECTION("depthwise filters") {
    NoGrad ng;
    const TensorF x = random<float>({1, 6, 9, 7}, 23, -1, 1), w = random<float>({6, 1, 3, 3}, 24, -1, 1);
    const ops::Conv2dParams dw{1, 1, 1, 1, 6};
    const TensorF y = ops::conv2d(x, w, TensorF(), dw);
    CHECK(test::max_abs_diff(ops::conv2d_leaky_relu(x, w, TensorF(), dw, 0.2f), ops::leaky_relu(y, 0.2f)) == 0);
    TensorF acc = random<float>(y.shape(), 25, -1, 1);
    const TensorF expected = ops::add(acc, y);
    CHECK(test::max_abs_diff(ops::conv2d_add(std::move(acc), x, w, TensorF(), dw), expected) == 0);
  }
  SECTION("grouped filters over a stack, and stacks that do not fit") {
    NoGrad ng;
    const ConvCase grouped = kCases[3];
    const Operands g = operands(grouped, 60);
    const ops::ChannelStack<float> stack(ops::slice(g.x, 1, 0, 3), ops::slice(g.x, 1, 3, 8));
    CHECK(test::max_abs_diff(ops::conv2d_leaky_relu<float>(stack, g.w, g.b, grouped.p, 0.2f),
                             ops::leaky_relu(ops::conv2d(g.x, g.w, g.b, grouped.p), 0.2f)) == 0);
    const TensorF a = random<float>({1, 2, 11, 9}, 61), other_size = random<float>({1, 3, 11, 8}, 62),
                  other_batch = random<float>({2, 3, 11, 9}, 63);
    for (const TensorF& b : {other_size, other_batch})
      CHECK_THROWS_AS(ops::conv2d_leaky_relu<float>({a, b}, o.w, o.b, c.p, 0.2f), ShapeError);
    const TensorF three = random<float>({1, 3, 11, 9}, 64);  // 2 + 3 channels against a filter of 5
    CHECK_NOTHROW(ops::conv2d_leaky_relu<float>({a, three}, o.w, o.b, c.p, 0.2f));
    const TensorF four = random<float>({1, 4, 11, 9}, 65);
    CHECK_THROWS_AS(ops::conv2d_leaky_relu<float>({a, four}, o.w, o.b, c.p, 0.2f), ShapeError);
  }
  SECTION("a tape records both ops, with their gradients (double)") {
    const TensorD x = random<double>({1, 3, 6, 5}, 26, -1, 1), w = random<double>({4, 3, 3, 3}, 27, -1, 1),
                  b = random<double>({4}, 28, -1, 1), acc = random<double>({1, 4, 6, 5}, 29, -1, 1);
    const ops::Conv2dParams p{1, 1, 1, 1, 1};
    for (const TensorD& t : {x, w, b, acc}) t.requires_grad_();
    const TensorD y = ops::conv2d_leaky_relu(x, w, b, p, 0.2);
    CHECK(y.requires_grad());
    test::check_gradients(
        [&](const std::vector<TensorD>& in) { return ops::conv2d_leaky_relu(in[0], in[1], in[2], p, 0.2); }, {x, w, b});
    test::check_gradients(
        [&](const std::vector<TensorD>& in) { return ops::conv2d_add(TensorD(in[3]), in[0], in[1], in[2], p); },
        {x, w, b, acc});
    const TensorD x2 = random<double>({1, 2, 6, 5}, 34, -1, 1), w5 = random<double>({4, 5, 3, 3}, 35, -1, 1);
    test::check_gradients(
        [&](const std::vector<TensorD>& in) {
          return ops::conv2d(ops::ChannelStack<double>(in[0], in[1]), in[2], in[3], p);
        },
        {x, x2, w5, b});
    test::check_gradients(
        [&](const std::vector<TensorD>& in) {
          return ops::conv2d_leaky_relu<double>({in[0], in[1]}, in[2], in[3], p, 0.2);
        },
        {x, x2, w5, b});
  }
}

TEST_CASE("conv2d_leaky_relu and conv2d_add in double take the fused path and equal the two ops") {
  NoGrad ng;
  const TensorD x = random<double>({1, 4, 7, 9}, 30, -1, 1), w = random<double>({5, 4, 3, 3}, 31, -1, 1),
                b = random<double>({5}, 32, -1, 1);
  const ops::Conv2dParams p{1, 1, 1, 1, 1};
  const TensorD conv = ops::conv2d(x, w, b, p);
  CHECK(test::max_abs_diff(ops::conv2d_leaky_relu(x, w, b, p, 0.3), ops::leaky_relu(conv, 0.3)) == 0);
  TensorD acc = random<double>(conv.shape(), 33, -1, 1);
  const TensorD expected = ops::add(acc, conv);
  const double* memory = acc.data();
  const TensorD sum = ops::conv2d_add(std::move(acc), x, w, b, p);
  CHECK(sum.data() == memory);
  CHECK(test::max_abs_diff(sum, expected) == 0);
}
