#pragma once
// The dynamic graph. Each differentiable op that sees an input requiring grad records a Node: one
// edge per op input (null where that input needs no gradient), and a backward closure that holds
// the op's saved tensors. The closure is destroyed as soon as the node has run, which frees the
// saved tensors early and makes a second backward through the same graph a clear error.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
};

// grads_out: the gradient of the op's output. needs[i]: whether input i wants a gradient.
// Returns one tensor per input (undefined where !needs[i]), each of that input's shape.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

class Node {
 public:
  Node(std::string name, std::vector<Edge> next) : name_(std::move(name)), next_(std::move(next)) {}
  // Destroys the chain of nodes only this one keeps alive iteratively: a recursive destruction of
  // a 100,000-op graph would overflow the stack.
  virtual ~Node();
  const std::string& name() const { return name_; }
  const std::vector<Edge>& next() const { return next_; }
  virtual std::vector<Tensor> apply(const Tensor& grad_out) = 0;

 private:
  std::string name_;
  std::vector<Edge> next_;
};

class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, std::vector<Edge> next, BackwardFn fn)
      : Node(std::move(name), std::move(next)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(const Tensor& grad_out) override;

 private:
  BackwardFn fn_;
};

// Sink for a leaf: adds the incoming gradient into leaf.grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : Node("AccumulateGrad", {}), leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(const Tensor& grad_out) override;

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// True when grad mode is on and any input requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a new node for `out` = op(inputs). Call only when needs_grad(inputs).
// Saved tensors go into `fn` by value, detached (Tensor::detach) to avoid reference cycles.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn);

// Runs the backward pass from `root` with gradient `grad` (same shape as root).
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace mtmap::autograd
