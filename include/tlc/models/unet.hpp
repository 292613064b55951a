#pragma once
// `unet`: the paper's Table-7 base network — one HINet-style UNet stage without
// HIN, with an optional global module in every encoder block (see unet_blocks.hpp for exactly
// where each goes). Names follow HINet: conv_01, down_path.i.*, up_path.k.*, skip_conv.k.*, last.
#include <vector>

#include "tlc/models/restorer.hpp"
#include "tlc/models/unet_blocks.hpp"

namespace tlc::models {

struct UNetConfig {
  index_t width = 16;        // channels at full resolution (HINet's wf)
  index_t depth = 3;         // levels; the deepest has no downsample
  BlockModule module = BlockModule::None;
  index_t module_from = 0;   // first encoder level with the module (HINet puts HIN at the deep levels only)
  index_t gn_groups = 8;
  index_t reduction = 4;
  float slope = 0.2f;
  index_t img_channels = 3;
};

class UNet : public Restorer {
 public:
  explicit UNet(const UNetConfig& cfg) : cfg_(cfg) {
    TLC_CHECK(cfg.depth >= 1 && cfg.width > 0, Error, "unet: expected depth >= 1 and width > 0, found depth ", cfg.depth,
              ", width ", cfg.width);
    TLC_CHECK(cfg.module_from >= 0 && cfg.module_from < cfg.depth, Error, "unet: expected module_from in [0, depth), found ",
              cfg.module_from, " with depth ", cfg.depth);
    conv_01_ = register_module("conv_01", std::make_shared<nn::Conv2d<float>>(cfg.img_channels, cfg.width, 3, 1, 1));
    auto down = register_module("down_path", std::make_shared<nn::ModuleList<float>>());
    index_t prev = cfg.width;
    for (index_t i = 0; i < cfg.depth; ++i) {
      ConvBlockOptions o;
      o.downsample = i + 1 < cfg.depth;
      o.slope = cfg.slope;
      o.module = i >= cfg.module_from ? cfg.module : BlockModule::None;
      o.gn_groups = cfg.gn_groups;
      o.reduction = cfg.reduction;
      const index_t out = cfg.width << i;
      down_.push_back(down->add(std::make_shared<UNetConvBlock>(prev, out, o)));
      prev = out;
    }
    auto up = register_module("up_path", std::make_shared<nn::ModuleList<float>>());
    auto skip = register_module("skip_conv", std::make_shared<nn::ModuleList<float>>());
    for (index_t i = cfg.depth - 2; i >= 0; --i) {
      const index_t out = cfg.width << i;
      up_.push_back(up->add(std::make_shared<UNetUpBlock>(prev, out, cfg.slope)));
      skip_.push_back(skip->add(std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1)));
      prev = out;
    }
    last_ = register_module("last", std::make_shared<nn::Conv2d<float>>(prev, cfg.img_channels, 3, 1, 1));
  }

  std::string arch() const override { return "unet"; }
  index_t pad_multiple() const override { return index_t(1) << (cfg_.depth - 1); }
  index_t image_channels() const override { return cfg_.img_channels; }
  std::string type_name() const override { return "UNet"; }
  const UNetConfig& config() const { return cfg_; }

  std::vector<TensorF> forward_padded(const TensorF& image) override {
    TensorF x = conv_01_->forward(image);
    std::vector<TensorF> encs;
    for (auto& block : down_) {
      TensorF o = block->body(x);
      if (block->has_downsample()) {
        encs.push_back(o);
        x = block->downsample(o);
      } else {
        x = o;
      }
    }
    for (size_t k = 0; k < up_.size(); ++k) x = up_[k]->forward_with(x, skip_[k]->forward(encs[encs.size() - 1 - k]));
    return {ops::add(last_->forward(x), image)};
  }

 private:
  UNetConfig cfg_;
  std::shared_ptr<nn::Conv2d<float>> conv_01_, last_;
  std::vector<std::shared_ptr<UNetConvBlock>> down_;
  std::vector<std::shared_ptr<UNetUpBlock>> up_;
  std::vector<std::shared_ptr<nn::Conv2d<float>>> skip_;
};

}  // namespace tlc::models
