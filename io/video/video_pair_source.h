#pragma once
// The loader's pair source over decoded video files (FFmpeg), through a ClipCache when one is given.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/video/clip_cache.h"
#include "io/video/dataset.h"
#include "io/pair_source.h"

namespace mtmap::io {

// Clips decoded from a data set's videos, through a ClipCache when one is given.
class VideoPairSource : public PairSource {
 public:
  VideoPairSource(const VideoDataset& dataset, PairOptions options, ClipCache* cache = nullptr);
  ~VideoPairSource() override;
  int64_t size() const override { return int64_t(videos_.size()); }
  std::string name(int64_t item) const override { return videos_[size_t(item)].info.path; }
  Shape clip_shape() const override;
  void make_pair(int64_t item, Rng& rng, float* query, float* key) override;

 private:
  Tensor read(const std::string& path, int64_t start);
  std::vector<VideoEntry> videos_;
  PairOptions options_;
  ClipCache* cache_;
  // Open readers for reuse (each keeps the keyframe index it has learnt), most recent last.
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<class VideoReader>> pool_;
};

}  // namespace mtmap::io
