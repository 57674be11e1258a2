// View ops: new shape/strides over the same storage. Each is differentiable; their backward
// rules are other views (or a copy into zeros, for narrow).
#include <algorithm>
#include <numeric>

#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/copy.h"
#include "engine/tensor/tensor.h"

namespace mtmap {
namespace {

Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl().storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

}  // namespace

Tensor Tensor::reshape(const Shape& new_shape_in) const {
  Shape new_shape = new_shape_in;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1) {
      MTMAP_CHECK(infer < 0, "reshape: more than one -1 in {}", shape_str(new_shape_in));
      infer = int(i);
    } else {
      known *= new_shape[i];
    }
  }
  if (infer >= 0) {
    MTMAP_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape {} into {}", shape_str(shape()),
                shape_str(new_shape_in));
    new_shape[size_t(infer)] = numel() / known;
  }
  MTMAP_CHECK(shape_numel(new_shape) == numel(), "reshape: cannot reshape {} ({} elements) into {}",
              shape_str(shape()), numel(), shape_str(new_shape_in));
  MTMAP_CHECK(new_shape.size() <= size_t(kMaxDims), "reshape: {} axes, at most {}", new_shape.size(), kMaxDims);
  if (new_shape == shape()) return *this;
  Tensor src = contiguous();
  Tensor out = make_view(src, new_shape, contiguous_strides(new_shape), src.offset());
  if (autograd::needs_grad({&src})) {
    Shape in_shape = shape();
    autograd::record("reshape", {src}, out, [in_shape](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g.reshape(in_shape)};
    });
  }
  return out;
}

Tensor Tensor::permute(const std::vector<int>& dims_in) const {
  MTMAP_CHECK(int(dims_in.size()) == ndim(), "permute: {} axes given for a tensor of shape {}", dims_in.size(),
              shape_str(shape()));
  std::vector<int> dims(dims_in.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i] = wrap_dim(dims_in[i], ndim(), "permute");
    MTMAP_CHECK(!seen[size_t(dims[i])], "permute: axis {} repeated in [{}]", dims[i], fmt::join(dims_in, ", "));
    seen[size_t(dims[i])] = true;
  }
  Shape s(dims.size()), st(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    s[i] = shape()[size_t(dims[i])];
    st[i] = strides()[size_t(dims[i])];
  }
  Tensor out = make_view(*this, s, st, offset());
  if (autograd::needs_grad({this})) {
    std::vector<int> inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[size_t(dims[i])] = int(i);
    autograd::record("permute", {*this}, out, [inverse](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g.permute(inverse)};
    });
  }
  return out;
}

Tensor Tensor::transpose(int d0, int d1) const {
  std::vector<int> dims(static_cast<size_t>(ndim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[size_t(wrap_dim(d0, ndim(), "transpose"))], dims[size_t(wrap_dim(d1, ndim(), "transpose"))]);
  return permute(dims);
}

Tensor Tensor::narrow(int dim_in, int64_t start, int64_t length) const {
  int dim = wrap_dim(dim_in, ndim(), "narrow");
  MTMAP_CHECK(start >= 0 && length >= 0 && start + length <= shape()[size_t(dim)],
              "narrow: [{}, {}) out of range on axis {} of shape {}", start, start + length, dim, shape_str(shape()));
  Shape s = shape();
  s[size_t(dim)] = length;
  Tensor out = make_view(*this, s, strides(), offset() + start * strides()[size_t(dim)]);
  if (autograd::needs_grad({this})) {
    Shape in_shape = shape();
    autograd::record("narrow", {*this}, out, [in_shape, dim, start, length](const Tensor& g, const std::vector<bool>&) {
      Tensor full_grad = zeros(in_shape, g.dtype(), g.device());
      copy_into(full_grad.narrow(dim, start, length), g);
      return std::vector<Tensor>{full_grad};
    });
  }
  return out;
}

Tensor Tensor::expand(const Shape& shape_in) const {
  Shape target = shape_in;
  size_t lead = target.size() >= shape().size() ? target.size() - shape().size() : 0;
  for (size_t i = lead; i < target.size(); ++i)
    if (target[i] == -1) target[i] = shape()[i - lead];
  Tensor out = broadcast_to(*this, target, "expand");
  if (autograd::needs_grad({this})) {
    Shape in_shape = shape();
    autograd::record("expand", {*this}, out, [in_shape](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{sum_to_shape(g, in_shape)};
    });
  }
  return out;
}

Tensor Tensor::unsqueeze(int dim_in) const {
  int dim = wrap_dim(dim_in, ndim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + dim, 1);
  return reshape(s);
}

Tensor Tensor::squeeze(int dim_in) const {
  int dim = wrap_dim(dim_in, ndim(), "squeeze");
  MTMAP_CHECK(shape()[size_t(dim)] == 1, "squeeze: axis {} of shape {} is not 1", dim, shape_str(shape()));
  Shape s = shape();
  s.erase(s.begin() + dim);
  return reshape(s);
}

}  // namespace mtmap
