// The execution context on a GPU (engine/context/execution_context.h): caller-owned contexts of
// one device have their own streams, allocator and backend and each computes what the CPU does;
// backend_of follows the scope of the asked device only; a tensor outlives its context; errors
// name the device. Skipped (exit 77) without a GPU; run on the emulator in the EMU build.
#include "engine/backend/backend.h"
#include "engine/context/execution_context.h"
#include "engine/core/device_support.h"
#include "engine/cuda/stream.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

ExecutionOptions threads(int n) {
  ExecutionOptions o;
  o.num_threads = n;
  return o;
}

// A few ops through the current context of cuda:0: a GEMM (cuBLAS), a row op, an elementwise op.
Tensor compute(const Tensor& a, const Tensor& b) { return add(softmax(matmul(a, b), 1), 1.0); }

TEST_CASE("two caller-owned contexts on one GPU have their own streams and both compute correctly",
          "[cuda][context]") {
  Generator gen(3);
  Tensor a = randn({33, 20}, gen, DType::f64), b = randn({20, 17}, gen, DType::f64);
  const Tensor want = compute(a, b);

  ExecutionContext& def = ExecutionContext::default_for(gpu());
  ExecutionContext one(gpu()), two(gpu());
  CHECK(one.device() == gpu());
  CHECK_FALSE(one.is_default());
  CHECK(one.compute_stream().get() != two.compute_stream().get());
  CHECK(one.compute_stream().get() != def.compute_stream().get());
  CHECK(one.copy_stream().get() != one.compute_stream().get());
  CHECK(&one.allocator() != &two.allocator());
  CHECK(&one.backend() != &two.backend());
  CHECK(&one.backend() != &def.backend());

  Tensor got_one, got_two;
  {
    ExecutionContext::Use use(one);
    CHECK(&backend_of(gpu()) == &one.backend());
    got_one = compute(a.to(gpu()), b.to(gpu()));
    CHECK(&got_one.impl().storage->allocator() == &one.allocator());
  }
  {
    ExecutionContext::Use use(two);
    CHECK(&ExecutionContext::current(gpu()) == &two);
    got_two = compute(a.to(gpu()), b.to(gpu()));
    CHECK(&got_two.impl().storage->allocator() == &two.allocator());
  }
  CHECK(&backend_of(gpu()) == &def.backend());
  one.synchronize();
  two.synchronize();
  check_close(want, got_one, 1e-12, 1e-14, "under the first context");
  check_close(want, got_two, 1e-12, 1e-14, "under the second context");
  CHECK(one.allocator().stats().allocated > 0);
  got_one = Tensor();
  CHECK(one.allocator().stats().allocated == 0);  // freed outside its scope, into its allocator
}

TEST_CASE("backend_of under a scope of another device gives the asked device's default", "[cuda][context]") {
  ExecutionContext gpu_ctx(gpu()), cpu_ctx(Device::cpu(), threads(1));
  {
    ExecutionContext::Use use(gpu_ctx);
    CHECK(&backend_of(Device::cpu()) == &ExecutionContext::default_for(Device::cpu()).backend());
    CHECK(&backend_of(gpu()) == &gpu_ctx.backend());
    {
      ExecutionContext::Use inner(cpu_ctx);  // both current: each for its own device
      CHECK(&backend_of(Device::cpu()) == &cpu_ctx.backend());
      CHECK(&backend_of(gpu()) == &gpu_ctx.backend());
    }
  }
  {
    ExecutionContext::Use use(cpu_ctx);
    CHECK(&backend_of(gpu()) == &ExecutionContext::default_for(gpu()).backend());
  }
}

TEST_CASE("a GPU tensor outlives the context that allocated it", "[cuda][context]") {
  Tensor t;
  {
    ExecutionContext ctx(gpu());
    ExecutionContext::Use use(ctx);
    t = full({4099}, 1.5, DType::f32, gpu());
  }  // waits for the context's streams; the storage keeps its allocator
  CHECK(sum(t).to(Device::cpu()).item() == 1.5 * 4099);
  t = Tensor();
}

TEST_CASE("cuda execution context errors name the device", "[cuda][context]") {
  const Device missing = Device::cuda(cuda_device_count() + 2);
  CHECK_THROWS_WITH(ExecutionContext(missing), Catch::Contains(missing.str()));
  CHECK_THROWS_WITH(ExecutionContext::default_for(missing), Catch::Contains(missing.str()));
  ExecutionContext cpu(Device::cpu());
  CHECK_THROWS_WITH(cpu.compute_stream(), Catch::Contains("cpu"));
}

}  // namespace
}  // namespace mtmap::test
