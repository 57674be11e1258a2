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

void augment_pair_into(const Tensor& query_clip, const Tensor& key_clip, const PairOptions& options, Rng& rng,
                       float* query, float* key) {
  if (options.flip == FlipMode::independent) {
    augment_clip_into(query_clip, options.augment, rng, query);
    augment_clip_into(key_clip, options.augment, rng, key);
    return;
  }
  AugmentConfig both = options.augment;
  const bool flip = options.flip == FlipMode::shared && options.augment.random && rng.bernoulli(options.augment.flip_p);
  both.flip_p = flip ? 1.0 : 0.0;
  augment_clip_into(query_clip, both, rng, query);
  augment_clip_into(key_clip, both, rng, key);
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
  augment_pair_into(slice_frames(video, p.start_q, options_.clip), slice_frames(video, p.start_k, options_.clip),
                    options_, rng, query, key);
}

}  // namespace mtmap::io
