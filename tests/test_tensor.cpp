// Tensors: dtypes, conversions, views and their storage sharing, allocator, devices.
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/core/device_support.h"
#include "engine/core/memory_policy.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"
#include "tests/test_support.h"

using namespace mtmap;

TEST_CASE("every dtype converts to every other", "[tensor][dtype]") {
  const std::vector<double> values{0, 1, 2, 3, 100, 255};
  const DType all[] = {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64, DType::u8};
  for (DType from : all)
    for (DType to : all) {
      Tensor t = from_vector(values, {2, 3}, from);
      Tensor c = t.to(to);
      CHECK(c.dtype() == to);
      CHECK(c.to(DType::f64).to_vector<double>() == values);  // all exactly representable
    }
  // Negative and fractional values: truncation toward zero into ints, rounding into bf16.
  Tensor f = from_vector<double>({-2.75, 3.5}, {2});
  CHECK(f.to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{-2, 3});
  CHECK(from_vector<double>({1.00390625}, {1}).to(DType::bf16).to(DType::f64).item() == 1.0);  // ties to even
  CHECK(from_vector<double>({1.01171875}, {1}).to(DType::bf16).to(DType::f64).item() == 1.015625);
}

TEST_CASE("views share storage and have the right strides", "[tensor][views]") {
  Tensor a = arange(24, DType::f64).reshape({2, 3, 4});
  CHECK(a.strides() == Shape{12, 4, 1});
  Tensor p = a.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(p.raw() == a.raw());
  CHECK(!p.is_contiguous());
  CHECK(p.contiguous().is_contiguous());
  CHECK(p.contiguous().to_vector<double>()[1] == 4);  // p[0][0][1] = a[0][1][0]
  Tensor n = a.narrow(2, 1, 2);
  CHECK(n.offset() == 1);
  CHECK(n.to_vector<double>() == std::vector<double>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22});
  Tensor e = from_vector<double>({1, 2, 3}, {3, 1}).expand({3, 4});
  CHECK(e.strides() == Shape{1, 0});
  CHECK(e.to_vector<double>() == std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  CHECK(a.reshape({6, -1}).shape() == Shape{6, 4});
  CHECK(a.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(a.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(a.unsqueeze(-1).squeeze(3).shape() == a.shape());
  // A reshape of a non-contiguous view copies instead of aliasing wrongly.
  Tensor r = a.transpose(0, 2).reshape({24});
  CHECK(r.to_vector<double>()[1] == 12);
  // Six axes work; seven are refused.
  CHECK(zeros({1, 2, 1, 2, 1, 2}).numel() == 8);
  CHECK_THROWS_AS(zeros({1, 1, 1, 1, 1, 1, 1}), Error);
}

TEST_CASE("copy_into writes through strided views", "[tensor][copy]") {
  Tensor a = zeros({3, 4}, DType::f64);
  copy_into(a.transpose(0, 1).narrow(0, 1, 2), ones({2, 3}, DType::f32));
  CHECK(a.to_vector<double>() == std::vector<double>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
}

TEST_CASE("CPU allocator: 64-byte alignment, statistics, poison", "[tensor][allocator]") {
  Allocator& alloc = cpu_allocator();
  size_t before = alloc.stats().allocated;
  {
    Tensor t = empty({1000}, DType::f32);
    CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
    CHECK(alloc.stats().allocated >= before + 4000);
    CHECK(alloc.stats().peak >= alloc.stats().allocated);
  }
  CHECK(alloc.stats().allocated == before);
  alloc.set_poison(true);
  Tensor p = empty({4}, DType::f32);
  alloc.set_poison(false);
  for (float v : p.to_vector<float>()) CHECK(std::isnan(v));
}

TEST_CASE("devices: parsing, and CUDA requests without a GPU", "[tensor][device]") {
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda:3") == Device::cuda(3));
  CHECK(Device::parse("cuda") == Device::cuda(0));
  CHECK_THROWS_WITH(Device::parse("gpu0"), Catch::Contains("gpu0"));
  CHECK_THROWS_WITH(Device::parse("cuda:-1"), Catch::Contains("cuda:-1"));
  CHECK_THROWS_WITH(zeros({2}, DType::f32, Device::cuda(-1)), Catch::Contains("negative index"));
  if (cuda_device_count() == 0) {
    // Asking for a GPU that is not there names the device and the reason.
    CHECK_THROWS_WITH(zeros({2}, DType::f32, Device::cuda(0)), Catch::Contains("cuda:0"));
    CHECK_THROWS_WITH(ones({2}).to(Device::cuda(0)), Catch::Contains("cuda:0"));
  }
}

TEST_CASE("data access is checked", "[tensor]") {
  Tensor t = zeros({2}, DType::f32);
  CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("f32"));
  CHECK(t.data<float>()[1] == 0.0f);
  CHECK_THROWS_AS(Tensor().shape(), Error);
  CHECK(full({2, 2}, 3.5, DType::f64).to_vector<double>() == std::vector<double>{3.5, 3.5, 3.5, 3.5});
  CHECK(scalar_tensor(2.0).ndim() == 0);
  CHECK(scalar_tensor(2.0).item() == 2.0);
  CHECK_THROWS_WITH(zeros({2}).item(), Catch::Contains("[2]"));
}

TEST_CASE("retain_freed_cpu_memory keeps freed large blocks in the heap", "[tensor][allocator]") {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer replaces malloc: glibc's settings do not apply, and the call says so.
  CHECK_FALSE(retain_freed_cpu_memory());
#elif defined(__GLIBC__)
  REQUIRE(retain_freed_cpu_memory());
  const size_t bytes = size_t(16) << 20;  // far above glibc's default 128 KiB mmap threshold
  {
    Tensor t = empty({int64_t(bytes / 4)});
    t.data<float>()[0] = 1.0f;  // touch it
  }
  // Freed, the block stays in the heap's free space instead of going back to the system.
  CHECK(mallinfo2().fordblks >= bytes);
#else
  CHECK_FALSE(retain_freed_cpu_memory());
#endif
}
