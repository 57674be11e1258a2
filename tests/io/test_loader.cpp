// The loader: batches identical for any worker count, each epoch a permutation, a bounded
// prefetch, bad files skipped and reported (found at scan time or at read time), and the decoded-
// clip cache (memory and disk) giving the same clips as decoding.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "io/loader.h"
#include "io/video/video_pair_source.h"
#include "tests/io/fixtures.h"

using namespace mtmap;
using namespace mtmap::io;
namespace fs = std::filesystem;

namespace {

PairOptions small_pairs() {
  PairOptions o;
  o.clip = {.frames = 4, .stride = 2};
  o.augment.size = 24;
  o.decode_short_side = 40;
  return o;
}

DeadLeavesConfig small_leaves() {
  DeadLeavesConfig c;
  c.height = c.width = 32;
  c.frames = 12;
  return c;
}

struct Run {
  std::vector<std::vector<float>> q, k;
  std::vector<int64_t> items;
};

Run run_epoch(Loader& loader, int64_t epoch) {
  loader.start_epoch(epoch);
  Run r;
  while (auto b = loader.next()) {
    r.q.push_back(b->query.to_vector<float>());
    r.k.push_back(b->key.to_vector<float>());
    r.items.insert(r.items.end(), b->items.begin(), b->items.end());
  }
  return r;
}

// Counts make_pair calls of the source it wraps.
class CountingSource : public PairSource {
 public:
  explicit CountingSource(PairSource& s) : s_(s) {}
  int64_t size() const override { return s_.size(); }
  std::string name(int64_t i) const override { return s_.name(i); }
  Shape clip_shape() const override { return s_.clip_shape(); }
  void make_pair(int64_t i, Rng& r, float* q, float* k) override {
    ++calls;
    s_.make_pair(i, r, q, k);
  }
  std::atomic<int> calls{0};

 private:
  PairSource& s_;
};

}  // namespace

TEST_CASE("loader: the same batches for 1 and 3 workers, each epoch a new permutation", "[io][loader]") {
  DeadLeavesPairSource src(small_leaves(), small_pairs(), 5, 20);
  Loader one(src, {.batch_size = 4, .workers = 1, .seed = 9});
  Loader three(src, {.batch_size = 4, .workers = 3, .prefetch = 2, .seed = 9});
  Run a = run_epoch(one, 0), b = run_epoch(three, 0);
  REQUIRE(a.q.size() == 5);
  CHECK(a.items == b.items);
  CHECK(a.q == b.q);
  CHECK(a.k == b.k);
  CHECK(a.q[0].size() == size_t(4 * 3 * 4 * 24 * 24));
  // Every item once per epoch.
  std::vector<int64_t> sorted = a.items;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 20; ++i) CHECK(sorted[size_t(i)] == i);
  // Another epoch: another order, other augmentations; the same epoch again: the same batches.
  Run a1 = run_epoch(one, 1);
  CHECK(a1.items != a.items);
  CHECK(run_epoch(three, 0).q == a.q);
  // Query and key of a sample differ (two clips, two augmentations).
  CHECK(a.q[0] != a.k[0]);
  // Another seed: other batches.
  Loader other(src, {.batch_size = 4, .workers = 2, .seed = 10});
  CHECK(run_epoch(other, 0).q != a.q);
}

TEST_CASE("loader: the shards of a global batch are exactly one loader's batch of N·S, in shard order",
          "[io][loader]") {
  // 22 items, 3 shards of 2: global batches of 6, three of them per epoch (the last 4 items dropped).
  DeadLeavesPairSource src(small_leaves(), small_pairs(), 5, 22);
  Loader whole(src, {.batch_size = 6, .workers = 2, .seed = 9});
  std::vector<Run> shards;
  for (int s = 0; s < 3; ++s) {
    Loader part(src, {.batch_size = 2, .workers = 1, .seed = 9, .shard = s, .shards = 3});
    CHECK(part.batches_per_epoch() == 3);
    shards.push_back(run_epoch(part, 1));
  }
  const Run w = run_epoch(whole, 1);
  REQUIRE(w.q.size() == 3);
  const size_t sample = w.q[0].size() / 6;
  for (size_t b = 0; b < 3; ++b)
    for (size_t s = 0; s < 3; ++s) {
      INFO("batch " << b << " shard " << s);
      REQUIRE(shards[s].q.size() == 3);
      const auto from = w.q[b].begin() + std::ptrdiff_t(2 * s * sample);
      CHECK(shards[s].q[b] == std::vector<float>(from, from + std::ptrdiff_t(2 * sample)));
      const auto kfrom = w.k[b].begin() + std::ptrdiff_t(2 * s * sample);
      CHECK(shards[s].k[b] == std::vector<float>(kfrom, kfrom + std::ptrdiff_t(2 * sample)));
      CHECK(shards[s].items[2 * b] == w.items[6 * b + 2 * s]);
    }
  CHECK_THROWS_WITH(Loader(src, {.batch_size = 2, .seed = 9, .shard = 3, .shards = 3}), Catch::Contains("shard 3 of 3"));
  CHECK_THROWS_WITH(Loader(src, {.batch_size = 8, .seed = 9, .shard = 0, .shards = 3}),
                    Catch::Contains("3 ranks × 8"));
}

TEST_CASE("loader: prefetch is bounded by the slots", "[io][loader]") {
  DeadLeavesPairSource inner(small_leaves(), small_pairs(), 1, 64);
  CountingSource src(inner);
  Loader loader(src, {.batch_size = 2, .workers = 2, .prefetch = 3, .seed = 1});
  auto first = loader.next();
  REQUIRE(first);
  // The workers run ahead (wait for it, however loaded the machine) ...
  for (int i = 0; i < 500 && src.calls.load() < 3 * 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(src.calls.load() == 3 * 2);
  // ... but with 3 slots (the batch the consumer holds and two more) they stop there.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(src.calls.load() == 3 * 2);
  int n = 1;
  while (loader.next()) ++n;
  CHECK(n == 32);
  CHECK(src.calls.load() == 64);
}

TEST_CASE("loader: a folder mixing good and bad files iterates to the end and reports the bad files", "[io][loader]") {
  std::string root = test::scratch_dir() + "/train_mixed";
  fs::create_directories(root);
  auto good = test::encode_fixture("loader_good.avi", 64, 48, 1.0, "-c:v libxvid -g 8");
  auto good2 = test::encode_fixture("loader_good.mp4", 64, 48, 1.0, "-c:v libx264 -pix_fmt yuv420p -g 8");
  for (int i = 0; i < 3; ++i)
    fs::copy_file(good, root + fmt::format("/g{}.avi", i), fs::copy_options::overwrite_existing);
  fs::copy_file(good2, root + "/g3.mp4", fs::copy_options::overwrite_existing);
  fs::copy_file(good2, root + "/to_delete.mp4", fs::copy_options::overwrite_existing);
  test::truncate_copy(good, "train_mixed/cut.avi", 0.4);
  std::ofstream(root + "/empty.avi").close();
  std::ofstream(root + "/text.mp4") << "not a video at all";

  DatasetOptions dopt;
  dopt.min_frames = 7;
  VideoDataset ds = VideoDataset::scan({root}, dopt);
  REQUIRE(ds.size() == 5);
  REQUIRE(ds.bad().size() == 3);
  // A file that disappears after the scan fails at read time: it must be skipped and reported too.
  fs::remove(root + "/to_delete.mp4");
  VideoPairSource src(ds, small_pairs());
  Loader loader(src, {.batch_size = 2, .workers = 2, .seed = 3, .drop_last = false});
  std::set<int64_t> seen;
  int batches = 0;
  while (auto b = loader.next()) {
    ++batches;
    for (int64_t item : b->items) {
      CHECK(src.name(item) != root + "/to_delete.mp4");
      seen.insert(item);
    }
    auto q = b->query.to_vector<float>();
    CHECK(std::all_of(q.begin(), q.end(), [](float v) { return std::isfinite(v); }));
  }
  CHECK(batches == 3);
  CHECK(seen.size() == 4);  // every good file was used
  auto bad = loader.bad_files();
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].path == root + "/to_delete.mp4");
  CHECK(bad[0].problem == VideoProblem::missing);
  CHECK_THAT(bad[0].message, Catch::Contains("to_delete.mp4: missing"));
}

TEST_CASE("loader: cached clips (memory and disk) equal decoded ones and the cache decodes once",
          "[io][loader][cache]") {
  std::string root = test::scratch_dir() + "/cache_set";
  fs::create_directories(root);
  fs::copy_file(test::encode_fixture("c1.avi", 80, 60, 1.0, "-c:v libxvid -g 6"), root + "/c1.avi",
                fs::copy_options::overwrite_existing);
  fs::copy_file(test::encode_fixture("c2.mp4", 60, 80, 1.0, "-c:v libx264 -pix_fmt yuv420p -g 6"), root + "/c2.mp4",
                fs::copy_options::overwrite_existing);
  fs::copy_file(test::encode_fixture("c3.webm", 64, 64, 1.0, "-c:v libvpx-vp9 -g 6 -deadline realtime"),
                root + "/c3.webm", fs::copy_options::overwrite_existing);
  DatasetOptions dopt;
  dopt.min_frames = 7;
  VideoDataset ds = VideoDataset::scan({root}, dopt);
  REQUIRE(ds.size() == 3);
  PairOptions po = small_pairs();
  LoaderOptions lo{.batch_size = 3, .workers = 2, .seed = 4};

  VideoPairSource plain(ds, po);
  Loader l0(plain, lo);
  Run ref = run_epoch(l0, 0);

  CacheOptions in_memory;
  in_memory.short_side = po.decode_short_side;
  ClipCache mem(in_memory);
  VideoPairSource cached(ds, po, &mem);
  Loader l1(cached, lo);
  CHECK(run_epoch(l1, 0).q == ref.q);
  CHECK(mem.stats().decodes == 3);
  Run second = run_epoch(l1, 0);
  CHECK(second.k == ref.k);
  CHECK(mem.stats().decodes == 3);  // no re-decoding
  CHECK(mem.stats().hits > 0);

  std::string dir = test::scratch_dir() + "/clip_cache";
  {
    ClipCache disk({.short_side = po.decode_short_side, .dir = dir});
    VideoPairSource on_disk(ds, po, &disk);
    Loader l2(on_disk, lo);
    CHECK(run_epoch(l2, 0).q == ref.q);
    CHECK(disk.stats().decodes == 3);
  }
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 3);
  // A new run finds the files of the previous one and decodes nothing.
  ClipCache again({.short_side = po.decode_short_side, .dir = dir});
  VideoPairSource reuse(ds, po, &again);
  Loader l3(reuse, lo);
  CHECK(run_epoch(l3, 0).k == ref.k);
  CHECK(again.stats().decodes == 0);
  // The memory budget evicts least recently used videos.
  CacheOptions budget = in_memory;
  budget.memory_budget = 1;
  ClipCache tiny(budget);
  for (int i = 0; i < 2; ++i)
    for (const VideoEntry& v : ds.videos()) tiny.read_clip(v.info.path, 0, 2, 1);
  CHECK(tiny.stats().decodes == 6);
  CHECK_THROWS_WITH(mem.read_clip(ds.videos()[0].info.path, 20, 4, 2), Catch::Contains("too short"));
}

TEST_CASE("loader: errors that are not bad files stop the run and name the sample", "[io][loader]") {
  class Broken : public PairSource {
   public:
    int64_t size() const override { return 6; }
    std::string name(int64_t i) const override { return fmt::format("broken item {}", i); }
    Shape clip_shape() const override { return {3, 2, 4, 4}; }
    void make_pair(int64_t i, Rng&, float*, float*) override {
      if (i == 4) throw Error("out of something");
    }
  } src;
  Loader loader(src, {.batch_size = 2, .workers = 2, .shuffle = false});
  CHECK(loader.next());
  CHECK(loader.next());
  CHECK_THROWS_WITH(loader.next(), Catch::Contains("item 4 (broken item 4)") && Catch::Contains("out of something"));
  CHECK_THROWS_WITH(Loader(src, {.batch_size = 7}), Catch::Contains("cannot fill one batch of 7"));
}
