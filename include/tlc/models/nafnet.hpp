#pragma once
// NAFNet and its "Baseline" (Chu et al., "Simple Baselines for Image Restoration"), read side by
// side with the official NAFNet_arch.py / Baseline_arch.py: same modules, same names, same order.
// TLC touches only the pools inside SCA / SE.
#include <memory>
#include <vector>

#include "tlc/models/naf_block.hpp"
#include "tlc/models/restorer.hpp"
#include "tlc/nn/conv.hpp"
#include "tlc/nn/shuffle.hpp"

namespace tlc::models {

struct NAFNetConfig {
  index_t width = 16;
  std::vector<index_t> enc_blocks{1, 1, 1, 1};
  index_t middle_blocks = 1;
  std::vector<index_t> dec_blocks{1, 1, 1, 1};
  index_t img_channels = 3;
  // Baseline only: expansion of the depthwise branch and of the FFN.
  index_t dw_expand = 2;
  index_t ffn_expand = 2;
};

// The UNet shared by NAFNet and Baseline, parameterised by its block type.
class NAFNetUNet : public Restorer {
 public:
  NAFNetUNet(const NAFNetConfig& cfg, bool baseline) : cfg_(cfg), baseline_(baseline) {
    TLC_CHECK(cfg.enc_blocks.size() == cfg.dec_blocks.size() && !cfg.enc_blocks.empty(), Error, arch(),
              ": expected as many decoder levels as encoder levels (at least one), found ", cfg.enc_blocks.size(),
              " and ", cfg.dec_blocks.size());
    TLC_CHECK(cfg.width > 0 && cfg.img_channels > 0, Error, arch(), ": expected a positive width, found ", cfg.width);
    const index_t w = cfg.width;
    intro_ = register_module("intro", std::make_shared<nn::Conv2d<float>>(cfg.img_channels, w, 3, 1, 1));
    ending_ = register_module("ending", std::make_shared<nn::Conv2d<float>>(w, cfg.img_channels, 3, 1, 1));
    auto encoders = register_module("encoders", std::make_shared<nn::ModuleList<float>>());
    auto decoders = register_module("decoders", std::make_shared<nn::ModuleList<float>>());
    middle_ = register_module("middle_blks", std::make_shared<nn::Sequential<float>>());  // official order
    auto ups = register_module("ups", std::make_shared<nn::ModuleList<float>>());
    auto downs = register_module("downs", std::make_shared<nn::ModuleList<float>>());
    index_t chan = w;
    for (size_t l = 0; l < cfg.enc_blocks.size(); ++l) {
      encoders_.push_back(encoders->add(stage(chan, cfg.enc_blocks[l])));
      downs_.push_back(downs->add(std::make_shared<nn::Conv2d<float>>(chan, 2 * chan, 2, 2)));
      chan *= 2;
    }
    add_blocks(*middle_, chan, cfg.middle_blocks);
    for (size_t l = 0; l < cfg.dec_blocks.size(); ++l) {
      auto up = std::make_shared<nn::Sequential<float>>();
      up->add(std::make_shared<nn::Conv2d<float>>(chan, 2 * chan, 1, 1, 0, /*bias=*/false));
      up->add(std::make_shared<nn::PixelShuffle<float>>(2));
      ups_.push_back(ups->add(up));
      chan /= 2;
      decoders_.push_back(decoders->add(stage(chan, cfg.dec_blocks[l])));
    }
  }

  std::string arch() const override { return baseline_ ? "baseline" : "nafnet"; }
  index_t pad_multiple() const override { return index_t(1) << cfg_.enc_blocks.size(); }
  index_t image_channels() const override { return cfg_.img_channels; }
  std::string type_name() const override { return baseline_ ? "Baseline" : "NAFNet"; }
  const NAFNetConfig& config() const { return cfg_; }

  std::vector<TensorF> forward_padded(const TensorF& inp) override {
    TensorF x = intro_->forward(inp);
    std::vector<TensorF> skips;
    for (size_t l = 0; l < encoders_.size(); ++l) {
      x = encoders_[l]->forward(x);
      skips.push_back(x);
      x = downs_[l]->forward(x);
    }
    x = middle_->forward(x);
    for (size_t l = 0; l < decoders_.size(); ++l) {
      x = ops::add(ups_[l]->forward(x), skips[skips.size() - 1 - l]);
      x = decoders_[l]->forward(x);
    }
    return {ops::add(ending_->forward(x), inp)};
  }

 private:
  void add_blocks(nn::Sequential<float>& s, index_t c, index_t blocks) const {
    for (index_t b = 0; b < blocks; ++b) {
      if (baseline_) s.add(std::make_shared<BaselineBlock>(c, cfg_.dw_expand, cfg_.ffn_expand));
      else s.add(std::make_shared<NAFBlock>(c));
    }
  }
  std::shared_ptr<nn::Sequential<float>> stage(index_t c, index_t blocks) const {
    auto s = std::make_shared<nn::Sequential<float>>();
    add_blocks(*s, c, blocks);
    return s;
  }

  NAFNetConfig cfg_;
  bool baseline_;
  std::shared_ptr<nn::Conv2d<float>> intro_, ending_;
  std::vector<std::shared_ptr<nn::Sequential<float>>> encoders_, decoders_, ups_;
  std::vector<std::shared_ptr<nn::Conv2d<float>>> downs_;
  std::shared_ptr<nn::Sequential<float>> middle_;
};

}  // namespace tlc::models
