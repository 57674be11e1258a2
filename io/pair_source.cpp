#include "io/pair_source.h"

#include <algorithm>
#include <cstring>

#include "io/video_reader.h"

namespace mtmap::io {
namespace {

// Copies frames [start, start + span) at `stride` out of a (3, T, H, W) video.
Tensor slice_frames(const Tensor& video, int64_t start, const ClipSpec& spec) {
  const int64_t T = video.size(1), px = video.size(2) * video.size(3);
  Tensor out = empty({3, spec.frames, video.size(2), video.size(3)}, DType::u8);
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < spec.frames; ++i)
      std::memcpy(out.data<uint8_t>() + (c * spec.frames + i) * px,
                  video.data<uint8_t>() + (c * T + start + i * spec.stride) * px, size_t(px));
  return out;
}

void augment_into(const Tensor& clip, const AugmentConfig& a, Rng& rng, float* out) {
  AugmentParams p = sample_augment(a, int(clip.size(2)), int(clip.size(3)), rng);
  apply_augment(clip, p, a, out);
}

}  // namespace

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
  augment_into(q, options_.augment, rng, query);
  augment_into(k, options_.augment, rng, key);
}

DeadLeavesPairSource::DeadLeavesPairSource(DeadLeavesConfig config, PairOptions options, uint64_t seed,
                                           int64_t videos_per_epoch)
    : config_(config), options_(std::move(options)), seed_(seed), count_(videos_per_epoch) {
  MTMAP_CHECK(config_.frames >= options_.clip.span(),
              "dead leaves: {} frames per video, shorter than one clip (span {})", config_.frames,
              options_.clip.span());
  MTMAP_CHECK(count_ > 0, "dead leaves: videos per epoch must be positive, got {}", count_);
}

std::string DeadLeavesPairSource::name(int64_t item) const {
  return fmt::format("dead-leaves(seed {}, video {})", seed_, item);
}

Shape DeadLeavesPairSource::clip_shape() const {
  return {3, options_.clip.frames, options_.augment.size, options_.augment.size};
}

void DeadLeavesPairSource::make_pair(int64_t item, Rng& rng, float* query, float* key) {
  Tensor video = generate_dead_leaves(config_, seed_, uint64_t(item));
  ClipPair p = sample_clip_pair(config_.frames, options_.clip, options_.offsets, rng, options_.offset_power);
  augment_into(slice_frames(video, p.start_q, options_.clip), options_.augment, rng, query);
  augment_into(slice_frames(video, p.start_k, options_.clip), options_.augment, rng, key);
}

}  // namespace mtmap::io
