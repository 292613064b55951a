#pragma once
// Loading named tensors into a module, strictly: every missing, unexpected and mis-shaped tensor
// is listed by name in one error, and nothing is modified unless everything matches.
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tlc/nn/module.hpp"

namespace tlc::nn {

using StateDict = std::vector<std::pair<std::string, TensorF>>;

inline StateDict state_dict(const Module<float>& m) {
  StateDict out;
  for (auto& [name, p] : m.named_parameters()) out.emplace_back(name, p.detach());
  return out;
}

namespace detail {
// The tensor given for each of m's parameters, by name; throws, listing every missing, unexpected and
// mis-shaped tensor, unless they match exactly.
inline std::map<std::string, const TensorF*> match_state_dict(const Module<float>& m, const StateDict& tensors,
                                                              const std::string& source) {
  std::map<std::string, const TensorF*> given;
  for (auto& [name, t] : tensors) given[name] = &t;
  std::vector<std::string> missing, mis_shaped, unexpected;
  auto params = m.named_parameters();
  std::map<std::string, bool> known;
  for (auto& [name, p] : params) {
    known[name] = true;
    auto it = given.find(name);
    if (it == given.end()) missing.push_back(name);
    else if (it->second->shape() != p.shape())
      mis_shaped.push_back(name + " (expected " + p.shape().str() + ", found " + it->second->shape().str() + ")");
  }
  for (auto& [name, t] : tensors)
    if (!known.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !mis_shaped.empty() || !unexpected.empty()) {
    std::ostringstream os;
    os << "load_state_dict: " << source << " does not match " << m.type_name() << ":";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      os << "\n  " << what << " (" << v.size() << "):";
      for (size_t i = 0; i < v.size() && i < 20; ++i) os << " " << v[i] << (i + 1 < v.size() ? "," : "");
      if (v.size() > 20) os << " ...";
    };
    list("missing", missing);
    list("mis-shaped", mis_shaped);
    list("unexpected", unexpected);
    throw ShapeError(os.str());
  }
  return given;
}
}  // namespace detail

inline void load_state_dict(Module<float>& m, const StateDict& tensors, const std::string& source = "state dict") {
  const auto given = detail::match_state_dict(m, tensors, source);
  for (auto& [name, p] : m.named_parameters()) p.detach().copy_(given.at(name)->to(p.device()));
}

// The same from tensors the caller hands over: where neither the tensor's memory nor the parameter's
// is shared with anything else and both are on one device, the parameter takes over the tensor's
// memory instead of a copy (a model file's 68 MB of weights were copied once more, and faulted in twice).
inline void load_state_dict(Module<float>& m, StateDict&& tensors, const std::string& source = "state dict") {
  const auto given = detail::match_state_dict(m, tensors, source);
  for (auto& [name, p] : m.named_parameters()) {
    const TensorF& t = *given.at(name);
    const auto &from = t.impl()->storage, &to = p.impl()->storage;
    if (t.holds_memory_alone() && to.use_count() == 1 && t.device() == p.device() && from->bytes() == to->bytes())
      p.impl()->storage = from;
    else
      p.detach().copy_(t.to(p.device()));
  }
  tensors.clear();
}

}  // namespace tlc::nn
