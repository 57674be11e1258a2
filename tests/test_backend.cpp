// The backend contract (engine/backend/backend.h): what a backend does not implement is a clear
// error naming the kernel, the backend and the device, never a fallback; backend_of answers the
// CPU backend everywhere and refuses a device this build or machine lacks, naming it.
#include "engine/backend/backend.h"
#include "engine/core/device_support.h"
#include "engine/ops/elementwise.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

// A backend with storage but no kernels: every kernel call must reach the contract's defaults.
class NoKernels final : public Backend {
 public:
  Device device() const override { return Device::cpu(); }
  const char* name() const override { return "kernel-less"; }
  Allocator& allocator() const override { return cpu_allocator(); }
};

}  // namespace

TEST_CASE("a backend without a kernel names the kernel, itself and its device", "[backend]") {
  NoKernels b;
  UnaryParams up;
  CHECK_THROWS_WITH(b.unary(DType::f32, up, nullptr, nullptr),
                    Catch::Contains("unary: not supported on the kernel-less backend (cpu)"));
  BatchNormShape s{2, 3, 4};
  CHECK_THROWS_WITH(b.bn_apply(DType::f32, DType::f32, s, nullptr, nullptr, nullptr, nullptr, nullptr, false, nullptr),
                    Catch::Contains("bn_apply: not supported on the kernel-less backend"));
  InfoNceParams ip;
  CHECK_THROWS_WITH(b.info_nce_forward(DType::f32, ip, nullptr, nullptr, nullptr, nullptr, nullptr),
                    Catch::Contains("info_nce_forward: not supported"));
  CHECK_THROWS_WITH(b.copy_from_host(nullptr, nullptr, 0), Catch::Contains("copy from the host: not supported"));
}

TEST_CASE("backend_of gives the CPU backend and refuses a missing GPU by name", "[backend]") {
  const Backend& cpu = backend_of(Device::cpu());
  CHECK(std::string(cpu.name()) == "cpu");
  CHECK(cpu.device() == Device::cpu());
  CHECK(&backend_of(Device::cpu()) == &cpu);  // one CPU backend
  // The CPU backend runs the ops: a result through it equals the formula.
  Tensor a = from_vector(std::vector<double>{1, 2, 3}, {3}, DType::f64);
  CHECK(add(a, a).to_vector<double>() == std::vector<double>{2, 4, 6});
  if (cuda_device_count() == 0)
    CHECK_THROWS_WITH(backend_of(Device::cuda(0)), Catch::Contains("cuda:0"));
  CHECK_THROWS_WITH(backend_of(Device::cuda(cuda_device_count() + 3)), Catch::Contains("requested"));
}
