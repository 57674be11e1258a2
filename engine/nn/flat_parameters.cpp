#include "engine/nn/flat_parameters.h"

#include "engine/ops/copy.h"

namespace mtmap::nn {

FlatParameters::FlatParameters(const Module& module) {
  std::vector<NamedTensor> named = module.named_parameters();
  MTMAP_CHECK(!named.empty(), "FlatParameters: the module has no parameters");
  DType dtype = named[0].tensor.dtype();
  Device device = named[0].tensor.device();
  int64_t total = 0;
  for (const NamedTensor& p : named) {
    MTMAP_CHECK(p.tensor.dtype() == dtype && p.tensor.device() == device,
                "FlatParameters: parameter {} is {}, the first one {} {}", p.name, p.tensor.str(), dtype_name(dtype),
                device.str());
    segments_.push_back({p.name, total, p.tensor.numel(), p.decay});
    total += p.tensor.numel();
  }
  params_ = empty({total}, dtype, device);
  grads_ = zeros({total}, dtype, device);
  decay_mask_ = empty({total}, dtype, device);
  for (size_t i = 0; i < named.size(); ++i) {
    const ParameterSegment& s = segments_[i];
    Tensor param = named[i].tensor;
    copy_into(params_.narrow(0, s.offset, s.numel), param.detach().reshape({s.numel}));
    copy_into(decay_mask_.narrow(0, s.offset, s.numel), scalar_tensor(s.decay ? 1.0 : 0.0, dtype, device));
    // Re-point the parameter (every handle to it sees the change) at its slice of the buffer.
    TensorImpl& impl = param.impl();
    impl.storage = params_.impl().storage;
    impl.offset = s.offset;
    impl.strides = contiguous_strides(impl.shape);
    param.set_grad(grads_.narrow(0, s.offset, s.numel).reshape(impl.shape).detach());
  }
}

void FlatParameters::zero_grad() { copy_into(grads_, scalar_tensor(0.0, grads_.dtype(), grads_.device())); }

}  // namespace mtmap::nn
