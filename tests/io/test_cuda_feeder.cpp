// The CUDA feeder (pinned slots, copy stream, one event per buffer): the batches that reach the
// device equal, bit for bit, the batches the CPU loader makes with the same seed. Needs a GPU:
// without one every test exits 77 (skipped). Not run where it was written (no GPU there).
#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/core/device_support.h"
#include "io/cuda_feeder.h"

using namespace mtmap;
using namespace mtmap::io;

TEST_CASE("cuda feeder: device batches equal the CPU loader's", "[io][cuda]") {
  if (cuda_device_count() == 0) std::exit(77);
  DeadLeavesConfig dl;
  dl.height = dl.width = 40;
  dl.frames = 10;
  PairOptions po;
  po.clip = {.frames = 4, .stride = 2};
  po.augment.size = 32;
  DeadLeavesPairSource src(dl, po, 3, 14);
  Loader cpu(src, {.batch_size = 4, .workers = 2, .seed = 5, .drop_last = false});
  PinnedAllocator pinned;
  Loader pinned_loader(
      src, {.batch_size = 4, .workers = 3, .prefetch = 2, .seed = 5, .drop_last = false, .host_allocator = &pinned});
  CHECK(pinned.stats().allocated > 0);
  CudaFeeder feeder(pinned_loader, 0);
  int n = 0;
  while (auto d = feeder.next()) {
    auto h = cpu.next();
    REQUIRE(h);
    CHECK(d->items == h->items);
    CHECK(d->query.device() == Device::cuda(0));
    CHECK(d->query.to(Device::cpu()).to_vector<float>() == h->query.to_vector<float>());
    CHECK(d->key.to(Device::cpu()).to_vector<float>() == h->key.to_vector<float>());
    ++n;
  }
  CHECK(n == 4);  // 14 items in batches of 4, the last partial
  CHECK(!cpu.next());
}
