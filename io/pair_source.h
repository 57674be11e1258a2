#pragma once
// Where the loader's samples come from. A sample is a contrastive pair: two augmented clips of one
// video, f32 (3, T, S, S) each. Sources are called from several worker threads at once, and a
// sample depends only on (item, rng), never on the thread or the order of calls.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"
#include "io/augment.h"
#include "io/clip_sampler.h"
#include "io/dead_leaves.h"
#include "io/rng.h"

namespace mtmap::io {

// Shared by the sources: frames start, start + stride, … (spec.frames of them) of a uint8
// (3, T, H, W) video, copied out; and one clip's augmentation sampled and applied into `out`.
Tensor slice_frames(const Tensor& video, int64_t start, const ClipSpec& spec);
void augment_clip_into(const Tensor& clip, const AugmentConfig& config, Rng& rng, float* out);

// How a pair's two clips are flipped. A horizontal flip turns rightward motion into leftward, so
// flipping each clip on its own (the preprint's MoCo v2 / CVRL recipe) asks the two views of one
// video to agree across a reversal of horizontal motion: it teaches invariance to left-right
// direction. `shared` flips both clips of a pair together (flip as data augmentation only); `none`
// never flips.
enum class FlipMode { independent, shared, none };

class PairSource {
 public:
  virtual ~PairSource() = default;
  virtual int64_t size() const = 0;
  virtual std::string name(int64_t item) const = 0;  // a file path, or a generator's description
  virtual Shape clip_shape() const = 0;              // (3, T, S, S)
  // Writes the two clips of `item` (query, key); throws VideoError for a bad file.
  virtual void make_pair(int64_t item, Rng& rng, float* query, float* key) = 0;
};

struct PairOptions {
  ClipSpec clip;
  OffsetMode offsets = OffsetMode::independent;
  double offset_power = 1.0;  // OffsetMode::decreasing
  AugmentConfig augment;
  FlipMode flip = FlipMode::independent;
  int decode_short_side = 128;  // uncached decoding: the frames are scaled to this first
};

// The augmentations of a pair's two clips (frames height × width), flipped as `options.flip`
// says. The independent mode draws exactly what two sample_augment calls draw.
struct PairAugment {
  AugmentParams query, key;
};
PairAugment sample_pair_augment(int height, int width, const PairOptions& options, Rng& rng);

// The two clips of a pair augmented into `query` and `key` (sample_pair_augment, then apply_augment).
void augment_pair_into(const Tensor& query_clip, const Tensor& key_clip, const PairOptions& options, Rng& rng,
                       float* query, float* key);

// Procedural dead-leaves videos: item i is video i of the stream `seed`.
class DeadLeavesPairSource : public PairSource {
 public:
  DeadLeavesPairSource(DeadLeavesConfig config, PairOptions options, uint64_t seed, int64_t videos_per_epoch);
  int64_t size() const override { return count_; }
  std::string name(int64_t item) const override;
  Shape clip_shape() const override;
  void make_pair(int64_t item, Rng& rng, float* query, float* key) override;

  // Everything make_pair draws from `rng` for `item`, in the same order, without rendering: the
  // device batches (io/device_batches.h) render and augment on a GPU from it.
  struct Plan {
    ClipPair clips;
    PairAugment augment;
  };
  Plan plan(Rng& rng) const;
  const DeadLeavesConfig& config() const { return config_; }
  const PairOptions& options() const { return options_; }
  uint64_t seed() const { return seed_; }

 private:
  DeadLeavesConfig config_;
  PairOptions options_;
  uint64_t seed_;
  int64_t count_;
};

}  // namespace mtmap::io
