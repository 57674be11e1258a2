// The CUDA caching allocator and host <-> device transfers: stats, reuse of cached blocks,
// poison, peak, empty_cache, the out-of-memory error, a missing device, and every dtype's round
// trip to the GPU and back.
#include <algorithm>
#include <thread>
#include <vector>

#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/stream.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

cuda::CachingAllocator& gpu_allocator() {
  auto* a = dynamic_cast<cuda::CachingAllocator*>(&gpu_state().allocator());
  REQUIRE(a != nullptr);
  return *a;
}

TEST_CASE("cuda allocator rounds sizes into small and large pools", "[cuda][allocator]") {
  using A = cuda::CachingAllocator;
  CHECK(A::round_size(0) == 512);
  CHECK(A::round_size(1) == 512);
  CHECK(A::round_size(512) == 512);
  CHECK(A::round_size(513) == 1024);
  CHECK(A::round_size(A::kSmallLimit) == A::kSmallLimit);
  CHECK(A::round_size(A::kSmallLimit + 1) == A::kSmallLimit + A::kLargeGranularity);
}

TEST_CASE("cuda allocator counts bytes and reuses freed blocks", "[cuda][allocator]") {
  auto& alloc = gpu_allocator();
  alloc.empty_cache();  // start with no cached blocks: the next allocation is a fresh cudaMalloc
  MemoryStats before = alloc.stats();
  void* first = nullptr;
  MemoryStats during;
  {
    Tensor t = empty({1000}, DType::f32, gpu());  // 4000 B → 4096
    first = t.raw();
    during = alloc.stats();
    CHECK(during.allocated == before.allocated + 4096);
    CHECK(during.reserved == before.reserved + 4096);
    CHECK(during.peak >= during.allocated);
  }
  MemoryStats after_free = alloc.stats();
  CHECK(after_free.allocated == before.allocated);
  CHECK(after_free.reserved == during.reserved);  // the block is cached, not returned
  {
    Tensor again = empty({1000}, DType::f32, gpu());  // same size, same stream: the cached block
    CHECK(alloc.stats().reserved == after_free.reserved);
    CHECK(again.raw() == first);
  }
  // Large pool: a block is reused by a similar request, and peak remembers the high-water mark.
  size_t peak_before = alloc.stats().peak;
  {
    Tensor big = empty({64 << 20}, DType::u8, gpu());
    CHECK(alloc.stats().peak >= alloc.stats().allocated);
  }
  CHECK(alloc.stats().peak >= std::max(peak_before, size_t(64) << 20));
  size_t reserved = alloc.stats().reserved;
  {
    Tensor big_again = empty({(64 << 20) - 1000}, DType::u8, gpu());
    CHECK(alloc.stats().reserved == reserved);
  }
  // empty_cache returns every free block: reserved falls to what live tensors hold.
  alloc.empty_cache();
  MemoryStats emptied = alloc.stats();
  CHECK(emptied.reserved == emptied.allocated);
}

TEST_CASE("cuda allocator poison makes unwritten memory visible", "[cuda][allocator]") {
  {
    PoisonScope poison;
    std::vector<float> f = empty({1001}, DType::f32, gpu()).to(Device::cpu()).to_vector<float>();
    bool all_nan = true;
    for (float v : f) all_nan &= std::isnan(v);
    CHECK(all_nan);
    std::vector<int32_t> i = empty({7}, DType::i32, gpu()).to(Device::cpu()).to_vector<int32_t>();
    CHECK(i == std::vector<int32_t>(7, -1));
    // Reused blocks are poisoned again.
    { Tensor z = zeros({1001}, DType::f32, gpu()); }
    std::vector<float> again = empty({1001}, DType::f32, gpu()).to(Device::cpu()).to_vector<float>();
    CHECK(std::isnan(again[0]));
    CHECK(std::isnan(again[1000]));
  }
  CHECK_FALSE(gpu_state().allocator().poison());
}

TEST_CASE("cuda allocator reports an impossible allocation clearly", "[cuda][allocator]") {
  auto& alloc = gpu_allocator();
  size_t petabyte = size_t(1) << 50;
  try {
    alloc.allocate(petabyte);
    FAIL("allocating a petabyte should throw");
  } catch (const Error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(std::to_string(petabyte)) != std::string::npos);
    CHECK(msg.find("cuda:0") != std::string::npos);
    CHECK(msg.find("reserved") != std::string::npos);
  }
  // The allocator still works afterwards.
  check_equal(ones({5}), ones({5}, DType::f32, gpu()), "ones after a failed allocation");
}

TEST_CASE("cuda allocator is safe from several threads", "[cuda][allocator]") {
  auto& alloc = gpu_allocator();
  size_t allocated = alloc.stats().allocated;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&alloc, t] {
      for (int i = 0; i < 200; ++i) {
        void* p = alloc.allocate(size_t(512 * (1 + (i + t) % 7)));
        alloc.deallocate(p);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(alloc.stats().allocated == allocated);
}

TEST_CASE("cuda round trip of every dtype is exact", "[cuda][allocator][copy]") {
  Generator gen(41);
  PoisonScope poison;
  for (DType t : {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64, DType::u8})
    for (int64_t n : {int64_t(1), int64_t(1001), int64_t(1048583)}) {
      Tensor x = mul(rand({n}, gen, DType::f64), 250.0).to(t);
      check_equal(x, x.to(gpu()).to(Device::cpu()), std::string("round trip ") + dtype_name(t));
    }
  // A strided host tensor is made contiguous before the transfer.
  Tensor m = randn({7, 9}, gen).transpose(0, 1);
  check_equal(m.contiguous(), m.to(gpu()), "round trip of a transposed view");
}

TEST_CASE("a missing CUDA device is a clear error", "[cuda][allocator]") {
  int missing = std::max(7, cuda_device_count());
  std::string name = "cuda:" + std::to_string(missing);
  try {
    (void)empty({1}, DType::f32, Device::cuda(missing));
    FAIL("creating a tensor on " + name + " should throw");
  } catch (const Error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find(name) != std::string::npos);
  }
  CHECK_THROWS_AS(ExecutionContext::default_for(Device::cuda(missing)), Error);
  CHECK_THROWS_AS(ExecutionContext(Device::cuda(missing)), Error);
  CHECK_THROWS_AS(ExecutionContext::default_for(Device::cuda(-1)), Error);
  CHECK_THROWS_AS(ones({2}).to(Device::cuda(missing)), Error);
}

}  // namespace
}  // namespace mtmap::test

#ifndef MTMAP_TEST_GPU_IS_CPU
namespace mtmap::test {
namespace {

// The owning stream and event handles: work on one stream ordered after another's through an
// event, handles moved (the moved-from one owns nothing and destroys nothing), the device
// context's compute and copy streams distinct.
TEST_CASE("cuda Stream and Event order work across streams and move their handles", "[cuda][stream]") {
  cuda::Stream producer(0), consumer(0);
  Tensor buf = empty({4096}, DType::u8, gpu());
  std::vector<uint8_t> host(4096, 0);
  cuda::Event written;
  REQUIRE(cudaMemsetAsync(buf.raw(), 0x5a, 4096, producer.get()) == cudaSuccess);
  written.record(producer.get());
  consumer.wait(written);  // the copy below runs after the memset, whatever the streams' timing
  REQUIRE(cudaMemcpyAsync(host.data(), buf.raw(), 4096, cudaMemcpyDeviceToHost, consumer.get()) == cudaSuccess);
  consumer.synchronize();
  CHECK(std::count(host.begin(), host.end(), uint8_t(0x5a)) == 4096);

  cudaStream_t raw = producer.get();
  cuda::Stream moved(std::move(producer));
  CHECK(moved.get() == raw);
  CHECK(producer.get() == nullptr);
  cuda::Event other;
  cudaEvent_t raw_event = written.get();
  other = std::move(written);
  CHECK(other.get() == raw_event);
  CHECK(written.get() == nullptr);
  other.synchronize();

  const cuda::DeviceContext& ctx = gpu_state();
  CHECK(ctx.compute_stream().get() == ctx.stream());
  CHECK(ctx.copy_stream().get() != ctx.stream());
}

}  // namespace
}  // namespace mtmap::test
#endif
