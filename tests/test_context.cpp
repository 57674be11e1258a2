// The execution context (engine/context/execution_context.h) on the CPU: a caller-owned context
// computes the default's bits with its own thread count and allocator; Use scopes nest, restore
// the previous context and thread count (exceptions included), and are per thread; backend_of
// follows the scope of the asked device only; tensors outlive their context; errors name the
// device.
#include <cstring>
#include <thread>

#include "engine/backend/backend.h"
#include "engine/context/execution_context.h"
#include "engine/core/device_support.h"
#include "engine/core/threads.h"
#include "engine/ops/conv3d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linalg.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

ExecutionOptions threads(int n) {
  ExecutionOptions o;
  o.num_threads = n;
  return o;
}

// Forward and backward through conv3d, softmax, matmul and a sum (f64), plus an f32 GEMM big
// enough for OpenBLAS to split: every result and gradient.
std::vector<Tensor> workload() {
  Tensor x = test::leaf({2, 3, 4, 6, 6}, 11);
  Tensor w = test::leaf({5, 3, 3, 3, 3}, 12);
  Tensor b = test::leaf({32, 8}, 13);
  Tensor y = conv3d(x, w);  // (2, 5, 2, 4, 4)
  Tensor a = matmul(softmax(y.reshape({10, 32}), 1), b);
  Tensor loss = sum(mul(a, a));
  loss.backward();
  Tensor p = test::leaf({192, 160}, 14).detach().to(DType::f32);
  Tensor q = test::leaf({160, 176}, 15).detach().to(DType::f32);
  return {loss, x.grad(), w.grad(), b.grad(), matmul(p, q)};
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

const Allocator* allocator_of(const Tensor& t) { return &t.impl().storage->allocator(); }

}  // namespace

TEST_CASE("a caller-owned CPU context with one thread computes the default's bits", "[context]") {
  const std::vector<Tensor> want = workload();
  ExecutionContext ctx(Device::cpu(), threads(1));
  CHECK(ctx.device() == Device::cpu());
  CHECK_FALSE(ctx.is_default());
  CHECK(ctx.num_threads() == 1);
  const size_t before = ctx.allocator().stats().allocated;
  std::vector<Tensor> got;
  {
    ExecutionContext::Use use(ctx);
    CHECK(num_threads() == 1);
    CHECK(&backend_of(Device::cpu()) == &ctx.backend());
    CHECK(&backend_of(Device::cpu()).allocator() == &ctx.allocator());
    got = workload();
  }
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("result " << i << ": " << want[i].str());
    CHECK(same_bits(want[i], got[i]));
    CHECK(allocator_of(got[i]) == &ctx.allocator());  // made under the scope: the context's storage
    CHECK(allocator_of(want[i]) == &cpu_allocator());
  }
  CHECK(ctx.allocator().stats().allocated > before);
  got.clear();
  CHECK(ctx.allocator().stats().allocated == before);  // freed outside the scope, into its allocator
}

TEST_CASE("Use scopes nest and restore the context and the thread count, also on an exception", "[context]") {
  ExecutionContext& def = ExecutionContext::default_for(Device::cpu());
  CHECK(def.is_default());
  CHECK(&ExecutionContext::default_for(Device::cpu()) == &def);
  CHECK(&def.allocator() == &cpu_allocator());
  const int outside = num_threads();
  CHECK(def.num_threads() == outside);
  CHECK(&ExecutionContext::current(Device::cpu()) == &def);

  ExecutionContext one(Device::cpu(), threads(1)), two(Device::cpu(), threads(2));
  {
    ExecutionContext::Use a(one);
    CHECK(&ExecutionContext::current(Device::cpu()) == &one);
    CHECK(num_threads() == 1);
    {
      ExecutionContext::Use b(two);
      CHECK(&ExecutionContext::current(Device::cpu()) == &two);
      CHECK(num_threads() == 2);
      {
        ExecutionContext::Use c(def);  // the default again, inside: it leaves the thread count alone
        CHECK(&ExecutionContext::current(Device::cpu()) == &def);
        CHECK(num_threads() == 2);
      }
      CHECK(&ExecutionContext::current(Device::cpu()) == &two);
    }
    CHECK(&ExecutionContext::current(Device::cpu()) == &one);
    CHECK(num_threads() == 1);
  }
  CHECK(&ExecutionContext::current(Device::cpu()) == &def);
  CHECK(num_threads() == outside);

  try {
    ExecutionContext::Use a(one);
    ExecutionContext::Use b(two);
    (void)ones({2, 2}).item();  // throws: not one element
    FAIL("item() of a 2x2 tensor should throw");
  } catch (const Error&) {
  }
  CHECK(&ExecutionContext::current(Device::cpu()) == &def);
  CHECK(&backend_of(Device::cpu()) == &def.backend());
  CHECK(num_threads() == outside);
}

TEST_CASE("scopes are per thread: another thread runs on the defaults", "[context]") {
  ExecutionContext ctx(Device::cpu(), threads(1));
  ExecutionContext::Use use(ctx);
  const ExecutionContext* seen = nullptr;
  const Allocator* alloc = nullptr;
  std::thread t([&] {
    seen = &ExecutionContext::current(Device::cpu());
    alloc = allocator_of(zeros({3}));
  });
  t.join();
  CHECK(seen == &ExecutionContext::default_for(Device::cpu()));
  CHECK(alloc == &cpu_allocator());
  CHECK(&ExecutionContext::current(Device::cpu()) == &ctx);
}

TEST_CASE("backend_of follows only the scopes of the asked device", "[context]") {
  ExecutionContext ctx(Device::cpu());
  ExecutionContext::Use use(ctx);
  CHECK(&backend_of(Device::cpu()) == &ctx.backend());
  // A GPU is not affected by a CPU scope: its default context, or (here, without one) the error
  // naming it.
  if (cuda_device_count() == 0)
    CHECK_THROWS_WITH(backend_of(Device::cuda(0)), Catch::Contains("cuda:0"));
  else
    CHECK(&backend_of(Device::cuda(0)) == &ExecutionContext::default_for(Device::cuda(0)).backend());
}

TEST_CASE("a tensor outlives the context that allocated it", "[context]") {
  Tensor t;
  {
    ExecutionContext ctx(Device::cpu());
    ExecutionContext::Use use(ctx);
    t = full({1000}, 2.5, DType::f64);
    CHECK(ctx.allocator().stats().allocated >= 8000);
  }
  // The storage keeps the context's allocator alive; reading and freeing go through it.
  CHECK(allocator_of(t)->stats().allocated >= 8000);
  CHECK(sum(t).item() == 2500.0);
  t = Tensor();
}

TEST_CASE("execution context errors name the device", "[context]") {
  ExecutionContext cpu(Device::cpu());
  CHECK_NOTHROW(cpu.synchronize());
  CHECK_THROWS_WITH(cpu.compute_stream(), Catch::Contains("cpu") && Catch::Contains("CUDA"));
  CHECK_THROWS_WITH(cpu.copy_stream(), Catch::Contains("cpu"));
  CHECK_THROWS_WITH(cpu.cuda_state(), Catch::Contains("cpu"));
  CHECK_THROWS_WITH(ExecutionContext(Device::cpu(), threads(-1)), Catch::Contains("-1 threads"));
  const Device missing = Device::cuda(cuda_device_count() + 3);
  CHECK_THROWS_WITH(ExecutionContext(missing), Catch::Contains(missing.str()));
  CHECK_THROWS_WITH(ExecutionContext::default_for(missing), Catch::Contains(missing.str()));
  CHECK_THROWS_WITH(ExecutionContext::default_for(Device::cuda(-1)), Catch::Contains("cuda:-1"));
}

TEST_CASE("a context's memory policy is applied when it is made, and reported", "[context]") {
  CHECK_FALSE(ExecutionContext(Device::cpu()).memory_policy_applied());  // none asked for
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
  // The mtmap program's own setting (tools/cli/main.cpp): harmless to repeat in the test process.
  ExecutionOptions retain;
  retain.cpu_memory.retain_freed = true;
  ExecutionContext ctx(Device::cpu(), retain);
  CHECK(ctx.memory_policy_applied());
#endif
}
