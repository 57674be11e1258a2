// The device batches (device_batches.h), built with the CUDA backend.
#include "io/device_batches.h"

#include <algorithm>
#include <cstring>

#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#include "io/augment.h"
#include "io/cuda_feeder.h"
#include "io/dead_leaves.h"
#include "kernels/cuda/augment.h"
#include "kernels/cuda/dead_leaves.h"

namespace mtmap::io {
namespace {

// Appends the bytes of `values` to `raw`, returning where they start.
template <class T>
size_t append(std::vector<uint8_t>& raw, const T* values, size_t count) {
  const size_t at = raw.size();
  raw.resize(at + count * sizeof(T));
  if (count) std::memcpy(raw.data() + at, values, count * sizeof(T));
  return at;
}

class DeviceDeadLeavesBatches final : public BatchStream {
 public:
  DeviceDeadLeavesBatches(const DeadLeavesPairSource& source, const LoaderOptions& options, const Device& device)
      : source_(source), options_(options), device_(device) {
    check_batching(source_.size(), options_, "device batches");
    MTMAP_CHECK(source_.config().frames <= 65535, "device batches: {} frames per video, more than the renderer's 65535",
                source_.config().frames);
    start_epoch(0);
  }

  void start_epoch(int64_t epoch, int64_t first_batch = 0) override {
    MTMAP_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(),
                "device batches: epoch {} has {} batches; cannot start at batch {}", epoch, batches_per_epoch(),
                first_batch);
    epoch_ = epoch;
    next_ = first_batch;
    order_ = epoch_order(source_.size(), options_.seed, epoch, options_.shuffle);
  }

  int64_t batches_per_epoch() const override { return epoch_batches(source_.size(), options_); }
  std::vector<BadFile> bad_files() const override { return {}; }  // generated video has no bad file
  size_t bad_file_count() const override { return 0; }

  std::optional<Batch> next() override {
    if (next_ >= batches_per_epoch()) return std::nullopt;
    const int64_t b = next_++, n = source_.size(), N = options_.batch_size;
    const int64_t first = first_position(b, N, options_.shard, options_.shards), count = std::min(N, n - first);
    const DeadLeavesConfig& dl = source_.config();
    const PairOptions& po = source_.options();
    const int S = po.augment.size, T = int(po.clip.frames);

    // The host's part: scenes, offsets, augmentation parameters and taps, into one upload.
    Batch batch;
    batch.index = b;
    std::vector<DeadLeavesScene> scenes(static_cast<size_t>(count));
    std::vector<augment::ClipPlan> plans(static_cast<size_t>(2 * count));
    std::vector<int32_t> tap_x, tap_y;
    std::vector<float> fx, fy;
    auto add_clip = [&](int64_t c, const AugmentParams& p, int64_t video, int64_t start) {
      augment::ClipPlan& plan = plans[size_t(c)];
      plan = clip_plan(p, po.augment);
      plan.video = int32_t(video), plan.start = int32_t(start), plan.stride = int32_t(po.clip.stride);
      const CropTaps taps = crop_taps(p, S, dl.height, dl.width);
      tap_x.insert(tap_x.end(), taps.x.begin(), taps.x.end());
      tap_y.insert(tap_y.end(), taps.y.begin(), taps.y.end());
      fx.insert(fx.end(), taps.fx.begin(), taps.fx.end());
      fy.insert(fy.end(), taps.fy.begin(), taps.fy.end());
    };
    std::vector<DeadLeavesPairSource::Plan> pairs(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t item = order_[size_t((first + i) % n)];
      batch.items.push_back(item);
      Rng rng = sample_rng(options_.seed, epoch_, first + i);
      pairs[size_t(i)] = source_.plan(rng);
      scenes[size_t(i)] = make_dead_leaves_scene(dl, source_.seed(), uint64_t(item));
    }
    // Clips in the order the kernels index them: every query, then every key.
    for (int64_t i = 0; i < count; ++i) add_clip(i, pairs[size_t(i)].augment.query, i, pairs[size_t(i)].clips.start_q);
    for (int64_t i = 0; i < count; ++i)
      add_clip(count + i, pairs[size_t(i)].augment.key, i, pairs[size_t(i)].clips.start_k);
    std::vector<uint8_t> raw;
    std::vector<size_t> leaves_at(static_cast<size_t>(count));
    const size_t plans_at = append(raw, plans.data(), plans.size());
    const size_t tx_at = append(raw, tap_x.data(), tap_x.size()), ty_at = append(raw, tap_y.data(), tap_y.size());
    const size_t fx_at = append(raw, fx.data(), fx.size()), fy_at = append(raw, fy.data(), fy.size());
    for (int64_t i = 0; i < count; ++i)
      leaves_at[size_t(i)] = append(raw, scenes[size_t(i)].leaves.data(), scenes[size_t(i)].leaves.size());
    // Every piece is a multiple of 4 bytes long, so each starts 4-byte aligned.
    const Tensor upload = from_vector(raw, {int64_t(raw.size())}, DType::u8, device_);
    const uint8_t* base = static_cast<const uint8_t*>(upload.raw());

    // The device's part, on the compute stream (the temporaries' blocks are reused by the caching
    // allocator only for work queued after these kernels on the same stream).
    const ExecutionContext& ctx = ExecutionContext::current(device_);
    cudaStream_t stream = ctx.compute_stream().get();
    const int64_t video_bytes = 3 * dl.frames * int64_t(dl.height) * dl.width;
    const Tensor videos = empty({count, 3, dl.frames, dl.height, dl.width}, DType::u8, device_);
    for (int64_t i = 0; i < count; ++i) {
      const DeadLeavesScene& s = scenes[size_t(i)];
      cuda::render_dead_leaves(reinterpret_cast<const dead_leaves::Leaf*>(base + leaves_at[size_t(i)]),
                               int(s.leaves.size()), dl.frames, dl.height, dl.width, s.camera_vx, s.camera_vy,
                               static_cast<uint8_t*>(videos.raw()) + i * video_bytes, stream);
    }
    // A last partial batch (drop_last = false) holds the samples there are, as the loader's.
    const Shape shape{count, 3, T, S, S};
    batch.query = empty(shape, DType::f32, device_);
    batch.key = empty(shape, DType::f32, device_);
    const Tensor scratch = empty({cuda::augment_scratch_floats(int(2 * count), T, S)}, DType::f32, device_);
    cuda::AugmentBatch a;
    a.videos = static_cast<const uint8_t*>(videos.raw());
    a.video_frames = dl.frames, a.height = dl.height, a.width = dl.width;
    a.clips = int(2 * count), a.frames = T, a.size = S;
    a.plans = reinterpret_cast<const augment::ClipPlan*>(base + plans_at);
    a.host_plans = plans.data();
    a.tap_x = reinterpret_cast<const int32_t*>(base + tx_at);
    a.tap_y = reinterpret_cast<const int32_t*>(base + ty_at);
    a.fx = reinterpret_cast<const float*>(base + fx_at);
    a.fy = reinterpret_cast<const float*>(base + fy_at);
    a.query = static_cast<float*>(batch.query.raw());
    a.key = static_cast<float*>(batch.key.raw());
    a.key_from = int(count);
    a.scratch = static_cast<float*>(scratch.raw());
    cuda::augment_clips(a, stream);
    return batch;
  }

 private:
  const DeadLeavesPairSource& source_;
  LoaderOptions options_;
  Device device_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, next_ = 0;
};

// The loader behind a CUDA feeder. Members go in reverse order of declaration: the feeder first
// (it waits for its copies), then the loader (its workers), then the pinned memory of its slots.
class CudaFedBatches final : public BatchStream {
 public:
  CudaFedBatches(PairSource& source, LoaderOptions options, const Device& device)
      : loader_(source, with_pinned(options, pinned_)), feeder_(loader_, device.index) {}
  void start_epoch(int64_t epoch, int64_t first_batch = 0) override {
    feeder_.drain();  // no copy may still read a slot the loader is about to refill
    loader_.start_epoch(epoch, first_batch);
  }
  std::optional<Batch> next() override {
    std::optional<DeviceBatch> d = feeder_.next();
    if (!d) return std::nullopt;
    return Batch{d->query, d->key, std::move(d->items), d->index, 0};
  }
  int64_t batches_per_epoch() const override { return loader_.batches_per_epoch(); }
  std::vector<BadFile> bad_files() const override { return loader_.bad_files(); }
  size_t bad_file_count() const override { return loader_.bad_file_count(); }

 private:
  static LoaderOptions with_pinned(LoaderOptions o, PinnedAllocator& pinned) {
    o.host_allocator = &pinned;
    return o;
  }
  PinnedAllocator pinned_;
  Loader loader_;
  CudaFeeder feeder_;
};

}  // namespace

std::unique_ptr<BatchStream> make_cuda_fed_batches(PairSource& source, LoaderOptions options, const Device& device) {
  MTMAP_CHECK(device.is_cuda(), "batches fed to {}: the CUDA feeder feeds a CUDA device (the CPU uses the loader)",
              device.str());
  return std::make_unique<CudaFedBatches>(source, options, device);
}

std::unique_ptr<BatchStream> make_device_batches(const PairSource& source, const LoaderOptions& options,
                                                 const Device& device) {
  MTMAP_CHECK(device.is_cuda(), "device batches on {}: they are made on a CUDA device (the CPU uses the loader)",
              device.str());
  const auto* dl = dynamic_cast<const DeadLeavesPairSource*>(&source);
  MTMAP_CHECK(dl, "device batches: only generated dead leaves are made on the device; the source {} is not",
              source.size() ? source.name(0) : std::string("(empty)"));
  return std::make_unique<DeviceDeadLeavesBatches>(*dl, options, device);
}

}  // namespace mtmap::io
