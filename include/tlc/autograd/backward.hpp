#pragma once
// Reverse-mode sweep over the recorded graph. Gradients of tensors used several times (UNet
// skips) are summed. Unless retain_graph is set, every node is released afterwards, so saved
// activations are freed and a second backward through the same graph is an error.
//
// on_leaf_ready, when given, is called with each leaf as soon as its gradient is complete (every
// node that uses it has run), while the sweep goes on: data-parallel training starts averaging a
// gradient bucket across ranks there instead of after the whole backward.
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tlc/ops/elementwise.hpp"
#include "tlc/tape/node.hpp"

namespace tlc::autograd {

namespace detail {
template <class T>
void accumulate(std::unordered_map<tlc::detail::TensorImpl<T>*, Tensor<T>>& into, const Tensor<T>& key,
                const Tensor<T>& g) {
  auto it = into.find(key.impl());
  if (it == into.end()) into.emplace(key.impl(), g);
  else it->second = ops::add(it->second, g);
}
}  // namespace detail

template <class T>
using LeafReady = std::function<void(const Tensor<T>&)>;

template <class T>
void backward(const Tensor<T>& root, Tensor<T> grad = Tensor<T>(), bool retain_graph = false,
              const LeafReady<T>& on_leaf_ready = nullptr) {
  TLC_CHECK(root.requires_grad(), Error, "backward: expected a tensor that requires grad, found one that does not");
  if (!grad.defined()) {
    TLC_CHECK(root.numel() == 1, ShapeError, "backward: expected a scalar output (or an explicit gradient), found shape ",
              root.shape().str());
    grad = Tensor<T>::ones(root.shape(), root.device());
  }
  TLC_CHECK(grad.shape() == root.shape(), ShapeError, "backward: expected a gradient of shape ", root.shape().str(),
            ", found ", grad.shape().str());
  NoGrad no_grad;  // gradients themselves are not differentiated

  // Topological order (post-order DFS over tensors that carry a node).
  std::vector<Tensor<T>> order;
  std::unordered_set<tlc::detail::TensorImpl<T>*> visited;
  std::vector<std::pair<Tensor<T>, size_t>> stack;
  if (root.grad_fn()) {
    stack.push_back({root, 0});
    visited.insert(root.impl());
  }
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    Node<T>& node = *t.grad_fn();
    TLC_CHECK(node.backward != nullptr, Error, "backward: the graph through '", node.op,
              "' was already released by an earlier backward (pass retain_graph)");
    if (next < node.inputs.size()) {
      const Tensor<T>& in = node.inputs[next++];
      if (in.defined() && in.grad_fn() && visited.insert(in.impl()).second) stack.push_back({in, 0});
    } else {
      order.push_back(t);
      stack.pop_back();
    }
  }

  std::unordered_map<tlc::detail::TensorImpl<T>*, Tensor<T>> pending;
  if (!root.grad_fn()) {  // a leaf: its gradient is the seed itself
    root.set_grad(root.grad().defined() ? ops::add(root.grad(), grad) : grad.clone());
    return;
  }
  // Uses of each leaf still to run; a leaf is ready when its count reaches zero.
  std::unordered_map<tlc::detail::TensorImpl<T>*, int> uses_left;
  if (on_leaf_ready)
    for (const auto& t : order)
      for (size_t i = 0; i < t.grad_fn()->inputs.size(); ++i)
        if (const auto& in = t.grad_fn()->inputs[i]; t.grad_fn()->needs[i] && !in.grad_fn()) ++uses_left[in.impl()];
  auto node_done = [&](Node<T>& node) {
    if (!on_leaf_ready) return;
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (node.needs[i] && !node.inputs[i].grad_fn() && --uses_left[node.inputs[i].impl()] == 0)
        on_leaf_ready(node.inputs[i]);
  };
  pending.emplace(root.impl(), grad);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Tensor<T>& t = *it;
    auto found = pending.find(t.impl());
    if (found == pending.end()) {  // no gradient reached this tensor
      node_done(*t.grad_fn());
      continue;
    }
    Tensor<T> g = found->second;
    pending.erase(found);
    Node<T>& node = *t.grad_fn();
    std::vector<Tensor<T>> grads = node.backward(g, node.needs);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if (!node.needs[i]) continue;
      const Tensor<T>& in = node.inputs[i];
      TLC_CHECK(i < grads.size() && grads[i].defined(), Error, "backward: op '", node.op,
                "' returned no gradient for input ", i);
      TLC_CHECK(grads[i].shape() == in.shape(), ShapeError, "backward: op '", node.op, "' returned a gradient of shape ",
                grads[i].shape().str(), " for input ", i, " of shape ", in.shape().str());
      if (in.grad_fn()) {
        detail::accumulate(pending, in, grads[i]);
      } else {
        // A leaf's gradient never aliases another tensor: optimisers scale it in place.
        in.set_grad(in.grad().defined() ? ops::add(in.grad(), grads[i]) : grads[i].clone());
      }
    }
    node_done(node);
  }
  if (!retain_graph)
    for (auto& t : order) t.grad_fn()->release();
}

}  // namespace tlc::autograd
