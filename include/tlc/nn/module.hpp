#pragma once
// Module: a named tree of parameters and sub-modules. Full parameter names join the path with
// dots, exactly like PyTorch state_dict keys ("encoders.0.1.conv1.weight"), so official
// checkpoints load one to one. Modules are compositions of ops and never write backward code.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tlc/core/rng.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::nn {

// Initialisation randomness (thread-local, seeded): the same seed builds the same weights.
inline Rng& init_rng() {
  thread_local Rng rng(0);
  return rng;
}
inline void manual_seed(std::uint64_t seed) { init_rng().reseed(seed); }

template <class T = float>
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Single-input modules override this; multi-input blocks expose their own call operators.
  virtual Tensor<T> forward(const Tensor<T>& x) {
    throw Error(type_name() + ": forward(x) is not defined for this module");
  }
  Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }

  virtual std::string type_name() const { return "Module"; }

  // ---- tree ---------------------------------------------------------------------------
  std::vector<std::pair<std::string, Tensor<T>>> named_parameters(const std::string& prefix = "") const {
    std::vector<std::pair<std::string, Tensor<T>>> out;
    for (const auto& [name, p] : params_) out.emplace_back(join(prefix, name), p);
    for (const auto& [name, m] : children_)
      for (auto& np : m->named_parameters(join(prefix, name))) out.push_back(std::move(np));
    return out;
  }
  std::vector<Tensor<T>> parameters() const {
    std::vector<Tensor<T>> out;
    for (auto& np : named_parameters()) out.push_back(np.second);
    return out;
  }
  index_t parameter_count() const {
    index_t n = 0;
    for (auto& p : parameters()) n += p.numel();
    return n;
  }
  // Every module in the tree (this one first, name ""), depth-first in registration order.
  void visit(const std::function<void(const std::string&, Module&)>& fn, const std::string& prefix = "") {
    fn(prefix, *this);
    for (auto& [name, m] : children_) m->visit(fn, join(prefix, name));
  }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  void zero_grad() {
    for (auto& p : parameters()) p.zero_grad();
  }

  // Replaces every parameter by a copy on `device`.
  void to(Device device) {
    for (auto& [name, p] : params_) {
      if (p.device() == device) continue;
      Tensor<T> moved = p.detach().to(device);
      moved.requires_grad_(p.requires_grad());
      p = moved;
    }
    for (auto& [name, m] : children_) m->to(device);
  }

 protected:
  // Registers a trainable parameter and returns the stored handle.
  Tensor<T>& register_parameter(const std::string& name, Tensor<T> value, bool trainable = true) {
    value.requires_grad_(trainable);
    params_.emplace_back(name, std::move(value));
    return params_.back().second;
  }
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    children_.emplace_back(name, module);
    return module;
  }
  // The stored parameter named `name` of this module (not of children).
  Tensor<T>& param(const std::string& name) {
    for (auto& [n, p] : params_)
      if (n == name) return p;
    throw Error(type_name() + ": no parameter named '" + name + "'");
  }

 private:
  static std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
  }
  std::deque<std::pair<std::string, Tensor<T>>> params_;  // deque: registered handles stay valid
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// An indexed list of children, named "0", "1", ... like torch.nn.ModuleList. Parameter-free
// entries (pooling, activations) still take their index, so names match PyTorch.
template <class T = float>
class ModuleList : public Module<T> {
 public:
  template <class M>
  std::shared_ptr<M> add(std::shared_ptr<M> m) {
    items_.push_back(m);
    return this->register_module(std::to_string(items_.size() - 1), m);
  }
  size_t size() const { return items_.size(); }
  Module<T>& operator[](size_t i) { return *items_[i]; }
  std::string type_name() const override { return "ModuleList"; }

 protected:
  std::vector<std::shared_ptr<Module<T>>> items_;
};

// Children called in order (torch.nn.Sequential).
template <class T = float>
class Sequential : public ModuleList<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> y = x;
    for (auto& l : this->items_) y = l->forward(y);
    return y;
  }
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace tlc::nn
