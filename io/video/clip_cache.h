#pragma once
// A cache of decoded low-resolution frames, so an epoch over a UCF101-sized data set does not
// re-decode video: the first read of a video decodes all of it at the cache resolution (short
// side 128: UCF101's 320x240 becomes 171x128, ~14 GB for the whole set) and later reads slice it.
// In memory (an LRU with a byte budget) or on disk (one file per video, frames contiguous, read
// with pread, written to a temporary name and renamed so concurrent writers and crashed runs
// never leave half a file). Thread-safe.
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/tensor/tensor.h"

namespace mtmap::io {

struct CacheOptions {
  int short_side = 128;
  std::string dir;                         // "" keeps frames in memory
  size_t memory_budget = size_t(4) << 30;  // bytes, memory mode
};

struct CacheStats {
  int64_t hits = 0, decodes = 0;  // reads served from the cache / videos decoded into it
  size_t memory_bytes = 0;        // frames held in memory now
};

class ClipCache {
 public:
  explicit ClipCache(CacheOptions options);
  // Frames start, start+stride, ... of `path` at the cache resolution: uint8 (3, count, H, W).
  // Throws VideoError for a bad file (nothing is cached for it) or a clip past the end.
  Tensor read_clip(const std::string& path, int64_t start, int64_t count, int64_t stride);
  CacheStats stats() const;
  const CacheOptions& options() const { return options_; }

 private:
  struct Entry {
    Tensor frames;  // memory mode: (T, 3, H, W), frames contiguous
    int64_t T = 0;
    int H = 0, W = 0;
  };
  using EntryPtr = std::shared_ptr<const Entry>;
  EntryPtr load(const std::string& path);
  EntryPtr decode(const std::string& path);
  std::string disk_path(const std::string& path) const;

  CacheOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_future<EntryPtr>> entries_;  // in flight or done
  std::list<std::string> lru_;                                   // memory mode, most recent first
  std::map<std::string, std::list<std::string>::iterator> lru_pos_;
  CacheStats stats_;
};

}  // namespace mtmap::io
