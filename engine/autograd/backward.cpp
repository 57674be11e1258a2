// The backward pass: an iterative walk of the graph (no recursion, so deep graphs cannot overflow
// the stack), nodes run in a topological order, gradients summed per node before it runs and
// dropped as soon as it has consumed them.
#include <unordered_map>
#include <vector>

#include "engine/autograd/grad_hooks.h"
#include "engine/autograd/grad_mode.h"
#include "engine/autograd/node.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"

namespace mtmap::autograd {

Node::~Node() {
  std::vector<std::shared_ptr<Node>> orphans;
  auto adopt = [&orphans](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.node && e.node.use_count() == 1) orphans.push_back(std::move(e.node));
    edges.clear();
  };
  adopt(next_);
  while (!orphans.empty()) {
    std::shared_ptr<Node> n = std::move(orphans.back());
    orphans.pop_back();
    adopt(n->next_);
    // n is destroyed here with no edges left, so its destructor does not recurse.
  }
}

std::vector<Tensor> FunctionNode::apply(const Tensor& grad_out) {
  MTMAP_CHECK(fn_ != nullptr, "backward through {} a second time: its saved tensors were already freed",
              name());
  std::vector<bool> needs(next().size());
  for (size_t i = 0; i < needs.size(); ++i) needs[i] = next()[i].node != nullptr;
  std::vector<Tensor> grads = fn_(grad_out, needs);
  fn_ = nullptr;  // frees the saved tensors now
  MTMAP_CHECK(grads.size() == next().size(), "{} backward returned {} gradients for {} inputs", name(), grads.size(),
              next().size());
  return grads;
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_out) {
  std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return {};
  MTMAP_CHECK(grad_out.shape() == leaf->shape, "gradient of shape {} for a leaf of shape {}",
              shape_str(grad_out.shape()), shape_str(leaf->shape));
  if (leaf->grad) {
    // In place, so a gradient that is a view into a flat gradient buffer stays one.
    Tensor existing(leaf->grad);
    copy_into(existing, add(existing, grad_out));
  } else {
    // Own the gradient: grad_out may share storage with another leaf's gradient or a view.
    leaf->grad = convert(grad_out, grad_out.dtype(), /*force_copy=*/true).impl_ptr();
  }
  notify_grad_ready(*leaf);  // run_backward runs this node once, after all of its inputs: final
  return {};
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && (t->requires_grad() || t->grad_fn())) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && (t.requires_grad() || t.grad_fn())) return true;
  return false;
}

static std::shared_ptr<Node> edge_for(const Tensor& t) {
  if (!t.defined()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  if (!t.requires_grad()) return nullptr;
  TensorImpl& impl = t.impl();
  std::shared_ptr<Node> acc = impl.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    impl.grad_accumulator = acc;
  }
  return acc;
}

void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn) {
  std::vector<Edge> next;
  next.reserve(inputs.size());
  for (const Tensor& t : inputs) next.push_back(Edge{edge_for(t)});
  out.impl().grad_fn = std::make_shared<FunctionNode>(name, std::move(next), std::move(fn));
}

void run_backward(const Tensor& root, const Tensor& grad) {
  std::shared_ptr<Node> root_node = edge_for(root);
  MTMAP_CHECK(root_node != nullptr, "backward(): the tensor {} does not require grad and has no grad_fn",
              root.str());
  NoGradGuard no_grad;  // backward rules are not themselves recorded (no double backward)

  // Count, for every node reachable from the root, how many edges point at it.
  std::unordered_map<Node*, int> pending_inputs;
  std::vector<Node*> stack{root_node.get()};
  pending_inputs[root_node.get()] = 0;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next()) {
      if (!e.node) continue;
      auto [it, inserted] = pending_inputs.try_emplace(e.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(e.node.get());
    }
  }

  // Run nodes whose every consumer has delivered its gradient.
  std::unordered_map<Node*, Tensor> grads;
  std::vector<std::shared_ptr<Node>> ready{root_node};
  grads[root_node.get()] = grad;
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    auto g_it = grads.find(node.get());
    Tensor g = std::move(g_it->second);
    grads.erase(g_it);
    std::vector<Tensor> input_grads = node->apply(g);
    g = Tensor();
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const std::shared_ptr<Node>& next = node->next()[i].node;
      if (!next) continue;
      Tensor& gi = input_grads[i];
      if (gi.defined()) {
        auto [it, inserted] = grads.try_emplace(next.get(), gi);
        if (!inserted) it->second = add(it->second, gi);
      }
      if (--pending_inputs[next.get()] == 0) {
        if (grads.count(next.get()))
          ready.push_back(next);
        else
          pending_inputs.erase(next.get());  // no gradient reached it: nothing to run
      }
    }
  }
}

}  // namespace mtmap::autograd
