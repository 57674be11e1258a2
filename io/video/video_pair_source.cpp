#include "io/video/video_pair_source.h"

#include <algorithm>

#include "io/video/video_reader.h"

namespace mtmap::io {

VideoPairSource::VideoPairSource(const VideoDataset& dataset, PairOptions options, ClipCache* cache)
    : videos_(dataset.videos()), options_(std::move(options)), cache_(cache) {
  for (const VideoEntry& v : videos_)
    MTMAP_CHECK(v.info.frame_count >= options_.clip.span(),
                "{}: {} frames, shorter than one clip ({} frames at stride {}); scan with min_frames >= {}",
                v.info.path, v.info.frame_count, options_.clip.frames, options_.clip.stride, options_.clip.span());
}

VideoPairSource::~VideoPairSource() = default;

Shape VideoPairSource::clip_shape() const {
  return {3, options_.clip.frames, options_.augment.size, options_.augment.size};
}

Tensor VideoPairSource::read(const std::string& path, int64_t start) {
  if (cache_) return cache_->read_clip(path, start, options_.clip.frames, options_.clip.stride);
  std::unique_ptr<VideoReader> reader;
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    auto it = std::find_if(pool_.rbegin(), pool_.rend(), [&](const auto& r) { return r && r->info().path == path; });
    if (it != pool_.rend()) {
      reader = std::move(*it);
      pool_.erase(std::next(it).base());
    }
  }
  if (!reader) reader = std::make_unique<VideoReader>(path);
  Tensor clip =
      reader->read_clip(start, options_.clip.frames, options_.clip.stride, {.short_side = options_.decode_short_side});
  std::lock_guard<std::mutex> lock(pool_mutex_);
  pool_.push_back(std::move(reader));
  if (pool_.size() > 16) pool_.erase(pool_.begin());  // keep the 16 most recently used
  return clip;
}

void VideoPairSource::make_pair(int64_t item, Rng& rng, float* query, float* key) {
  const VideoEntry& v = videos_[size_t(item)];
  ClipPair p = sample_clip_pair(v.info.frame_count, options_.clip, options_.offsets, rng, options_.offset_power);
  Tensor q = read(v.info.path, p.start_q);
  Tensor k = p.start_k == p.start_q ? q : read(v.info.path, p.start_k);
  augment_pair_into(q, k, options_, rng, query, key);
}

}  // namespace mtmap::io
