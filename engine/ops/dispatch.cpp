#include "engine/ops/dispatch.h"

#ifdef MTMAP_WITH_CUDA
#include "engine/cuda/context.h"
#endif

namespace mtmap::detail {

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts) {
    MTMAP_CHECK(t->device() == first->device(),
                "{}: tensors on different devices ({} and {}); move them explicitly with to()", op,
                first->device().str(), t->device().str());
  }
}

void check_float(const char* op, const Tensor& t) {
  DType d = t.dtype();
  bool ok = d == DType::f32 || d == DType::f64 || (d == DType::bf16 && t.device().is_cuda());
  MTMAP_CHECK(ok, "{}: dtype {} is not supported on {} (f32 and f64{})", op, dtype_name(d),
              t.device().str(), t.device().is_cuda() ? ", bf16" : "");
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  MTMAP_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ ({} {} and {} {}); convert with to(DType)", op,
              dtype_name(a.dtype()), shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()));
}

void check_cpu_only(const char* op, const Tensor& t) {
  MTMAP_CHECK(t.device().is_cpu(), "{}: not available on {} yet (its CUDA kernels are still to be written)", op,
              t.device().str());
}

[[noreturn]] void no_cuda_build(const char* op) {
  MTMAP_FAIL("{}: a CUDA tensor, but this build of mtmap has no CUDA backend (configure with -DMTMAP_CUDA=ON)", op);
}

#ifdef MTMAP_WITH_CUDA
cudaStream_t stream_of(const Device& d) { return cuda::context(d.index).stream(); }
cublasHandle_t cublas_of(const Device& d) { return cuda::context(d.index).cublas(); }
#endif

}  // namespace mtmap::detail
