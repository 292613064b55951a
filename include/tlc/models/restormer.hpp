#pragma once
// Restormer (Zamir et al. 2022), read side by side with the official restormer_arch.py:
// a 4-level transformer UNet of MDTA + GDFN blocks. TLC converts every MDTA (docs/TLC.md).
#include <vector>

#include "tlc/models/restorer.hpp"
#include "tlc/nn/layer_norm.hpp"
#include "tlc/nn/mdta.hpp"
#include "tlc/nn/shuffle.hpp"
#include "tlc/ops/gate.hpp"

namespace tlc::models {

struct RestormerConfig {
  index_t dim = 48;
  std::vector<index_t> blocks{4, 6, 6, 8};
  index_t refinement_blocks = 4;
  std::vector<index_t> heads{1, 2, 4, 8};
  double ffn_expansion = 2.66;
  bool bias = false;
  bool layer_norm_with_bias = true;  // "WithBias" (deblurring weights) or "BiasFree"
  index_t img_channels = 3;
};

// Gated-Dconv feed-forward network: 1x1 → dw3x3 → GELU(x1)·x2 → 1x1.
class GDFN : public nn::Module<float> {
 public:
  GDFN(index_t dim, double expansion, bool bias) {
    const index_t hidden = static_cast<index_t>(static_cast<double>(dim) * expansion);
    project_in_ = register_module("project_in", std::make_shared<nn::Conv2d<float>>(dim, hidden * 2, 1, 1, 0, bias));
    dwconv_ = register_module("dwconv", std::make_shared<nn::Conv2d<float>>(hidden * 2, hidden * 2, 3, 1, 1, bias, hidden * 2));
    project_out_ = register_module("project_out", std::make_shared<nn::Conv2d<float>>(hidden, dim, 1, 1, 0, bias));
  }
  TensorF forward(const TensorF& x) override {
    return project_out_->forward(ops::gelu_gate(dwconv_->forward(project_in_->forward(x))));
  }
  std::string type_name() const override { return "FeedForward"; }

 private:
  std::shared_ptr<nn::Conv2d<float>> project_in_, dwconv_, project_out_;
};

class TransformerBlock : public nn::Module<float> {
 public:
  TransformerBlock(index_t dim, index_t heads, const RestormerConfig& cfg) {
    norm1_ = register_module("norm1", std::make_shared<nn::RestormerLayerNorm<float>>(dim, cfg.layer_norm_with_bias));
    attn_ = register_module("attn", std::make_shared<nn::MDTA<float>>(dim, heads, cfg.bias));
    norm2_ = register_module("norm2", std::make_shared<nn::RestormerLayerNorm<float>>(dim, cfg.layer_norm_with_bias));
    ffn_ = register_module("ffn", std::make_shared<GDFN>(dim, cfg.ffn_expansion, cfg.bias));
  }
  TensorF forward(const TensorF& x) override {
    const TensorF y = ops::add(x, attn_->forward(norm1_->forward(x)));
    return ops::add(y, ffn_->forward(norm2_->forward(y)));
  }
  std::string type_name() const override { return "TransformerBlock"; }

 private:
  std::shared_ptr<nn::RestormerLayerNorm<float>> norm1_, norm2_;
  std::shared_ptr<nn::MDTA<float>> attn_;
  std::shared_ptr<GDFN> ffn_;
};

class Restormer : public Restorer {
 public:
  explicit Restormer(const RestormerConfig& cfg) : cfg_(cfg) {
    TLC_CHECK(cfg.blocks.size() == 4 && cfg.heads.size() == 4, Error,
              "restormer: expected 4 block counts and 4 head counts, found ", cfg.blocks.size(), " and ", cfg.heads.size());
    const index_t d = cfg.dim;
    patch_embed_ = register_module(
        "patch_embed", std::make_shared<Wrapper>("proj", std::make_shared<nn::Conv2d<float>>(cfg.img_channels, d, 3, 1, 1, false)));
    enc_[0] = register_module("encoder_level1", level(d, cfg.blocks[0], cfg.heads[0]));
    down_[0] = register_module("down1_2", resample(d, false));
    enc_[1] = register_module("encoder_level2", level(d * 2, cfg.blocks[1], cfg.heads[1]));
    down_[1] = register_module("down2_3", resample(d * 2, false));
    enc_[2] = register_module("encoder_level3", level(d * 4, cfg.blocks[2], cfg.heads[2]));
    down_[2] = register_module("down3_4", resample(d * 4, false));
    latent_ = register_module("latent", level(d * 8, cfg.blocks[3], cfg.heads[3]));
    up_[0] = register_module("up4_3", resample(d * 8, true));
    reduce3_ = register_module("reduce_chan_level3", std::make_shared<nn::Conv2d<float>>(d * 8, d * 4, 1, 1, 0, cfg.bias));
    dec_[0] = register_module("decoder_level3", level(d * 4, cfg.blocks[2], cfg.heads[2]));
    up_[1] = register_module("up3_2", resample(d * 4, true));
    reduce2_ = register_module("reduce_chan_level2", std::make_shared<nn::Conv2d<float>>(d * 4, d * 2, 1, 1, 0, cfg.bias));
    dec_[1] = register_module("decoder_level2", level(d * 2, cfg.blocks[1], cfg.heads[1]));
    up_[2] = register_module("up2_1", resample(d * 2, true));
    dec_[2] = register_module("decoder_level1", level(d * 2, cfg.blocks[0], cfg.heads[0]));
    refinement_ = register_module("refinement", level(d * 2, cfg.refinement_blocks, cfg.heads[0]));
    output_ = register_module("output", std::make_shared<nn::Conv2d<float>>(d * 2, cfg.img_channels, 3, 1, 1, cfg.bias));
  }

  std::string arch() const override { return "restormer"; }
  index_t pad_multiple() const override { return 8; }
  index_t image_channels() const override { return cfg_.img_channels; }
  std::string type_name() const override { return "Restormer"; }
  const RestormerConfig& config() const { return cfg_; }

  std::vector<TensorF> forward_padded(const TensorF& inp) override {
    const TensorF e1 = enc_[0]->forward(patch_embed_->forward(inp));
    const TensorF e2 = enc_[1]->forward(down_[0]->forward(e1));
    const TensorF e3 = enc_[2]->forward(down_[1]->forward(e2));
    TensorF x = latent_->forward(down_[2]->forward(e3));
    // The 1x1 channel reductions read the upsampled map and the skip connection where they lie.
    x = dec_[0]->forward(reduce3_->forward(ops::ChannelStack<float>(up_[0]->forward(x), e3)));
    x = dec_[1]->forward(reduce2_->forward(ops::ChannelStack<float>(up_[1]->forward(x), e2)));
    x = dec_[2]->forward(ops::concat(std::vector<TensorF>{up_[2]->forward(x), e1}, 1));
    x = refinement_->forward(x);
    return {ops::add(output_->forward(x), inp)};
  }

 private:
  // A module whose only content is one named child (OverlapPatchEmbed's "proj", the resamplers'
  // "body"), so parameter names match the original.
  struct Wrapper : nn::Module<float> {
    Wrapper(const std::string& name, std::shared_ptr<nn::Module<float>> child) : child(register_module(name, std::move(child))) {}
    TensorF forward(const TensorF& x) override { return child->forward(x); }
    std::shared_ptr<nn::Module<float>> child;
  };

  std::shared_ptr<nn::Sequential<float>> level(index_t dim, index_t blocks, index_t heads) const {
    auto s = std::make_shared<nn::Sequential<float>>();
    for (index_t b = 0; b < blocks; ++b) s->add(std::make_shared<TransformerBlock>(dim, heads, cfg_));
    return s;
  }
  // Downsample: 3x3 conv (C→C/2) + PixelUnshuffle; Upsample: 3x3 conv (C→2C) + PixelShuffle.
  // Both keep their layers in a child Sequential named "body".
  std::shared_ptr<nn::Module<float>> resample(index_t c, bool up) const {
    auto body = std::make_shared<nn::Sequential<float>>();
    body->add(std::make_shared<nn::Conv2d<float>>(c, up ? c * 2 : c / 2, 3, 1, 1, false));
    if (up) body->add(std::make_shared<nn::PixelShuffle<float>>(2));
    else body->add(std::make_shared<nn::PixelUnshuffle<float>>(2));
    return std::make_shared<Wrapper>("body", body);
  }

  RestormerConfig cfg_;
  std::shared_ptr<nn::Conv2d<float>> reduce3_, reduce2_, output_;
  std::shared_ptr<nn::Module<float>> patch_embed_;
  std::shared_ptr<nn::Sequential<float>> enc_[3], dec_[3], latent_, refinement_;
  std::shared_ptr<nn::Module<float>> down_[3], up_[3];
};

}  // namespace tlc::models
