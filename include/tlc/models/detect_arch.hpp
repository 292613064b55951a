#pragma once
// Recognises an official checkpoint's architecture and configuration from its tensor names and
// shapes alone (used by `tlc convert` when --arch is not given). What shapes cannot tell — the
// unet's IN vs GN, or a parameter-free GE — is left at its default and can be set with --set.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tlc/models/config.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::models {

using Named = std::vector<std::pair<std::string, TensorF>>;

namespace detect_detail {
inline const TensorF* find(const Named& t, const std::string& name) {
  for (auto& [n, v] : t)
    if (n == name) return &v;
  return nullptr;
}
inline bool any_contains(const Named& t, const std::string& part) {
  for (auto& [n, v] : t)
    if (n.find(part) != std::string::npos) return true;
  return false;
}
// Distinct values of the integer right after `prefix` in names starting with it ("encoders." → {0,1,2,3}).
inline std::set<index_t> indices_after(const Named& t, const std::string& prefix) {
  std::set<index_t> out;
  for (auto& [n, v] : t) {
    if (n.rfind(prefix, 0) != 0) continue;
    const std::string rest = n.substr(prefix.size());
    const size_t dot = rest.find('.');
    const std::string num = rest.substr(0, dot);
    if (!num.empty() && num.find_first_not_of("0123456789") == std::string::npos) out.insert(std::stoll(num));
  }
  return out;
}
inline index_t count_after(const Named& t, const std::string& prefix) {
  auto s = indices_after(t, prefix);
  return s.empty() ? 0 : *s.rbegin() + 1;
}
inline std::string join(const std::vector<index_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}
inline index_t dim0(const Named& t, const std::string& name) {
  const TensorF* p = find(t, name);
  TLC_CHECK(p != nullptr, FormatError, "detect_arch: expected tensor '", name, "', found none");
  return p->size(0);
}
}  // namespace detect_detail

inline Config detect_arch(const Named& t) {
  using namespace detect_detail;
  models::Config c;
  if (find(t, "intro.weight") && any_contains(t, "encoders.")) {
    const bool baseline = any_contains(t, ".se.1.weight");
    c.set("arch", baseline ? "baseline" : "nafnet");
    const index_t w = dim0(t, "intro.weight");
    c.set("width", std::to_string(w));
    c.set("img_channels", std::to_string(find(t, "intro.weight")->size(1)));
    std::vector<index_t> enc, dec;
    const index_t levels = count_after(t, "encoders.");
    for (index_t l = 0; l < levels; ++l) enc.push_back(count_after(t, "encoders." + std::to_string(l) + "."));
    for (index_t l = 0; l < count_after(t, "decoders."); ++l) dec.push_back(count_after(t, "decoders." + std::to_string(l) + "."));
    c.set("enc_blocks", join(enc));
    c.set("dec_blocks", join(dec));
    c.set("middle_blocks", std::to_string(count_after(t, "middle_blks.")));
    if (baseline) {
      const std::string b = "encoders.0.0.";
      c.set("dw_expand", std::to_string(dim0(t, b + "conv1.weight") / w));
      c.set("ffn_expand", std::to_string(dim0(t, b + "conv4.weight") / w));
    }
    return c;
  }
  if (find(t, "conv_01.weight") && any_contains(t, "down_path_1.")) {
    c.set("arch", "hinet");
    c.set("width", std::to_string(dim0(t, "conv_01.weight")));
    const index_t depth = count_after(t, "down_path_1.");
    c.set("depth", std::to_string(depth));
    index_t left = depth, right = -1;
    for (index_t i = 0; i < depth; ++i)
      if (find(t, "down_path_1." + std::to_string(i) + ".norm.weight")) {
        left = std::min(left, i);
        right = std::max(right, i);
      }
    c.set("hin_left", std::to_string(left));
    c.set("hin_right", std::to_string(right));
    return c;
  }
  if (find(t, "conv_01.weight") && any_contains(t, "down_path.")) {
    c.set("arch", "unet");
    const index_t w = dim0(t, "conv_01.weight");
    c.set("width", std::to_string(w));
    const index_t depth = count_after(t, "down_path.");
    c.set("depth", std::to_string(depth));
    // The first level holding a module's tensors (module_from); its width is w << from.
    index_t from = 0;
    auto level = [](index_t i) { return "down_path." + std::to_string(i) + "."; };
    while (from + 1 < depth && !any_contains(t, level(from) + "norm.") && !any_contains(t, level(from) + "se.") &&
           !any_contains(t, level(from) + "cbam."))
      ++from;
    const index_t wf = w << from;
    std::string module = "none";
    if (const TensorF* n = find(t, level(from) + "norm.weight")) module = n->size(0) * 2 == wf ? "hin" : "in";
    else if (any_contains(t, ".se.1.weight")) module = "se";
    else if (any_contains(t, ".cbam.")) module = "cbam";
    c.set("module", module);
    if (module != "none") c.set("module_from", std::to_string(from));
    if (module == "se") c.set("reduction", std::to_string(wf / dim0(t, level(from) + "se.1.weight")));
    if (module == "cbam") c.set("reduction", std::to_string(wf / dim0(t, level(from) + "cbam.mlp.0.weight")));
    return c;
  }
  if (find(t, "patch_embed.proj.weight")) {
    c.set("arch", "restormer");
    const index_t dim = dim0(t, "patch_embed.proj.weight");
    c.set("dim", std::to_string(dim));
    const std::vector<std::string> levels{"encoder_level1.", "encoder_level2.", "encoder_level3.", "latent."};
    std::vector<index_t> blocks, heads;
    bool default_ffn = true;
    for (size_t l = 0; l < levels.size(); ++l) {
      blocks.push_back(count_after(t, levels[l]));
      heads.push_back(dim0(t, levels[l] + "0.attn.temperature"));
      const index_t d = dim << l;
      const index_t hidden = dim0(t, levels[l] + "0.ffn.project_in.weight") / 2;
      default_ffn = default_ffn && static_cast<index_t>(static_cast<double>(d) * 2.66) == hidden;
    }
    c.set("blocks", join(blocks));
    c.set("heads", join(heads));
    c.set("refinement_blocks", std::to_string(count_after(t, "refinement.")));
    if (!default_ffn) {
      const index_t hidden = dim0(t, "encoder_level1.0.ffn.project_in.weight") / 2;
      c.set("ffn_expansion", std::to_string((static_cast<double>(hidden) + 0.5) / static_cast<double>(dim)));
    }
    c.set("bias", any_contains(t, "attn.qkv.bias") ? "true" : "false");
    c.set("layer_norm", any_contains(t, "norm1.body.bias") ? "WithBias" : "BiasFree");
    return c;
  }
  throw FormatError(
      "detect_arch: the tensor names match no known architecture (nafnet, baseline, unet, hinet, restormer); "
      "pass --arch and --set options");
}

}  // namespace tlc::models
