#pragma once
// Modules: named parameters, buffers and child modules, train/eval mode. Names join with '.',
// as PyTorch's state dicts do ("layer1.0.conv1.0.weight"), so weights can move both ways.
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor/tensor.h"

namespace mtmap::nn {

struct NamedTensor {
  std::string name;
  Tensor tensor;
  bool decay = true;  // parameters only: whether weight decay applies (not for BN and biases)
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter / buffer of this module and its children, depth first in registration order.
  std::vector<NamedTensor> named_parameters() const;
  std::vector<NamedTensor> named_buffers() const;
  std::vector<Tensor> parameters() const;

  // Moves every parameter and buffer to `device` in place: each handle (the layers' own fields
  // included) sees the new storage, as PyTorch's Module.to does. Gradients are dropped.
  void to(Device device);

  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // The child registered under `name` (a direct child).
  Module& child(const std::string& name) const;

  // Calls f on this module and then on every descendant, depth first in registration order (as
  // PyTorch's Module.apply): e.g. to set every Conv3d's options.
  void apply(const std::function<void(Module&)>& f);

 protected:
  Tensor register_parameter(std::string name, Tensor value, bool decay = true);
  Tensor register_buffer(std::string name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    children_.emplace_back(std::move(name), module);
    return module;
  }

 private:
  void collect(const std::string& prefix, bool parameters, std::vector<NamedTensor>& out) const;

  std::deque<NamedTensor> parameters_;
  std::deque<NamedTensor> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace mtmap::nn
