#include "engine/nn/module.h"

namespace mtmap::nn {

Tensor Module::register_parameter(std::string name, Tensor value, bool decay) {
  MTMAP_CHECK(is_floating(value.dtype()), "parameter {}: dtype {} is not floating", name, dtype_name(value.dtype()));
  value.set_requires_grad(true);
  parameters_.push_back({std::move(name), value, decay});
  return value;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  buffers_.push_back({std::move(name), value, false});
  return value;
}

void Module::collect(const std::string& prefix, bool params, std::vector<NamedTensor>& out) const {
  for (const NamedTensor& t : params ? parameters_ : buffers_) out.push_back({prefix + t.name, t.tensor, t.decay});
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, out);
}

std::vector<NamedTensor> Module::named_parameters() const {
  std::vector<NamedTensor> out;
  collect("", true, out);
  return out;
}

std::vector<NamedTensor> Module::named_buffers() const {
  std::vector<NamedTensor> out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (NamedTensor& t : named_parameters()) out.push_back(t.tensor);
  return out;
}

void Module::to(Device device) {
  std::vector<NamedTensor> all = named_parameters();
  for (NamedTensor& b : named_buffers()) all.push_back(b);
  for (NamedTensor& t : all) {
    if (t.tensor.device() == device) continue;
    const Tensor moved = t.tensor.detach().to(device).contiguous();
    // Re-point the existing TensorImpl rather than replacing the handle: the layers hold copies of
    // the handle (Conv3d::weight, BatchNorm3d::running_mean, …) that must follow.
    TensorImpl& impl = t.tensor.impl();
    impl.storage = moved.impl().storage;
    impl.offset = moved.offset();
    impl.strides = moved.strides();
    impl.grad.reset();
  }
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::apply(const std::function<void(Module&)>& f) {
  f(*this);
  for (auto& [name, child] : children_) child->apply(f);
}

Module& Module::child(const std::string& name) const {
  for (const auto& [n, c] : children_)
    if (n == name) return *c;
  MTMAP_FAIL("module has no child named '{}'", name);
}

}  // namespace mtmap::nn
