#pragma once
// Model files: safetensors whose tensors are the model's parameters (PyTorch names) and whose
// metadata describes everything needed to use them:
//   tlc.format          "1"
//   tlc.arch            JSON object: {"arch": "nafnet", "width": "16", ...} (models/config.hpp keys)
//   tlc.train_size      "HxW" — the training patch size TLC calibrates at
//   tlc.degradation     the training degradation spec (data/degrade.hpp), if known
//   tlc.eval_degradation the degradation the model is evaluated under (`tlc eval --degrade auto`)
//   tlc.windows         JSON array of {"name","kind","map":[h,w],"window":[kh,kw]} at the default scale
//                       (models/defaults.hpp); the maps let TLC skip its calibration forward (inference_options)
// Unknown metadata keys are kept (and ignored).
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tlc/models/defaults.hpp"
#include "tlc/models/inference.hpp"
#include "tlc/models/registry.hpp"
#include "tlc/models/size.hpp"
#include "tlc/io/json.hpp"
#include "tlc/io/safetensors.hpp"
#include "tlc/local/convert.hpp"
#include "tlc/nn/init.hpp"
#include "tlc/nn/state_dict.hpp"

namespace tlc::models {

struct ModelInfo {
  Config config;                     // includes "arch"
  index_t train_h = kDefaultTrainSize, train_w = kDefaultTrainSize;
  std::string degradation, eval_degradation;
  std::map<std::string, std::string> metadata;  // everything, as stored
  std::vector<local::LayerWindow> recorded_maps;  // tlc.windows' maps (at train_h x train_w), if readable
};

inline std::string config_json(const Config& c) {
  io::json::Value o = io::json::Value::object();
  for (const auto& [k, v] : c.values()) o.set(k, io::json::Value(v));
  return o.dump();
}

// A config from a JSON object; numbers, booleans and arrays of numbers become config text.
inline Config config_from_json(const io::json::Value& v, const std::string& where) {
  TLC_CHECK(v.is_object(), FormatError, where, ": expected a JSON object for the model config");
  Config c;
  for (const auto& [k, item] : v.as_object()) {
    std::string text;
    if (item.is_string()) text = item.as_string();
    else if (item.is_array()) {
      for (const auto& e : item.as_array()) {
        TLC_CHECK(e.is_int(), FormatError, where, ": expected integers in '", k, "'");
        text += (text.empty() ? "" : ",") + std::to_string(e.as_int());
      }
    } else if (item.is_bool()) text = item.as_bool() ? "true" : "false";
    else if (item.is_int()) text = std::to_string(item.as_int());
    else if (item.is_number()) {
      std::ostringstream os;
      os << item.as_double();
      text = os.str();
    } else throw FormatError(where + ": unsupported value for '" + k + "'");
    c.set(k, text);
  }
  return c;
}

// A TLC listing as JSON: [{"name","kind","map":[h,w],"window":[kh,kw]}, ...] (tlc.windows, `tlc info --json`).
inline io::json::Value windows_json(const std::vector<local::LayerWindow>& listing) {
  io::json::Value arr = io::json::Value::array();
  for (const auto& l : listing) {
    io::json::Value o = io::json::Value::object();
    o.set("name", io::json::Value(l.name));
    o.set("kind", io::json::Value(l.kind));
    o.set("map", io::json::Value::array({io::json::Value(l.map_h), io::json::Value(l.map_w)}));
    o.set("window", io::json::Value::array({io::json::Value(l.window.kh), io::json::Value(l.window.kw)}));
    arr.push_back(std::move(o));
  }
  return arr;
}

inline void save_model(const std::string& path, Restorer& model, const ModelInfo& info) {
  std::map<std::string, std::string> meta = info.metadata;
  meta["tlc.format"] = "1";
  meta["tlc.arch"] = config_json(model_config(model));
  meta["tlc.train_size"] = hw_text(info.train_h, info.train_w);
  if (!info.degradation.empty()) meta["tlc.degradation"] = info.degradation;
  if (!info.eval_degradation.empty()) meta["tlc.eval_degradation"] = info.eval_degradation;
  // Windows as local::convert sets them at the training size: their maps spare every later TLC
  // run of this file the calibration forward (inference_options).
  const auto saved = local::windows(model);
  const auto listing = local::convert(model, {info.train_h, info.train_w, kDefaultScale, model.image_channels()});
  local::apply_windows(model, saved);
  meta["tlc.windows"] = windows_json(listing).dump();
  io::save_safetensors(path, nn::state_dict(model), meta);
}

// The per-layer maps of a tlc.windows entry; empty when it is absent or malformed (TLC then
// calibrates by a forward, as for a model without it).
inline std::vector<local::LayerWindow> recorded_maps(const std::map<std::string, std::string>& metadata) {
  auto it = metadata.find("tlc.windows");
  if (it == metadata.end()) return {};
  std::vector<local::LayerWindow> out;
  try {
    const io::json::Value list = io::json::parse(it->second);  // named: as_array() refers into it
    for (const io::json::Value& e : list.as_array()) {
      const io::json::Value *name = e.find("name"), *map = e.find("map");
      if (!name || !map || map->as_array().size() != 2) return {};
      local::LayerWindow l;
      l.name = name->as_string();
      l.map_h = map->as_array()[0].as_int();
      l.map_w = map->as_array()[1].as_int();
      if (const io::json::Value* kind = e.find("kind")) l.kind = kind->as_string();
      out.push_back(l);
    }
  } catch (const Error&) {
    return {};
  }
  return out;
}

struct LoadedModel {
  std::shared_ptr<Restorer> model;
  ModelInfo info;
};

// Builds the architecture recorded in the file and loads its weights (strictly). The model is
// global; prepare(*model, inference_options(info)) with mode TLC converts it.
inline LoadedModel load_model(const std::string& path) {
  io::SafetensorsData data = io::load_safetensors(path);
  auto it = data.metadata.find("tlc.arch");
  TLC_CHECK(it != data.metadata.end(), FormatError, "load_model '", path,
            "': expected a tlc model file (metadata tlc.arch), found none — import PyTorch checkpoints with `tlc convert`");
  LoadedModel out;
  out.info.metadata = data.metadata;
  out.info.config = config_from_json(io::json::parse(it->second), "load_model '" + path + "'");
  TLC_CHECK(out.info.config.has("arch"), FormatError, "load_model '", path, "': the config names no arch");
  if (auto ts = data.metadata.find("tlc.train_size"); ts != data.metadata.end()) {
    const ImageSize t = parse_hw(ts->second, "load_model '" + path + "': tlc.train_size");
    out.info.train_h = t.h;
    out.info.train_w = t.w;
  }
  if (auto d = data.metadata.find("tlc.degradation"); d != data.metadata.end()) out.info.degradation = d->second;
  if (auto d = data.metadata.find("tlc.eval_degradation"); d != data.metadata.end()) out.info.eval_degradation = d->second;
  out.info.recorded_maps = recorded_maps(data.metadata);
  {
    nn::SkipInit skip;  // every weight comes from the file (load_state_dict is strict)
    out.model = make_model(out.info.config.str("arch", ""), out.info.config);
  }
  nn::load_state_dict(*out.model, std::move(data.tensors), "'" + path + "'");
  CpuAllocator::instance().release_cache();  // the unfilled weights the file's tensors replaced
  return out;
}

// Inference options for a loaded model (TLC at the default scale): its training size and recorded maps.
inline InferenceOptions inference_options(const ModelInfo& info) {
  InferenceOptions o;
  o.train_h = o.recorded_h = info.train_h;
  o.train_w = o.recorded_w = info.train_w;
  o.recorded_maps = info.recorded_maps;
  return o;
}

}  // namespace tlc::models
