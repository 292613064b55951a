#pragma once
// The block shared by NAFNet and its Baseline (NAFNet_arch.py / Baseline_arch.py), read side by side
// with the originals:
//   x = act(conv2(conv1(norm1(inp)))); x = conv3(x * attention(x)); y = inp + beta * x;
//   x = conv5(act(conv4(norm2(y))));   out = y + gamma * x
// with act = SimpleGate and attention = SCA (NAFNet), act = GELU and attention = SE (Baseline).
// Under no-grad on the CPU the block runs fused (ops/cpu/fused_block.hpp): the same values to float
// rounding, without the full-size intermediates. Training keeps the ops (the tape needs them).
#include <memory>
#include <string>

#include "tlc/models/fusion.hpp"
#include "tlc/nn/activation.hpp"
#include "tlc/nn/attention.hpp"
#include "tlc/nn/conv.hpp"
#include "tlc/nn/layer_norm.hpp"
#include "tlc/ops/cpu/fused_block.hpp"
#include "tlc/ops/gate.hpp"
#include "tlc/ops/mac_counter.hpp"
#include "tlc/tape/grad_mode.hpp"

namespace tlc::models {

class NafStyleBlock : public nn::Module<float> {
 public:
  TensorF forward(const TensorF& inp) override {
    if (fuses(inp)) return forward_fused(inp);
    TensorF x = activate(conv2_->forward(conv1_->forward(norm1_->forward(inp))));
    x = conv3_->forward(attention_->scale(x));
    const TensorF y = ops::addcmul(inp, x, *beta_);
    x = conv5_->forward(activate(conv4_->forward(norm2_->forward(y))));
    return ops::addcmul(y, x, *gamma_);
  }

 protected:
  // c channels in and out, mid after conv1, ffn after conv4; registered in the originals' order.
  NafStyleBlock(index_t c, index_t mid, index_t ffn, bool simple_gate, const std::string& attention_name,
                std::shared_ptr<nn::PooledPointwise<float>> attention)
      : simple_gate_(simple_gate) {
    const index_t mid_out = simple_gate ? mid / 2 : mid, ffn_out = simple_gate ? ffn / 2 : ffn;
    beta_ = &register_parameter("beta", TensorF::zeros({1, c, 1, 1}));
    gamma_ = &register_parameter("gamma", TensorF::zeros({1, c, 1, 1}));
    conv1_ = register_module("conv1", std::make_shared<nn::Conv2d<float>>(c, mid, 1));
    conv2_ = register_module("conv2", std::make_shared<nn::Conv2d<float>>(mid, mid, 3, 1, 1, true, mid));
    conv3_ = register_module("conv3", std::make_shared<nn::Conv2d<float>>(mid_out, c, 1));
    attention_ = register_module(attention_name, std::move(attention));
    conv4_ = register_module("conv4", std::make_shared<nn::Conv2d<float>>(c, ffn, 1));
    conv5_ = register_module("conv5", std::make_shared<nn::Conv2d<float>>(ffn_out, c, 1));
    norm1_ = register_module("norm1", std::make_shared<nn::LayerNorm2d<float>>(c));
    norm2_ = register_module("norm2", std::make_shared<nn::LayerNorm2d<float>>(c));
  }

 private:
  TensorF activate(const TensorF& x) const { return simple_gate_ ? ops::simple_gate(x) : ops::gelu(x); }

  bool fuses(const TensorF& inp) const {
    return fused_inference_on(inp.device()) && inp.dim() == 4 &&
           inp.size(1) == conv1_->in_channels() && inp.numel() > 0;
  }

  cpu::NafBlockWeights<float> weights() const {
    auto bias = [](const TensorF* b) { return b ? b->data() : nullptr; };
    return {conv1_->in_channels(), conv1_->out_channels(), conv4_->out_channels(), simple_gate_, norm1_->eps(),
            norm1_->weight().data(), bias(norm1_->bias()), norm2_->weight().data(), bias(norm2_->bias()),
            conv1_->weight().data(), bias(conv1_->bias()), conv2_->weight().data(), bias(conv2_->bias()),
            conv3_->weight().data(), bias(conv3_->bias()), conv4_->weight().data(), bias(conv4_->bias()),
            conv5_->weight().data(), bias(conv5_->bias()), beta_->data(), gamma_->data()};
  }

  // Branch sweep, attention, tail sweep. A global attention ([N, mid_out, 1, 1]) scales conv3's input
  // channels, so it is folded into conv3's weights per image; a TLC (local) one scales g in place of it.
  TensorF forward_fused(const TensorF& inp) {
    const cpu::NafBlockWeights<float> f = weights();
    const index_t N = inp.size(0), H = inp.size(2), W = inp.size(3), c = f.c, gm = f.gated(f.mid);
    TensorF g = TensorF::empty({N, gm, H, W});
    cpu::naf_block_branch(f, inp.data(), N, H, W, g.data());
    const TensorF a = attention_->attention_valid(g);
    TensorF w3 = conv3_->weight();
    index_t w3_stride = 0;
    if (a.size(2) == 1 && a.size(3) == 1) {
      w3 = ops::mul(ops::reshape(w3, {1, c, gm}), ops::reshape(a, {N, 1, gm}));
      w3_stride = c * gm;
    } else {
      g = attention_->apply(g, a);
    }
    TensorF out = TensorF::empty(inp.shape());
    cpu::naf_block_tail(f, inp.data(), g.data(), w3.data(), w3_stride, N, H * W, out.data());
    // What the unfused convolutions would have counted.
    const double pixels = static_cast<double>(N * H * W);
    ops::MacCounter::add(pixels * static_cast<double>(c * f.mid + 9 * f.mid + gm * c + c * f.ffn + f.gated(f.ffn) * c));
    return out;
  }

  bool simple_gate_;
  TensorF *beta_, *gamma_;
  std::shared_ptr<nn::Conv2d<float>> conv1_, conv2_, conv3_, conv4_, conv5_;
  std::shared_ptr<nn::PooledPointwise<float>> attention_;
  std::shared_ptr<nn::LayerNorm2d<float>> norm1_, norm2_;
};

// NAFBlock(c): SimpleGate, SCA, both expansions 2 (conv1 c -> 2c, conv4 c -> 2c).
class NAFBlock : public NafStyleBlock {
 public:
  explicit NAFBlock(index_t c)
      : NafStyleBlock(c, 2 * c, 2 * c, /*simple_gate=*/true, "sca", std::make_shared<nn::SCA<float>>(c)) {}
  std::string type_name() const override { return "NAFBlock"; }
};

// BaselineBlock(c, d, f): GELU, SE (hidden dc/2), conv1 c -> dc, conv4 c -> fc.
class BaselineBlock : public NafStyleBlock {
 public:
  BaselineBlock(index_t c, index_t dw_expand, index_t ffn_expand)
      : NafStyleBlock(c, dw_expand * c, ffn_expand * c, /*simple_gate=*/false, "se",
                      std::make_shared<nn::SE<float>>(dw_expand * c, dw_expand * c / 2)) {}
  std::string type_name() const override { return "BaselineBlock"; }
};

}  // namespace tlc::models
