#pragma once
// What training takes its batches from: the loader (io/loader.h: worker threads making batches on
// the CPU from any pair source) or, for generated video on a GPU, the device batches
// (io/device_batches.h: rendered and augmented in device memory). Both give batch b of an epoch
// the same samples with the same randomness.
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/tensor/tensor.h"
#include "io/video_error.h"

namespace mtmap::io {

// A batch lent by a stream: valid until the next call to next() or the stream's destruction.
struct Batch {
  Tensor query, key;           // f32 (N, 3, T, S, S) each, on the CPU or the stream's device
  std::vector<int64_t> items;  // the source item of each sample (after bad-file replacement)
  int64_t index = 0;           // batch number within the epoch
  int slot = 0;                // the loader's ring slot it lives in (0 for the device batches)
};

class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // Starts (or restarts) epoch `epoch` at batch `first_batch`: the batches from it are the same
  // as in an uninterrupted epoch.
  virtual void start_epoch(int64_t epoch, int64_t first_batch = 0) = 0;
  // The next batch of the epoch in order, or nullopt at its end.
  virtual std::optional<Batch> next() = 0;
  virtual int64_t batches_per_epoch() const = 0;
  virtual std::vector<BadFile> bad_files() const = 0;  // the files skipped so far
  virtual size_t bad_file_count() const = 0;           // bad_files().size(), without the copy
};

}  // namespace mtmap::io
