#pragma once
// HINet's building blocks (HINet_arch.py), shared by `hinet` and by the Table-7 `unet`:
// UNetConvBlock (3x3 conv, optional norm, LeakyReLU, 3x3 conv, LeakyReLU, optional attention on
// the residual branch, + 1x1 identity, optional CSFF, optional 4x4/s2 downsample), UNetUpBlock
// (2x2/s2 transposed conv, concat with the bridge, conv block) and SAM.
#include <memory>
#include <string>

#include "tlc/models/fusion.hpp"
#include "tlc/nn/activation.hpp"
#include "tlc/nn/attention.hpp"
#include "tlc/nn/conv.hpp"
#include "tlc/nn/spatial_norm.hpp"

namespace tlc::models {

// The global module a UNet encoder block carries (paper Table 7). Norms go after conv_1 (where
// HINet puts HIN); attention goes on the residual branch before the identity add (SENet).
enum class BlockModule { None, IN, HIN, GN, SE, CBAM, GE };

inline BlockModule parse_block_module(const std::string& s) {
  if (s == "none") return BlockModule::None;
  if (s == "in") return BlockModule::IN;
  if (s == "hin") return BlockModule::HIN;
  if (s == "gn") return BlockModule::GN;
  if (s == "se") return BlockModule::SE;
  if (s == "cbam") return BlockModule::CBAM;
  if (s == "ge") return BlockModule::GE;
  throw Error("unet: expected module none|in|hin|gn|se|cbam|ge, found '" + s + "'");
}
inline std::string block_module_name(BlockModule m) {
  switch (m) {
    case BlockModule::None: return "none";
    case BlockModule::IN: return "in";
    case BlockModule::HIN: return "hin";
    case BlockModule::GN: return "gn";
    case BlockModule::SE: return "se";
    case BlockModule::CBAM: return "cbam";
    case BlockModule::GE: return "ge";
  }
  return "none";
}

struct ConvBlockOptions {
  bool downsample = false;
  float slope = 0.2f;
  bool csff = false;
  BlockModule module = BlockModule::None;
  index_t gn_groups = 8;       // GN
  index_t reduction = 4;       // SE / CBAM hidden = out / reduction
};

class UNetConvBlock : public nn::Module<float> {
 public:
  UNetConvBlock(index_t in, index_t out, const ConvBlockOptions& o) : o_(o) {
    identity_ = register_module("identity", std::make_shared<nn::Conv2d<float>>(in, out, 1));
    conv_1_ = register_module("conv_1", std::make_shared<nn::Conv2d<float>>(in, out, 3, 1, 1));
    conv_2_ = register_module("conv_2", std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1));
    if (o.downsample && o.csff) {
      csff_enc_ = register_module("csff_enc", std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1));
      csff_dec_ = register_module("csff_dec", std::make_shared<nn::Conv2d<float>>(out, out, 3, 1, 1));
    }
    const index_t hidden = std::max<index_t>(1, out / o.reduction);
    switch (o.module) {
      case BlockModule::IN: norm_ = register_module("norm", std::make_shared<nn::InstanceNorm2d<float>>(out)); break;
      case BlockModule::HIN: norm_ = register_module("norm", std::make_shared<nn::InstanceNorm2d<float>>(out / 2)); break;
      case BlockModule::GN:
        norm_ = register_module("norm", std::make_shared<nn::GroupNorm<float>>(std::min(o.gn_groups, out), out));
        break;
      case BlockModule::SE: se_ = register_module("se", std::make_shared<nn::SE<float>>(out, hidden)); break;
      case BlockModule::CBAM: attn_ = register_module("cbam", std::make_shared<nn::CBAM<float>>(out, hidden)); break;
      case BlockModule::GE: attn_ = register_module("ge", std::make_shared<nn::GE<float>>()); break;
      case BlockModule::None: break;
    }
    if (o.downsample)
      downsample_ = register_module("downsample", std::make_shared<nn::Conv2d<float>>(out, out, 4, 2, 1, /*bias=*/false));
  }

  // Returns the block output (before downsampling). Fused inference (models/fusion.hpp) lets the convs'
  // GEMMs apply the LeakyReLUs that follow them and add the identity and CSFF branches into the
  // block's output as they store it (ops/conv_fused.hpp), and a GN, IN or HIN its LeakyReLU as it forms
  // each row (ops::group_norm_leaky_relu, ops::leading_group_norm_leaky_relu): the same values, a pass
  // over the map fewer for each.
  // The input may be two maps stacked along the channels (UNetUpBlock): fused, the convs read both
  // where they lie; unfused, they are concatenated first.
  TensorF body(const ops::ChannelStack<float>& input, const TensorF& enc = TensorF(),
               const TensorF& dec = TensorF()) {
    // Only where the fused forms fuse (no tape, CPU): elsewhere they would join a stacked input twice.
    const bool fused = fused_inference_on(input.first.device());
    const float slope = o_.slope;
    const ops::ChannelStack<float> x = fused ? input : ops::ChannelStack<float>(input.joined());
    auto conv_leaky_relu = [&](nn::Conv2d<float>& conv, const ops::ChannelStack<float>& in) {
      return fused ? conv.forward_leaky_relu(in, slope) : ops::leaky_relu(conv.forward(in.first), slope);
    };
    auto add_conv = [&](TensorF acc, nn::Conv2d<float>& conv, const ops::ChannelStack<float>& in) {
      return fused ? conv.forward_added_to(std::move(acc), in) : ops::add(acc, conv.forward(in.first));
    };
    TensorF o;
    if (!norm_) {
      o = conv_leaky_relu(*conv_1_, x);
    } else if (o_.module == BlockModule::HIN) {
      o = conv_1_->forward(x);
      if (fused) {
        o = norm_->forward_leading_leaky_relu(o, slope);
      } else {
        const index_t half = o.size(1) / 2;
        o = ops::concat(
            std::vector<TensorF>{norm_->forward(ops::slice(o, 1, 0, half)), ops::slice(o, 1, half, o.size(1))}, 1);
        o = ops::leaky_relu(o, slope);
      }
    } else {
      o = conv_1_->forward(x);
      o = fused ? norm_->forward_leaky_relu(o, slope) : ops::leaky_relu(norm_->forward(o), slope);
    }
    o = conv_leaky_relu(*conv_2_, o);
    if (se_) o = se_->scale(o);  // o * se(o)
    else if (attn_) o = attn_->forward(o);
    o = add_conv(std::move(o), *identity_, x);
    if (enc.defined() && dec.defined() && csff_enc_)
      o = add_conv(add_conv(std::move(o), *csff_enc_, enc), *csff_dec_, dec);
    return o;
  }
  TensorF downsample(const TensorF& o) { return downsample_->forward(o); }
  bool has_downsample() const { return downsample_ != nullptr; }
  TensorF forward(const TensorF& x) override { return body(x); }
  std::string type_name() const override { return "UNetConvBlock"; }

 private:
  ConvBlockOptions o_;
  std::shared_ptr<nn::Conv2d<float>> identity_, conv_1_, conv_2_, csff_enc_, csff_dec_, downsample_;
  std::shared_ptr<nn::GroupNorm<float>> norm_;  // GN, IN or HIN's half-width IN
  std::shared_ptr<nn::Module<float>> attn_;
  std::shared_ptr<nn::SE<float>> se_;
};

class UNetUpBlock : public nn::Module<float> {
 public:
  UNetUpBlock(index_t in, index_t out, float slope) {
    up_ = register_module("up", std::make_shared<nn::ConvTranspose2d<float>>(in, out, 2, 2));
    ConvBlockOptions o;
    o.slope = slope;
    conv_block_ = register_module("conv_block", std::make_shared<UNetConvBlock>(in, out, o));
  }
  TensorF forward_with(const TensorF& x, const TensorF& bridge) {
    return conv_block_->body(ops::ChannelStack<float>(up_->forward(x), bridge));
  }
  std::string type_name() const override { return "UNetUpBlock"; }

 private:
  std::shared_ptr<nn::ConvTranspose2d<float>> up_;
  std::shared_ptr<UNetConvBlock> conv_block_;
};

// Supervised attention module: returns (features, image).
class SAM : public nn::Module<float> {
 public:
  explicit SAM(index_t n_feat, index_t img_channels = 3) {
    conv1_ = register_module("conv1", std::make_shared<nn::Conv2d<float>>(n_feat, n_feat, 3, 1, 1));
    conv2_ = register_module("conv2", std::make_shared<nn::Conv2d<float>>(n_feat, img_channels, 3, 1, 1));
    conv3_ = register_module("conv3", std::make_shared<nn::Conv2d<float>>(img_channels, n_feat, 3, 1, 1));
  }
  std::pair<TensorF, TensorF> forward_with(const TensorF& x, const TensorF& x_img) {
    const TensorF img = ops::add(conv2_->forward(x), x_img);
    const TensorF gate = ops::sigmoid(conv3_->forward(img));
    return {ops::add(ops::mul(conv1_->forward(x), gate), x), img};
  }
  std::string type_name() const override { return "SAM"; }

 private:
  std::shared_ptr<nn::Conv2d<float>> conv1_, conv2_, conv3_;
};

}  // namespace tlc::models
