#include "engine/ops/broadcast.h"

#include "engine/ops/reduce.h"

namespace mtmap {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    MTMAP_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast", op, shape_str(a),
                shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor broadcast_to(const Tensor& t, const Shape& shape, const char* op) {
  MTMAP_CHECK(shape.size() >= t.shape().size(), "{}: cannot broadcast shape {} to {}", op, shape_str(t.shape()),
              shape_str(shape));
  size_t lead = shape.size() - t.shape().size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < t.shape().size(); ++i) {
    int64_t have = t.shape()[i], want = shape[lead + i];
    MTMAP_CHECK(have == want || have == 1, "{}: cannot broadcast shape {} to {}", op, shape_str(t.shape()),
                shape_str(shape));
    strides[lead + i] = have == want ? t.strides()[i] : 0;
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl().storage;
  impl->offset = t.offset();
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  size_t lead = g.shape().size() - shape.size();
  std::vector<int> dims;
  for (size_t i = 0; i < g.shape().size(); ++i) {
    bool stretched = i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1);
    if (stretched) dims.push_back(int(i));
  }
  Tensor s = sum(g, dims, /*keepdim=*/true);
  return s.reshape(shape);
}

}  // namespace mtmap
