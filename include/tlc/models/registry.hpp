#pragma once
// Models by name: make_model("nafnet", config) and the inverse, model_config(model), which
// lists every option (so a model file fully describes its architecture).
#include <memory>
#include <sstream>

#include "tlc/models/config.hpp"
#include "tlc/models/hinet.hpp"
#include "tlc/models/nafnet.hpp"
#include "tlc/models/restormer.hpp"
#include "tlc/models/unet.hpp"

namespace tlc::models {

inline std::vector<std::string> architectures() { return {"nafnet", "baseline", "unet", "hinet", "restormer"}; }

namespace detail {
inline std::string join(const std::vector<index_t>& v) {
  std::ostringstream os;
  for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
  return os.str();
}
}  // namespace detail

// Builds an architecture from its options; missing options take the defaults documented in
// docs/MODELS.md, unknown ones are an error.
inline std::shared_ptr<Restorer> make_model(const std::string& arch, const Config& c) {
  if (arch == "nafnet" || arch == "baseline") {
    c.check_known({"width", "enc_blocks", "middle_blocks", "dec_blocks", "img_channels", "dw_expand", "ffn_expand"}, arch);
    NAFNetConfig n;
    n.width = c.integer("width", n.width);
    n.enc_blocks = c.integers("enc_blocks", n.enc_blocks);
    n.middle_blocks = c.integer("middle_blocks", n.middle_blocks);
    n.dec_blocks = c.integers("dec_blocks", n.dec_blocks);
    n.img_channels = c.integer("img_channels", n.img_channels);
    n.dw_expand = c.integer("dw_expand", n.dw_expand);
    n.ffn_expand = c.integer("ffn_expand", n.ffn_expand);
    TLC_CHECK(arch == "baseline" || (n.dw_expand == 2 && n.ffn_expand == 2), Error,
              "nafnet: expected dw_expand = ffn_expand = 2 (fixed in NAFNet), found ", n.dw_expand, " and ", n.ffn_expand);
    return std::make_shared<NAFNetUNet>(n, arch == "baseline");
  }
  if (arch == "unet") {
    c.check_known({"width", "depth", "module", "module_from", "gn_groups", "reduction", "slope", "img_channels"}, arch);
    UNetConfig u;
    u.width = c.integer("width", u.width);
    u.depth = c.integer("depth", u.depth);
    u.module = parse_block_module(c.str("module", "none"));
    u.module_from = c.integer("module_from", u.module_from);
    u.gn_groups = c.integer("gn_groups", u.gn_groups);
    u.reduction = c.integer("reduction", u.reduction);
    u.slope = static_cast<float>(c.number("slope", u.slope));
    u.img_channels = c.integer("img_channels", u.img_channels);
    return std::make_shared<UNet>(u);
  }
  if (arch == "hinet") {
    c.check_known({"width", "depth", "slope", "hin_left", "hin_right", "img_channels"}, arch);
    HINetConfig h;
    h.width = c.integer("width", h.width);
    h.depth = c.integer("depth", h.depth);
    h.slope = static_cast<float>(c.number("slope", h.slope));
    h.hin_left = c.integer("hin_left", h.hin_left);
    h.hin_right = c.integer("hin_right", h.hin_right);
    h.img_channels = c.integer("img_channels", h.img_channels);
    return std::make_shared<HINet>(h);
  }
  if (arch == "restormer") {
    c.check_known({"dim", "blocks", "refinement_blocks", "heads", "ffn_expansion", "bias", "layer_norm", "img_channels"},
                  arch);
    RestormerConfig r;
    r.dim = c.integer("dim", r.dim);
    r.blocks = c.integers("blocks", r.blocks);
    r.refinement_blocks = c.integer("refinement_blocks", r.refinement_blocks);
    r.heads = c.integers("heads", r.heads);
    r.ffn_expansion = c.number("ffn_expansion", r.ffn_expansion);
    r.bias = c.boolean("bias", r.bias);
    const std::string ln = c.str("layer_norm", "WithBias");
    TLC_CHECK(ln == "WithBias" || ln == "BiasFree", Error, "restormer: expected layer_norm WithBias or BiasFree, found '",
              ln, "'");
    r.layer_norm_with_bias = ln == "WithBias";
    r.img_channels = c.integer("img_channels", r.img_channels);
    return std::make_shared<Restormer>(r);
  }
  std::string names;
  for (auto& a : architectures()) names += (names.empty() ? "" : ", ") + a;
  throw Error("make_model: expected an architecture among " + names + ", found '" + arch + "'");
}

// Every option of a model, including defaults; make_model(arch, model_config(m)) rebuilds it.
inline Config model_config(const Restorer& m) {
  Config c;
  c.set("arch", m.arch());
  if (auto* n = dynamic_cast<const NAFNetUNet*>(&m)) {
    const auto& k = n->config();
    c.set("width", std::to_string(k.width));
    c.set("enc_blocks", detail::join(k.enc_blocks));
    c.set("middle_blocks", std::to_string(k.middle_blocks));
    c.set("dec_blocks", detail::join(k.dec_blocks));
    c.set("img_channels", std::to_string(k.img_channels));
    if (m.arch() == "baseline") {
      c.set("dw_expand", std::to_string(k.dw_expand));
      c.set("ffn_expand", std::to_string(k.ffn_expand));
    }
  } else if (auto* u = dynamic_cast<const UNet*>(&m)) {
    const auto& k = u->config();
    c.set("width", std::to_string(k.width));
    c.set("depth", std::to_string(k.depth));
    c.set("module", block_module_name(k.module));
    c.set("module_from", std::to_string(k.module_from));
    c.set("gn_groups", std::to_string(k.gn_groups));
    c.set("reduction", std::to_string(k.reduction));
    std::ostringstream slope;
    slope << k.slope;
    c.set("slope", slope.str());
    c.set("img_channels", std::to_string(k.img_channels));
  } else if (auto* h = dynamic_cast<const HINet*>(&m)) {
    const auto& k = h->config();
    c.set("width", std::to_string(k.width));
    c.set("depth", std::to_string(k.depth));
    std::ostringstream slope;
    slope << k.slope;
    c.set("slope", slope.str());
    c.set("hin_left", std::to_string(k.hin_left));
    c.set("hin_right", std::to_string(k.hin_right));
    c.set("img_channels", std::to_string(k.img_channels));
  } else if (auto* r = dynamic_cast<const Restormer*>(&m)) {
    const auto& k = r->config();
    c.set("dim", std::to_string(k.dim));
    c.set("blocks", detail::join(k.blocks));
    c.set("refinement_blocks", std::to_string(k.refinement_blocks));
    c.set("heads", detail::join(k.heads));
    std::ostringstream f;
    f << k.ffn_expansion;
    c.set("ffn_expansion", f.str());
    c.set("bias", k.bias ? "true" : "false");
    c.set("layer_norm", k.layer_norm_with_bias ? "WithBias" : "BiasFree");
    c.set("img_channels", std::to_string(k.img_channels));
  }
  return c;
}

}  // namespace tlc::models
