// The CUDA feeder (pinned slots, copy stream, one event per buffer): the batches that reach the
// device equal, bit for bit, the batches the CPU loader makes with the same seed. Needs a GPU:
// without one every test exits 77 (skipped). Not run where it was written (no GPU there).
#include <catch2/catch.hpp>
#include <cstdlib>

#include "engine/core/device_support.h"
#include "io/cuda_feeder.h"
#include "io/device_batches.h"

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

// What train() uses on a GPU with the loader's batches (io/device_batches.h): the feeder behind
// the BatchStream interface, restarted in mid-epoch as a resumed run restarts it.
TEST_CASE("cuda feeder: the trainer's batch stream, restarted mid-epoch, gives the CPU loader's batches",
          "[io][cuda]") {
  if (cuda_device_count() == 0) std::exit(77);
  DeadLeavesConfig dl;
  dl.height = dl.width = 24;
  dl.frames = 6;
  PairOptions po;
  po.clip = {.frames = 3, .stride = 1};
  po.augment.size = 12;
  DeadLeavesPairSource src(dl, po, 4, 10);
  const LoaderOptions lo{.batch_size = 3, .workers = 2, .seed = 8};
  Loader cpu(src, lo);
  const std::unique_ptr<BatchStream> fed = make_cuda_fed_batches(src, lo, Device::cuda(0));
  CHECK(fed->batches_per_epoch() == 3);
  fed->next();  // a batch in flight when the epoch is restarted
  cpu.start_epoch(1, 1);
  fed->start_epoch(1, 1);
  int n = 0;
  while (auto d = fed->next()) {
    auto h = cpu.next();
    REQUIRE(h);
    CHECK(d->index == h->index);
    CHECK(d->items == h->items);
    CHECK(d->query.device() == Device::cuda(0));
    CHECK(d->query.to(Device::cpu()).to_vector<float>() == h->query.to_vector<float>());
    CHECK(d->key.to(Device::cpu()).to_vector<float>() == h->key.to_vector<float>());
    ++n;
  }
  CHECK(n == 2);
  CHECK(fed->bad_file_count() == 0);
  CHECK_THROWS_WITH(make_cuda_fed_batches(src, lo, Device::cpu()), Catch::Contains("batches fed to cpu"));
}
