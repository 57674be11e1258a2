#include "engine/ops/checks.h"

namespace mtmap::checks {

void same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts) {
    MTMAP_CHECK(t->device() == first->device(),
                "{}: tensors on different devices ({} and {}); move them explicitly with to()", op,
                first->device().str(), t->device().str());
  }
}

void floating(const char* op, const Tensor& t) {
  DType d = t.dtype();
  bool ok = d == DType::f32 || d == DType::f64 || (d == DType::bf16 && t.device().is_cuda());
  MTMAP_CHECK(ok, "{}: dtype {} is not supported on {} (f32 and f64{})", op, dtype_name(d),
              t.device().str(), t.device().is_cuda() ? ", bf16" : "");
}

void same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  MTMAP_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} {} and {} {}); convert with to(DType)", op,
              dtype_name(a.dtype()), shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()));
}

}  // namespace mtmap::checks
