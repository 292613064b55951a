#pragma once
// local::convert — Test-time Local Conversion of a whole model (Chu et al., ECCV 2022). One calibration
// forward (no grad) on uniform noise at the training size records the map size every
// aggregating layer sees; each layer's window is then K = map * base // train per axis, with
// base = int(scale * train). to_global() undoes it.
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tlc/core/allocator.hpp"
#include "tlc/nn/aggregating.hpp"
#include "tlc/nn/module.hpp"
#include "tlc/tape/grad_mode.hpp"

namespace tlc::local {

struct ConvertOptions {
  index_t train_h = 256, train_w = 256;
  double scale = 1.5;
  index_t in_channels = 3;
  std::uint64_t seed = 0;  // calibration noise (its values do not affect the windows)
};

struct LayerWindow {
  std::string name;   // module path, e.g. "encoders.0.0.sca"
  std::string kind;   // what it aggregates
  index_t map_h = 0, map_w = 0;  // map size at calibration
  WindowSize window;
};

template <class T>
std::vector<std::pair<std::string, Aggregating*>> aggregating_layers(nn::Module<T>& model) {
  std::vector<std::pair<std::string, Aggregating*>> out;
  model.visit([&](const std::string& name, nn::Module<T>& m) {
    if (auto* a = dynamic_cast<Aggregating*>(&m)) out.emplace_back(name, a);
  });
  return out;
}

// The window of a layer whose map was map_h x map_w at the training size: K = map * base // train
// per axis, base = int(scale * train), at least 1.
inline WindowSize window_for(index_t map_h, index_t map_w, const ConvertOptions& opt) {
  const index_t base_h = static_cast<index_t>(opt.scale * static_cast<double>(opt.train_h));
  const index_t base_w = static_cast<index_t>(opt.scale * static_cast<double>(opt.train_w));
  return {std::max<index_t>(1, map_h * base_h / opt.train_h), std::max<index_t>(1, map_w * base_w / opt.train_w)};
}

namespace detail {
inline void check_convert_options(const char* fn, const ConvertOptions& opt) {
  TLC_CHECK(opt.train_h > 0 && opt.train_w > 0, Error, fn, ": expected a positive training size, found ", opt.train_h,
            "x", opt.train_w);
  TLC_CHECK(opt.scale > 0, Error, fn, ": expected a positive scale, found ", opt.scale);
}

// Sets every layer's window from its calibration map size; returns the listing.
inline std::vector<LayerWindow> set_windows(const std::vector<std::pair<std::string, Aggregating*>>& layers,
                                            const ConvertOptions& opt) {
  std::vector<LayerWindow> listing;
  for (const auto& [name, a] : layers) {
    a->set_window(window_for(a->calibration_h(), a->calibration_w(), opt));
    listing.push_back({name, a->aggregation_kind(), a->calibration_h(), a->calibration_w(), a->window()});
  }
  return listing;
}
}  // namespace detail

// Converts `model` in place; returns the per-layer listing.
template <class T>
std::vector<LayerWindow> convert(nn::Module<T>& model, const ConvertOptions& opt) {
  detail::check_convert_options("local::convert", opt);
  auto layers = aggregating_layers(model);
  for (auto& [name, a] : layers) {
    a->set_window({});
    a->begin_calibration();
  }
  {
    NoGrad no_grad;
    Rng rng(opt.seed);
    Device device = Device::cpu();
    auto params = model.parameters();
    if (!params.empty()) device = params.front().device();
    Tensor<T> noise = Tensor<T>::uniform({1, opt.in_channels, opt.train_h, opt.train_w}, rng).to(device);
    try {
      model.forward(noise);
    } catch (...) {
      for (auto& [name, a] : layers) a->end_calibration();
      throw;
    }
  }
  // The calibration activations are sized for the training crop, not for the test frames to come.
  CpuAllocator::instance().release_cache();
  for (auto& [name, a] : layers) {
    a->end_calibration();
    TLC_CHECK(a->calibration_h() > 0, Error, "local::convert: layer '", name,
              "' saw no input during the calibration forward");
  }
  return detail::set_windows(layers, opt);
}

// convert() without its calibration forward, from the map sizes `recorded` at opt's training size
// (a model file's tlc.windows, written by a calibration of the same architecture): the same
// windows, without the cost of a forward at the training size. Returns nothing and changes
// nothing unless `recorded` names every aggregating layer exactly once, each with a map inside
// the training size; the caller then calibrates.
template <class T>
std::optional<std::vector<LayerWindow>> convert_recorded(nn::Module<T>& model, const ConvertOptions& opt,
                                                         const std::vector<LayerWindow>& recorded) {
  detail::check_convert_options("local::convert_recorded", opt);
  auto layers = aggregating_layers(model);
  if (recorded.size() != layers.size()) return std::nullopt;
  std::vector<const LayerWindow*> match;
  for (auto& [name, a] : layers) {
    const LayerWindow* found = nullptr;  // (equal counts and every name found: no name repeats)
    for (const auto& r : recorded)
      if (r.name == name) found = &r;
    if (!found || found->map_h < 1 || found->map_w < 1 || found->map_h > opt.train_h || found->map_w > opt.train_w)
      return std::nullopt;
    match.push_back(found);
  }
  for (size_t i = 0; i < layers.size(); ++i) layers[i].second->set_calibration(match[i]->map_h, match[i]->map_w);
  return detail::set_windows(layers, opt);
}

// Back to global aggregation everywhere.
template <class T>
void to_global(nn::Module<T>& model) {
  for (auto& [name, a] : aggregating_layers(model)) a->set_window({});
}

// The current windows, for `tlc info` and model files.
template <class T>
std::vector<LayerWindow> windows(nn::Module<T>& model) {
  std::vector<LayerWindow> out;
  for (auto& [name, a] : aggregating_layers(model))
    out.push_back({name, a->aggregation_kind(), a->calibration_h(), a->calibration_w(), a->window()});
  return out;
}

// Sets windows by layer name (as stored in a model file); unknown names are an error.
template <class T>
void apply_windows(nn::Module<T>& model, const std::vector<LayerWindow>& list) {
  auto layers = aggregating_layers(model);
  for (const auto& lw : list) {
    bool found = false;
    for (auto& [name, a] : layers)
      if (name == lw.name) {
        a->set_window(lw.window);
        found = true;
      }
    TLC_CHECK(found, Error, "local::apply_windows: expected an aggregating layer named '", lw.name, "', found none");
  }
}

inline std::string format_windows(const std::vector<LayerWindow>& list) {
  std::ostringstream os;
  for (const auto& l : list) {
    os << l.name << "  " << l.kind << "  map " << l.map_h << "x" << l.map_w << "  window ";
    if (l.window.is_global()) os << "global";
    else os << l.window.kh << "x" << l.window.kw;
    os << "\n";
  }
  return os.str();
}

}  // namespace tlc::local
