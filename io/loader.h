#pragma once
// The loader: worker threads fill a bounded ring of batch slots ahead of the consumer.
//  - Order: each epoch is a permutation of the source's items (Philox randperm of (seed, epoch));
//    batch b holds positions b·N .. b·N + N − 1. A sample's randomness is a function of (seed,
//    epoch, position), so the batches are the same bit for bit for any number of workers.
//  - Shards (data parallel): with `shards` = S ranks each loading N, the epoch's global batch b is
//    positions b·N·S .. b·N·S + N·S − 1 and shard s takes its s-th N of them: the S shards of
//    batch b together are exactly the batch b of one loader of batch N·S (same samples, same
//    randomness), which is what lets a run resume on another number of ranks.
//  - Flow: batch b is built in slot b mod P (P = prefetch slots) by whichever worker claims it, once
//    the consumer has released batch b − P; next() hands out batches strictly in order.
//  - Bad files never stop a run: a sample whose file fails (VideoError) is replaced by the next
//    item of the permutation that works; the file is named and counted in bad_files().
//  - Slot memory comes from `host_allocator` (the CUDA feeder passes a pinned one) or the CPU's.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/tensor/allocator.h"
#include "engine/tensor/tensor.h"
#include "io/batch_stream.h"
#include "io/pair_source.h"
#include "io/rng.h"
#include "io/video_error.h"

namespace mtmap::io {

struct LoaderOptions {
  int batch_size = 8;
  int workers = 2;
  int prefetch = 0;  // slots; 0: 2 per worker
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = true;                // a last partial batch is dropped (training)
  int shard = 0, shards = 1;            // this loader's part of each global batch (above)
  Allocator* host_allocator = nullptr;  // slot memory; null: the CPU allocator
};

// The permutation of `n` items that epoch `epoch` visits (identity without `shuffle`), and the
// randomness of the sample at `position` of it (its `attempt`-th try after bad files): the
// functions that make a batch's content independent of who makes it (io/device_batches.h too).
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);
inline Rng sample_rng(uint64_t seed, int64_t epoch, int64_t position, int64_t attempt = 0) {
  return Rng(seed, mix_key(uint64_t(epoch), uint64_t(position), uint64_t(attempt)));
}
// The batching `options` ask of `items` items, checked (errors start with `who`): the shard and the
// batch size valid, and with drop_last at least one whole global batch.
void check_batching(int64_t items, const LoaderOptions& options, const char* who);
int64_t epoch_batches(int64_t items, const LoaderOptions& options);
// The epoch position of batch `batch`'s first sample in this shard (see Shards above).
inline int64_t first_position(int64_t batch, int64_t batch_size, int shard, int shards) {
  return (batch * shards + shard) * batch_size;
}

class Loader final : public BatchStream {
 public:
  Loader(PairSource& source, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts (or restarts) epoch `epoch` at batch `first_batch` (a resumed run: the batches before it
  // are not made; the ones from it are the same as in an uninterrupted epoch). An unfinished
  // epoch is abandoned.
  void start_epoch(int64_t epoch, int64_t first_batch = 0) override;
  // The next batch of the epoch in order, or nullopt at its end. Rethrows a worker's error that
  // is not a bad file (e.g. a bug or out of memory) with the item that caused it.
  std::optional<Batch> next() override;
  int64_t batches_per_epoch() const override;
  std::vector<BadFile> bad_files() const override;
  size_t bad_file_count() const override;
  int slots() const { return int(slots_.size()); }

 private:
  struct Slot {
    Tensor query, key;
    std::vector<int64_t> items;
    int64_t batch = -1;  // which batch it holds or is being filled with
    bool ready = false;
    std::exception_ptr error;
  };
  void worker_loop();
  void fill(Slot& slot, int64_t batch);
  void stop_workers();

  PairSource& source_;
  LoaderOptions options_;
  std::vector<Slot> slots_;
  std::vector<int64_t> order_;  // this epoch's permutation of items
  int64_t epoch_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int64_t next_claim_ = 0;    // next batch a worker may claim
  int64_t next_deliver_ = 0;  // next batch next() returns
  int64_t released_ = 0;      // batches the consumer is done with
  int64_t generation_ = 0;    // bumped by start_epoch: stale work is discarded
  bool running_ = false, stopping_ = false;
  std::vector<std::thread> threads_;
  std::vector<char> bad_item_;  // items known to fail (shared by all epochs)
  std::vector<BadFile> bad_files_;
};

}  // namespace mtmap::io
