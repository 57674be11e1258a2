#include "io/pair_source.h"

#include <cstring>

namespace mtmap::io {

Tensor slice_frames(const Tensor& video, int64_t start, const ClipSpec& spec) {
  const int64_t T = video.size(1), px = video.size(2) * video.size(3);
  Tensor out = empty({3, spec.frames, video.size(2), video.size(3)}, DType::u8);
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < spec.frames; ++i)
      std::memcpy(out.data<uint8_t>() + (c * spec.frames + i) * px,
                  video.data<uint8_t>() + (c * T + start + i * spec.stride) * px, size_t(px));
  return out;
}

void augment_clip_into(const Tensor& clip, const AugmentConfig& a, Rng& rng, float* out) {
  AugmentParams p = sample_augment(a, int(clip.size(2)), int(clip.size(3)), rng);
  apply_augment(clip, p, a, out);
}

PairAugment sample_pair_augment(int height, int width, const PairOptions& options, Rng& rng) {
  PairAugment a;
  if (options.flip == FlipMode::independent) {
    a.query = sample_augment(options.augment, height, width, rng);
    a.key = sample_augment(options.augment, height, width, rng);
    return a;
  }
  AugmentConfig both = options.augment;
  const bool flip = options.flip == FlipMode::shared && options.augment.random && rng.bernoulli(options.augment.flip_p);
  both.flip_p = flip ? 1.0 : 0.0;
  a.query = sample_augment(both, height, width, rng);
  a.key = sample_augment(both, height, width, rng);
  return a;
}

void augment_pair_into(const Tensor& query_clip, const Tensor& key_clip, const PairOptions& options, Rng& rng,
                       float* query, float* key) {
  const PairAugment a = sample_pair_augment(int(query_clip.size(2)), int(query_clip.size(3)), options, rng);
  apply_augment(query_clip, a.query, options.augment, query);
  apply_augment(key_clip, a.key, options.augment, key);
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

DeadLeavesPairSource::Plan DeadLeavesPairSource::plan(Rng& rng) const {
  Plan p;
  p.clips = sample_clip_pair(config_.frames, options_.clip, options_.offsets, rng, options_.offset_power);
  p.augment = sample_pair_augment(config_.height, config_.width, options_, rng);
  return p;
}

void DeadLeavesPairSource::make_pair(int64_t item, Rng& rng, float* query, float* key) {
  Tensor video = generate_dead_leaves(config_, seed_, uint64_t(item));
  const Plan p = plan(rng);
  apply_augment(slice_frames(video, p.clips.start_q, options_.clip), p.augment.query, options_.augment, query);
  apply_augment(slice_frames(video, p.clips.start_k, options_.clip), p.augment.key, options_.augment, key);
}

}  // namespace mtmap::io
