#pragma once
// HINet (Chen et al. 2021), read side by side with the official HINet_arch.py: two UNet
// stages, half-instance norm at encoder levels [hin_left, hin_right], SAM between the stages and
// cross-stage feature fusion (CSFF). Returns both stage outputs; the restored image is the last.
#include <utility>
#include <vector>

#include "tlc/models/restorer.hpp"
#include "tlc/models/unet_blocks.hpp"

namespace tlc::models {

struct HINetConfig {
  index_t width = 64;  // wf
  index_t depth = 5;
  float slope = 0.2f;
  index_t hin_left = 3, hin_right = 4;  // GoPro weights: HIN at levels 3..4
  index_t img_channels = 3;
};

class HINet : public Restorer {
 public:
  explicit HINet(const HINetConfig& cfg) : cfg_(cfg) {
    TLC_CHECK(cfg.depth >= 2 && cfg.width > 0, Error, "hinet: expected depth >= 2 and width > 0, found depth ", cfg.depth,
              ", width ", cfg.width);
    const index_t wf = cfg.width;
    conv_01_ = register_module("conv_01", std::make_shared<nn::Conv2d<float>>(cfg.img_channels, wf, 3, 1, 1));
    conv_02_ = register_module("conv_02", std::make_shared<nn::Conv2d<float>>(cfg.img_channels, wf, 3, 1, 1));
    auto down1 = register_module("down_path_1", std::make_shared<nn::ModuleList<float>>());
    auto down2 = register_module("down_path_2", std::make_shared<nn::ModuleList<float>>());
    index_t prev = wf;
    for (index_t i = 0; i < cfg.depth; ++i) {
      ConvBlockOptions o;
      o.downsample = i + 1 < cfg.depth;
      o.slope = cfg.slope;
      o.module = (cfg.hin_left <= i && i <= cfg.hin_right) ? BlockModule::HIN : BlockModule::None;
      const index_t out = wf << i;
      down1_.push_back(down1->add(std::make_shared<UNetConvBlock>(prev, out, o)));
      o.csff = o.downsample;
      down2_.push_back(down2->add(std::make_shared<UNetConvBlock>(prev, out, o)));
      prev = out;
    }
    auto up1 = register_module("up_path_1", std::make_shared<nn::ModuleList<float>>());
    auto up2 = register_module("up_path_2", std::make_shared<nn::ModuleList<float>>());
    auto skip1 = register_module("skip_conv_1", std::make_shared<nn::ModuleList<float>>());
    auto skip2 = register_module("skip_conv_2", std::make_shared<nn::ModuleList<float>>());
    for (index_t i = cfg.depth - 2; i >= 0; --i) {
      const index_t out = wf << i;
      up1_.push_back(up1->add(std::make_shared<UNetUpBlock>(prev, out, cfg.slope)));
      up2_.push_back(up2->add(std::make_shared<UNetUpBlock>(prev, out, cfg.slope)));
      skip1_.push_back(skip1->add(std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1)));
      skip2_.push_back(skip2->add(std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1)));
      prev = out;
    }
    sam12_ = register_module("sam12", std::make_shared<SAM>(prev, cfg.img_channels));
    cat12_ = register_module("cat12", std::make_shared<nn::Conv2d<float>>(prev * 2, prev, 1));
    last_ = register_module("last", std::make_shared<nn::Conv2d<float>>(prev, cfg.img_channels, 3, 1, 1));
  }

  std::string arch() const override { return "hinet"; }
  index_t pad_multiple() const override { return 16; }
  index_t image_channels() const override { return cfg_.img_channels; }
  std::string type_name() const override { return "HINet"; }
  const HINetConfig& config() const { return cfg_; }

  std::vector<TensorF> forward_padded(const TensorF& image) override {
    // Stage 1.
    TensorF x1 = conv_01_->forward(image);
    std::vector<TensorF> encs, decs;
    for (auto& block : down1_) {
      TensorF o = block->body(x1);
      if (block->has_downsample()) {
        encs.push_back(o);
        x1 = block->downsample(o);
      } else {
        x1 = o;
      }
    }
    for (size_t k = 0; k < up1_.size(); ++k) {
      x1 = up1_[k]->forward_with(x1, skip1_[k]->forward(encs[encs.size() - 1 - k]));
      decs.push_back(x1);
    }
    auto [feature, out_1] = sam12_->forward_with(x1, image);
    // Stage 2.
    // cat12 reads both stages' features where they lie (no concatenated copy), and frees them.
    TensorF x2 = cat12_->forward(ops::ChannelStack<float>(conv_02_->forward(image), std::move(feature)));
    std::vector<TensorF> blocks;
    for (size_t i = 0; i < down2_.size(); ++i) {
      auto& block = down2_[i];
      if (block->has_downsample()) {
        TensorF o = block->body(x2, encs[i], decs[decs.size() - 1 - i]);
        blocks.push_back(o);
        x2 = block->downsample(o);
      } else {
        x2 = block->body(x2);
      }
    }
    for (size_t k = 0; k < up2_.size(); ++k) x2 = up2_[k]->forward_with(x2, skip2_[k]->forward(blocks[blocks.size() - 1 - k]));
    return {out_1, ops::add(last_->forward(x2), image)};
  }

 private:
  HINetConfig cfg_;
  std::shared_ptr<nn::Conv2d<float>> conv_01_, conv_02_, cat12_, last_;
  std::vector<std::shared_ptr<UNetConvBlock>> down1_, down2_;
  std::vector<std::shared_ptr<UNetUpBlock>> up1_, up2_;
  std::vector<std::shared_ptr<nn::Conv2d<float>>> skip1_, skip2_;
  std::shared_ptr<SAM> sam12_;
};

}  // namespace tlc::models
