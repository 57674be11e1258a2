#include "engine/core/device_support.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/random/generator.h"
#include "kernels/common/philox.h"

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
  backend_of(device).uniform(dtype, n, gen.seed(), offset, out.raw());
  return out;
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  check_real("randn", dtype);
  Tensor out = empty(shape, dtype, device);
  int64_t n = out.numel();
  uint64_t offset = gen.advance(philox_blocks_pair(n));
  if (n == 0) return out;
  backend_of(device).normal(dtype, n, gen.seed(), offset, out.raw());
  return out;
}

Tensor randperm(int64_t n, Generator& gen, Device device) {
  MTMAP_CHECK(n >= 0, "randperm: negative length {}", n);
  Tensor out = empty({n}, DType::i64, device);
  uint64_t offset = gen.advance(philox_blocks_pair(n));
  if (n == 0) return out;
  auto* o = static_cast<int64_t*>(out.raw());
  backend_of(device).randperm(n, gen.seed(), offset, o);
  return out;
}

}  // namespace mtmap
