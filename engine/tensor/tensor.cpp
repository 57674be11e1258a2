#include "engine/tensor/tensor.h"

#include <cstring>

#include "engine/autograd/node.h"
#include "engine/core/device_support.h"
#include "engine/ops/copy.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"

namespace mtmap {

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

int wrap_dim(int dim, int ndim, const char* op) {
  int d = dim < 0 ? dim + ndim : dim;
  MTMAP_CHECK(d >= 0 && d < ndim, "{}: axis {} out of range for a tensor of {} axes", op, dim, ndim);
  return d;
}

int64_t Tensor::size(int dim) const { return shape()[wrap_dim(dim, ndim(), "size")]; }
int64_t Tensor::stride(int dim) const { return strides()[wrap_dim(dim, ndim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int d = ndim() - 1; d >= 0; --d) {
    if (shape()[d] != 1 && strides()[d] != expect) return false;
    expect *= shape()[d];
  }
  return true;
}

void* Tensor::raw() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * int64_t(dtype_size(dtype()));
}

StridedIndex Tensor::indexer() const {
  StridedIndex ix;
  ix.ndim = ndim();
  for (int d = 0; d < ndim(); ++d) {
    ix.sizes[d] = shape()[d];
    ix.strides[d] = strides()[d];
  }
  return ix;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  MTMAP_CHECK(device().is_cpu(), "to_vector() on a {} tensor: copy it with to(Device::cpu()) first",
              device().str());
  Tensor c = (dtype() == dtype_of<T>() ? *this : to(dtype_of<T>())).contiguous();
  std::vector<T> out(static_cast<size_t>(c.numel()));
  if (!out.empty()) std::memcpy(out.data(), c.raw(), out.size() * sizeof(T));
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<BFloat16> Tensor::to_vector<BFloat16>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

double Tensor::item() const {
  MTMAP_CHECK(numel() == 1, "item() on a tensor of shape {} (needs exactly one element)", shape_str(shape()));
  return to_vector<double>()[0];
}

Tensor& Tensor::set_requires_grad(bool on) {
  MTMAP_CHECK(!on || is_floating(dtype()), "requires_grad on a {} tensor: only floating tensors have gradients",
              dtype_name(dtype()));
  MTMAP_CHECK(is_leaf(), "set_requires_grad on a non-leaf tensor (made by {}); detach() it first",
              "an op");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
void Tensor::zero_grad() { impl().grad.reset(); }
void Tensor::set_grad(const Tensor& g) { impl().grad = g.defined() ? g.impl_ptr() : nullptr; }

Tensor Tensor::detach() const {
  auto d = std::make_shared<TensorImpl>();
  d->storage = impl().storage;
  d->offset = impl().offset;
  d->shape = impl().shape;
  d->strides = impl().strides;
  d->dtype = impl().dtype;
  return Tensor(std::move(d));
}

void Tensor::backward(const Tensor& grad_output) const {
  Tensor g = grad_output;
  if (!g.defined()) {
    MTMAP_CHECK(numel() == 1, "backward() on a tensor of shape {}: pass a gradient of that shape",
                shape_str(shape()));
    g = ones(shape(), dtype(), device());
  }
  MTMAP_CHECK(g.shape() == shape(), "backward(): gradient shape {} differs from the tensor's {}",
              shape_str(g.shape()), shape_str(shape()));
  autograd::run_backward(*this, g);
}

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return fmt::format("{} {} {}", dtype_name(dtype()), device().str(), shape_str(shape()));
}

// ---- factories ----

Tensor empty(const Shape& shape, DType dtype, Device device) {
  MTMAP_CHECK(shape.size() <= size_t(kMaxDims), "empty: {} axes requested, at most {} are supported",
              shape.size(), kMaxDims);
  for (int64_t d : shape) MTMAP_CHECK(d >= 0, "empty: negative size in shape {}", shape_str(shape));
  require_device(device, "empty");
  return empty_from(backend_of(device).allocator(), shape, dtype);
}

Tensor empty_from(Allocator& alloc, const Shape& shape, DType dtype) {
  MTMAP_CHECK(shape.size() <= size_t(kMaxDims), "empty: {} axes requested, at most {} are supported",
              shape.size(), kMaxDims);
  for (int64_t d : shape) MTMAP_CHECK(d >= 0, "empty: negative size in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(alloc, size_t(shape_numel(shape)) * dtype_size(dtype));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  backend_of(device).fill(dtype, t.numel(), value, t.raw());
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }

Tensor arange(int64_t n, DType dtype, Device device) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  return from_vector(v, {n}, dtype, device);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, DType dtype, Device device) {
  MTMAP_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: {} values for shape {}",
              values.size(), shape_str(shape));
  Tensor host = empty(shape, dtype_of<T>(), Device::cpu());
  if (!values.empty()) std::memcpy(host.raw(), values.data(), values.size() * sizeof(T));
  return host.to(dtype).to(device);
}
template Tensor from_vector(const std::vector<float>&, const Shape&, DType, Device);
template Tensor from_vector(const std::vector<double>&, const Shape&, DType, Device);
template Tensor from_vector(const std::vector<BFloat16>&, const Shape&, DType, Device);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&, DType, Device);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&, DType, Device);
template Tensor from_vector(const std::vector<uint8_t>&, const Shape&, DType, Device);

}  // namespace mtmap
