// Loader throughput: clips/s produced with 1, 2 and N workers on real videos (decoding on the
// fly, and from the decoded-clip cache), against the ffmpeg command-line program decoding the
// same files to the same resolution in the same run; and the dead-leaves generator's clips/s.
// One JSON line per measurement; units in the field names.
//   bench_loader [--dir DIR] [--seconds S] [--frames T] [--stride s] [--size S] [--workers 1,2,4]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "io/loader.h"
#include "io/video/video_pair_source.h"

using namespace mtmap;
using namespace mtmap::io;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  std::string dir = MTMAP_BENCH_VIDEO_DIR;
  double seconds = 3;
  int frames = 16, stride = 1, size = 112, batch = 8;
  std::vector<int> workers;
};

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Runs the loader for about `seconds` (whole batches, restarting epochs); returns clips/s.
double measure(PairSource& src, const Config& c, int workers) {
  Loader loader(src, {.batch_size = c.batch, .workers = workers, .seed = 1});
  loader.next();  // warm-up: threads started, first batch built
  int64_t samples = 0, epoch = 0;
  auto t0 = Clock::now();
  while (since(t0) < c.seconds) {
    auto b = loader.next();
    if (!b) {
      loader.start_epoch(++epoch);
      continue;
    }
    samples += int64_t(b->items.size());
  }
  return 2.0 * double(samples) / since(t0);  // a sample is two clips
}

// Frames/s of `ffmpeg -i FILE -vf scale=-2:SHORT -f rawvideo -pix_fmt rgb24 -` over the files.
double ffmpeg_frames_per_s(const std::vector<VideoEntry>& videos, int short_side, int threads, int64_t& frames) {
  frames = 0;
  auto t0 = Clock::now();
  for (const VideoEntry& v : videos) {
    const bool portrait = v.info.width < v.info.height;
    std::string cmd = fmt::format(
        "ffmpeg -nostdin -v error -threads {} -i '{}' -vf scale={} -fps_mode passthrough -f rawvideo -pix_fmt rgb24 - "
        "> /dev/null",
        threads, v.info.path, portrait ? fmt::format("{}:-2", short_side) : fmt::format("-2:{}", short_side));
    if (std::system(cmd.c_str()) != 0) MTMAP_FAIL("ffmpeg failed: {}", cmd);
    frames += v.info.frame_count;
  }
  return double(frames) / since(t0);
}

void print(const std::string& what, const std::string& extra) {
  fmt::print("{{\"bench\": \"loader\", \"case\": \"{}\", {}}}\n", what, extra);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  std::string workers_arg;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir")
      c.dir = v;
    else if (k == "--seconds")
      c.seconds = std::stod(v);
    else if (k == "--frames")
      c.frames = std::stoi(v);
    else if (k == "--stride")
      c.stride = std::stoi(v);
    else if (k == "--size")
      c.size = std::stoi(v);
    else if (k == "--batch")
      c.batch = std::stoi(v);
    else if (k == "--workers")
      workers_arg = v;
    else {
      fmt::print(stderr, "bench_loader: unknown option {}\n", k);
      return 2;
    }
  }
  const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  if (workers_arg.empty()) {
    c.workers = {1, 2, hw};
  } else {
    for (size_t at = 0; at < workers_arg.size();) {
      size_t comma = workers_arg.find(',', at);
      c.workers.push_back(std::stoi(workers_arg.substr(at, comma - at)));
      at = comma == std::string::npos ? workers_arg.size() : comma + 1;
    }
  }
  std::sort(c.workers.begin(), c.workers.end());
  c.workers.erase(std::unique(c.workers.begin(), c.workers.end()), c.workers.end());

  PairOptions po;
  po.clip = {.frames = c.frames, .stride = c.stride};
  po.augment.size = c.size;
  po.decode_short_side = 128;
  const std::string common =
      fmt::format("\"clip\": \"{}x{}x{}\", \"stride\": {}, \"batch\": {}, \"hardware_threads\": {}", c.frames, c.size,
                  c.size, c.stride, c.batch, hw);

  DatasetOptions dopt;
  dopt.min_frames = po.clip.span();
  VideoDataset found = VideoDataset::scan({c.dir}, dopt);
  if (found.size() == 0) {
    fmt::print(stderr, "bench_loader: no usable video in {} ({})\n", c.dir, found.summary());
  } else {
    // Each file several times, so an epoch is more than a batch.
    std::vector<VideoEntry> many;
    for (int r = 0; r < 8; ++r) many.insert(many.end(), found.videos().begin(), found.videos().end());
    VideoDataset ds(many);
    int64_t ff_frames = 0;
    double ff1 = ffmpeg_frames_per_s(found.videos(), 128, 1, ff_frames);
    print("ffmpeg_cli_decode", fmt::format("\"threads\": 1, \"frames\": {}, \"frames_per_s\": {:.0f}, "
                                           "\"equivalent_clips_per_s\": {:.1f}, {}",
                                           ff_frames, ff1, ff1 / c.frames, common));
    for (int w : c.workers) {
      VideoPairSource src(ds, po);
      double cps = measure(src, c, w);
      print("video_decode",
            fmt::format("\"workers\": {}, \"clips_per_s\": {:.1f}, \"decoded_frames_per_s_min\": {:.0f}, {}", w, cps,
                        cps * c.frames, common));
    }
    CacheOptions co;
    co.short_side = 128;
    ClipCache cache(co);
    VideoPairSource cached(ds, po, &cache);
    for (const VideoEntry& v : found.videos()) cache.read_clip(v.info.path, 0, 1, 1);  // fill it
    for (int w : c.workers)
      print("video_memory_cache",
            fmt::format("\"workers\": {}, \"clips_per_s\": {:.1f}, {}", w, measure(cached, c, w), common));
  }

  DeadLeavesConfig dl;
  dl.height = dl.width = 128;
  dl.frames = 2 * c.frames * c.stride;
  DeadLeavesPairSource gen(dl, po, 7, 64);
  for (int w : c.workers)
    print("dead_leaves", fmt::format("\"workers\": {}, \"clips_per_s\": {:.1f}, \"video\": \"{}x{}x{}\", {}", w,
                                     measure(gen, c, w), dl.frames, dl.height, dl.width, common));
  return 0;
}
