// The device batch path (io/device_batches.h): clip augmentations on a CUDA device
// (kernels/cuda/augment.cu) against the CPU's apply_augment, and whole batches of generated dead
// leaves against the CPU loader's batches. Needs a GPU: without one every test exits 77 (skipped);
// on the CPU emulator of the CUDA runtime in CI's emulated build.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#include "engine/core/device_support.h"
#include "io/augment.h"
#include "io/device_batches.h"
#include "io/loader.h"
#include "io/pair_source.h"
#include "kernels/cuda/augment.h"

using namespace mtmap;
using namespace mtmap::io;

namespace {

void require_gpu() {
  if (cuda_device_count() == 0) std::exit(77);
}

std::vector<float> floats(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

template <class T>
Tensor upload(const std::vector<T>& v) {
  return from_vector(v, {int64_t(v.size())}, dtype_of<T>(), Device::cuda(0));
}

// Parameters that walk every branch: each colour operation at each position of the order,
// skipped factors of 1, grayscale, blur of several radii, flips, the centre crop.
AugmentParams varied_params(int clip, const AugmentConfig& c, int H, int W, Rng& rng) {
  AugmentParams p = sample_augment(c, H, W, rng);
  p.jitter = clip % 5 != 4;
  p.brightness = clip % 7 == 1 ? 1.0 : rng.uniform(0.6, 1.4);
  p.contrast = clip % 7 == 2 ? 1.0 : rng.uniform(0.6, 1.4);
  p.saturation = clip % 7 == 3 ? 1.0 : rng.uniform(0.6, 1.4);
  p.hue = clip % 7 == 4 ? 0.0 : rng.uniform(-0.1, 0.1);
  p.order = {0, 1, 2, 3};
  std::swap(p.order[0], p.order[size_t(clip % 4)]);  // contrast first, second, third or fourth
  if (clip % 3 == 0) std::swap(p.order[2], p.order[3]);
  p.grayscale = clip % 4 == 1;
  p.blur_sigma = clip % 3 == 2 ? 0.0 : 0.3 + 0.4 * (clip % 5);
  p.flip = clip % 2 == 1;
  if (clip % 6 == 5) {
    AugmentConfig centre = c;
    centre.random = false;
    p = sample_augment(centre, H, W, rng);
  }
  return p;
}

}  // namespace

TEST_CASE("cuda augment: every operation, in every order, is the CPU's apply_augment", "[io][cuda][augment]") {
  require_gpu();
  const int V = 3, F = 9, H = 13, W = 17, T = 3, stride = 2, S = 7, clips = 30, query_count = 11;
  AugmentConfig config;
  config.size = S;
  Rng rng(41, 3);
  std::vector<uint8_t> pixels(size_t(V) * 3 * F * H * W);
  for (uint8_t& v : pixels) v = uint8_t(rng.integer(256));
  const Tensor videos = upload(pixels);

  std::vector<augment::ClipPlan> plans;
  std::vector<int32_t> tx, ty;
  std::vector<float> fx, fy;
  std::vector<std::vector<float>> expected;
  std::vector<bool> has_contrast;
  for (int c = 0; c < clips; ++c) {
    const AugmentParams p = varied_params(c, config, H, W, rng);
    const int video = c % V, start = c % 4;
    augment::ClipPlan plan = clip_plan(p, config);
    plan.video = video, plan.start = start, plan.stride = stride;
    plans.push_back(plan);
    const CropTaps taps = crop_taps(p, S, H, W);
    tx.insert(tx.end(), taps.x.begin(), taps.x.end());
    ty.insert(ty.end(), taps.y.begin(), taps.y.end());
    fx.insert(fx.end(), taps.fx.begin(), taps.fx.end());
    fy.insert(fy.end(), taps.fy.begin(), taps.fy.end());
    // The CPU's clip: frames start, start + stride, … of the video, augmented.
    std::vector<uint8_t> clip(size_t(3) * T * H * W);
    for (int ch = 0; ch < 3; ++ch)
      for (int t = 0; t < T; ++t)
        std::memcpy(clip.data() + (size_t(ch) * T + t) * H * W,
                    pixels.data() + ((size_t(video) * 3 + ch) * F + start + t * stride) * H * W, size_t(H) * W);
    expected.push_back(augment_clip(from_vector(clip, {3, T, H, W}, DType::u8), p, config).to_vector<float>());
    has_contrast.push_back(p.jitter && colour_op_active(p, augment::kContrast));
  }
  std::vector<uint8_t> plan_bytes(plans.size() * sizeof(augment::ClipPlan));
  std::memcpy(plan_bytes.data(), plans.data(), plan_bytes.size());
  const Tensor dplans = upload(plan_bytes), dtx = upload(tx), dty = upload(ty), dfx = upload(fx), dfy = upload(fy);
  Tensor query = empty({query_count, 3, T, S, S}, DType::f32, Device::cuda(0));
  Tensor key = empty({clips - query_count, 3, T, S, S}, DType::f32, Device::cuda(0));
  Tensor scratch = empty({cuda::augment_scratch_floats(clips, T, S)}, DType::f32, Device::cuda(0));
  cuda::AugmentBatch b;
  b.videos = static_cast<const uint8_t*>(videos.raw());
  b.video_frames = F, b.height = H, b.width = W;
  b.clips = clips, b.frames = T, b.size = S;
  b.plans = static_cast<const augment::ClipPlan*>(dplans.raw());
  b.host_plans = plans.data();
  b.tap_x = static_cast<const int32_t*>(dtx.raw()), b.tap_y = static_cast<const int32_t*>(dty.raw());
  b.fx = static_cast<const float*>(dfx.raw()), b.fy = static_cast<const float*>(dfy.raw());
  b.query = static_cast<float*>(query.raw()), b.key = static_cast<float*>(key.raw()), b.key_from = query_count;
  b.scratch = static_cast<float*>(scratch.raw());
  cuda::augment_clips(b, ExecutionContext::current(Device::cuda(0)).compute_stream().get());

  const std::vector<float> q = floats(query), k = floats(key);
  const size_t per = size_t(3) * T * S * S;
  int contrast_clips = 0;
  for (int c = 0; c < clips; ++c) {
    const float* got = c < query_count ? q.data() + size_t(c) * per : k.data() + size_t(c - query_count) * per;
    double worst = 0;
    size_t equal = 0;
    for (size_t i = 0; i < per; ++i) {
      worst = std::max(worst, double(std::fabs(got[i] - expected[size_t(c)][i])));
      equal += got[i] == expected[size_t(c)][i];
    }
    contrast_clips += has_contrast[size_t(c)];
    INFO("clip " << c << ": " << equal << " of " << per << " equal, worst " << worst);
    if (has_contrast[size_t(c)])
      CHECK(worst <= 1e-5);  // the reference grey is a sum in another order: its last bit may differ
    else
      CHECK(equal == per);  // the same arithmetic in the same order: the same bits
  }
  CHECK(contrast_clips >= 10);
  // Nothing to do is no launch; more clips than a grid holds is an error naming the launcher.
  cuda::AugmentBatch none;
  CHECK_NOTHROW(cuda::augment_clips(none, nullptr));
  none.clips = 70000;
  CHECK_THROWS_WITH(cuda::augment_clips(none, nullptr),
                    Catch::Contains("augment_clips") && Catch::Contains("70000 clips"));
}

TEST_CASE("device batches: the CPU loader's batches of generated dead leaves", "[io][cuda]") {
  require_gpu();
  DeadLeavesConfig dl;
  dl.height = dl.width = 24, dl.frames = 8;
  dl.radius_max = 12;
  PairOptions po;
  po.clip.frames = 3, po.clip.stride = 2;
  po.augment.size = 10;
  DeadLeavesPairSource source(dl, po, 17, 13);
  // Shard 1 of 2, batch 3 per shard, resumed at batch 1 of epoch 2: the ranks' and resume's paths.
  LoaderOptions lo;
  lo.batch_size = 3, lo.workers = 1, lo.seed = 5, lo.shard = 1, lo.shards = 2;
  Loader loader(source, lo);
  const std::unique_ptr<BatchStream> device = make_device_batches(source, lo, Device::cuda(0));
  CHECK(device->batches_per_epoch() == loader.batches_per_epoch());
  loader.start_epoch(2, 1);
  device->start_epoch(2, 1);
  size_t values = 0, close = 0;
  double worst = 0;
  int batches = 0;
  for (;;) {
    const std::optional<Batch> a = loader.next(), b = device->next();
    REQUIRE(a.has_value() == b.has_value());
    if (!a) break;
    ++batches;
    CHECK(b->index == a->index);
    CHECK(b->items == a->items);
    CHECK(b->query.device() == Device::cuda(0));
    REQUIRE(b->query.shape() == a->query.shape());
    REQUIRE(b->key.shape() == a->key.shape());
    for (const auto& [cpu, gpu] : {std::pair{a->query, b->query}, std::pair{a->key, b->key}}) {
      const std::vector<float> x = cpu.to_vector<float>(), y = floats(gpu);
      for (size_t i = 0; i < x.size(); ++i) {
        const double d = std::fabs(double(x[i]) - double(y[i]));
        worst = std::max(worst, d);
        close += d <= 1e-5;
      }
      values += x.size();
    }
  }
  CHECK(batches == 1);  // 13 videos, 6 per global batch: batches 0 and 1, started at 1
  CHECK(device->bad_file_count() == 0);
  INFO(close << " of " << values << " values within 1e-5, worst " << worst);
  // The renderer may move a level by one (its texture's sine), which the crop, the colour
  // operations (factors ≤ 1.4 each) and the normalisation (÷ 0.225) carry to at most ~0.05.
  CHECK(worst <= 0.05);
  CHECK(double(close) >= 0.999 * double(values));
}

TEST_CASE("device batches: a last partial batch, and what they refuse", "[io][cuda]") {
  require_gpu();
  DeadLeavesConfig dl;
  dl.height = dl.width = 16, dl.frames = 4;
  PairOptions po;
  po.clip.frames = 2;
  po.augment.size = 8;
  DeadLeavesPairSource source(dl, po, 3, 5);
  LoaderOptions lo;
  lo.batch_size = 3, lo.workers = 1, lo.drop_last = false;
  Loader loader(source, lo);
  const std::unique_ptr<BatchStream> device = make_device_batches(source, lo, Device::cuda(0));
  REQUIRE(device->batches_per_epoch() == 2);
  device->next();
  loader.next();
  const std::optional<Batch> a = loader.next(), b = device->next();
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(b->items.size() == 2);
  REQUIRE(b->key.shape() == a->key.shape());  // the samples there are, not a padded batch
  const std::vector<float> x = a->key.to_vector<float>(), y = floats(b->key);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::fabs(x[i] - y[i])));
  CHECK(worst <= 0.05);
  CHECK_FALSE(device->next());

  CHECK_THROWS_WITH(make_device_batches(source, lo, Device::cpu()),
                    Catch::Contains("device batches on cpu") && Catch::Contains("CUDA device"));
  struct Other : PairSource {
    int64_t size() const override { return 4; }
    std::string name(int64_t) const override { return "some.mp4"; }
    Shape clip_shape() const override { return {3, 2, 8, 8}; }
    void make_pair(int64_t, Rng&, float*, float*) override {}
  } other;
  CHECK_THROWS_WITH(make_device_batches(other, lo, Device::cuda(0)),
                    Catch::Contains("only generated dead leaves") && Catch::Contains("some.mp4"));
  LoaderOptions too_big = lo;
  too_big.batch_size = 6, too_big.drop_last = true;
  CHECK_THROWS_WITH(make_device_batches(source, too_big, Device::cuda(0)), Catch::Contains("cannot fill one batch"));
}
