#pragma once
// The tensor: a strided view (shape, strides, offset, dtype) of a shared Storage, plus the
// autograd fields. Copying a Tensor copies a handle; views share storage.
// No implicit host<->device transfer: data access on a CUDA tensor throws; use to(Device).
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/core/error.h"
#include "engine/tensor/allocator.h"
#include "kernels/common/bf16.h"
#include "kernels/common/dtype.h"
#include "kernels/common/strided.h"

namespace mtmap {

using Shape = std::vector<int64_t>;

namespace autograd {
class Node;
}

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<BFloat16>() { return DType::bf16; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::i64; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::u8; }

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // elements
  Shape shape, strides;
  DType dtype = DType::f32;

  // autograd
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;              // accumulated into leaves
  std::shared_ptr<autograd::Node> grad_fn;        // the op that made this tensor (non-leaves)
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: their AccumulateGrad node
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t size(int dim) const;
  int64_t stride(int dim) const;
  int ndim() const { return int(impl().shape.size()); }
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  int64_t offset() const { return impl().offset; }
  bool is_contiguous() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }

  // Raw pointer to the first element (any device). data<T>() checks dtype and the CPU.
  void* raw() const;
  template <class T>
  T* data() const {
    MTMAP_CHECK(dtype() == dtype_of<T>(), "data<{}>() on a {} tensor", dtype_name(dtype_of<T>()),
                dtype_name(dtype()));
    MTMAP_CHECK(device().is_cpu(), "data() on a {} tensor: copy it with to(Device::cpu()) first",
                device().str());
    return static_cast<T*>(raw());
  }
  // Copies the elements to a host vector in row-major order (any layout, CPU only).
  template <class T>
  std::vector<T> to_vector() const;
  // The single element of a one-element tensor, as double (CPU only).
  double item() const;

  StridedIndex indexer() const;  // sizes and strides for kernels

  // autograd
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on);
  Tensor grad() const;
  void zero_grad();
  void set_grad(const Tensor& g);
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // A tensor sharing this one's data with no autograd history.
  Tensor detach() const;
  // Back-propagates from this tensor. A non-scalar needs an explicit gradient of its shape.
  void backward(const Tensor& grad_output = Tensor()) const;

  // conversions (always explicit; a no-op returns the same tensor)
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor contiguous() const;

  // views (share storage where the layout allows)
  Tensor reshape(const Shape& shape) const;
  Tensor permute(const std::vector<int>& dims) const;
  Tensor transpose(int d0, int d1) const;
  Tensor narrow(int dim, int64_t start, int64_t length) const;
  Tensor expand(const Shape& shape) const;
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;

  TensorImpl& impl() const {
    MTMAP_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str() const;  // "f32 cpu [2, 3]"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Normalises a possibly negative axis for a tensor of `ndim` axes; `op` names the caller.
int wrap_dim(int dim, int ndim, const char* op);

// factories. Storage comes from the allocator of the calling thread's current execution context
// for `device` (engine/context/execution_context.h), or from `alloc` for empty_from (on its device).
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor empty_from(Allocator& alloc, const Shape& shape, DType dtype = DType::f32);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor scalar_tensor(double value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
Tensor arange(int64_t n, DType dtype = DType::i64, Device device = Device::cpu());
// A tensor from host values (converted to `dtype`), then moved to `device`.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, DType dtype = dtype_of<T>(),
                   Device device = Device::cpu());

}  // namespace mtmap
