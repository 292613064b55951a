#pragma once
// A recorded op: its inputs (graph edges) and the function that maps the gradient of its output
// to gradients of its inputs. Ops record themselves with autograd::record(); modules never
// write backward code.
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include "tlc/tape/grad_mode.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::autograd {

// needs[i]: whether input i wants a gradient. The function returns one tensor per input
// (shape equal to that input), or an undefined tensor where needs[i] is false.
template <class T>
using BackwardFn = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_out, const std::vector<bool>& needs)>;

template <class T>
struct Node {
  const char* op = "";
  std::vector<Tensor<T>> inputs;
  std::vector<bool> needs;
  BackwardFn<T> backward;

  void release() {
    inputs.clear();
    backward = nullptr;
  }
};

// Whether an op with these inputs records a node (below): grad mode on and some input requiring a
// gradient. Ops with inference-only fused forms (ops/conv_fused.hpp) run them only where it does not.
template <class T>
bool records(std::initializer_list<const Tensor<T>*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor<T>* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

// Attaches a graph node to `out` when grad mode is on and some input requires a gradient.
// Returns `out` for chaining. Tensors the backward function needs are captured by it; an op
// that needs its own output must capture out.detach() (no reference cycle).
template <class T>
const Tensor<T>& record(const Tensor<T>& out, const char* op, std::vector<Tensor<T>> inputs, BackwardFn<T> fn) {
  if (!grad_enabled()) return out;
  std::vector<bool> needs(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    needs[i] = inputs[i].defined() && inputs[i].requires_grad();
    any = any || needs[i];
  }
  if (!any) return out;
  auto node = std::make_shared<Node<T>>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->needs = std::move(needs);
  node->backward = std::move(fn);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

}  // namespace tlc::autograd
