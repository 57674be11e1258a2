#include "engine/core/backend.h"
#include "engine/ops/dispatch.h"
#include "engine/random/generator.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/cpu_kernels.h"

#ifdef MTMAP_WITH_CUDA
#include "engine/cuda/context.h"
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace mtmap {
namespace {

void check_real(const char* op, DType dtype) {
  MTMAP_CHECK(dtype == DType::f32 || dtype == DType::f64, "{}: dtype {} not supported (f32 or f64)", op,
              dtype_name(dtype));
}

}  // namespace

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  check_real("rand", dtype);
  Tensor out = empty(shape, dtype, device);
  int64_t n = out.numel();
  uint64_t offset = gen.advance(dtype == DType::f32 ? philox_blocks_f32(n) : philox_blocks_pair(n));
  if (n == 0) return out;
  if (device.is_cpu())
    cpu::uniform(dtype, n, gen.seed(), offset, out.raw());
  else
    MTMAP_ON_CUDA("rand", cuda::uniform(dtype, n, gen.seed(), offset, out.raw(), detail::stream_of(device)));
  return out;
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  check_real("randn", dtype);
  Tensor out = empty(shape, dtype, device);
  int64_t n = out.numel();
  uint64_t offset = gen.advance(philox_blocks_pair(n));
  if (n == 0) return out;
  if (device.is_cpu())
    cpu::normal(dtype, n, gen.seed(), offset, out.raw());
  else
    MTMAP_ON_CUDA("randn", cuda::normal(dtype, n, gen.seed(), offset, out.raw(), detail::stream_of(device)));
  return out;
}

Tensor randperm(int64_t n, Generator& gen, Device device) {
  MTMAP_CHECK(n >= 0, "randperm: negative length {}", n);
  Tensor out = empty({n}, DType::i64, device);
  uint64_t offset = gen.advance(philox_blocks_pair(n));
  if (n == 0) return out;
  auto* o = static_cast<int64_t*>(out.raw());
  if (device.is_cpu()) {
    cpu::randperm(n, gen.seed(), offset, o);
  } else {
#ifdef MTMAP_WITH_CUDA
    size_t bytes = cuda::randperm_workspace_bytes(n);
    Tensor workspace = empty({int64_t(bytes)}, DType::u8, device);
    cuda::randperm(n, gen.seed(), offset, o, workspace.raw(), bytes, detail::stream_of(device));
#else
    detail::no_cuda_build("randperm");
#endif
  }
  return out;
}

}  // namespace mtmap
