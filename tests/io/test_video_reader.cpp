// The reader against ffmpeg's own decode: frame counts, sizes and pixel checksums for the codecs
// UCF101 and users bring (AVI/XviD, MP4/H.264, WebM/VP9) and for the real sample clips; seeking
// and strided reads against the full decode; scaling and cropping geometry.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <utility>

#include "io/video/video_reader.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
}
#include "tests/io/fixtures.h"

using namespace mtmap;
using namespace mtmap::io;

namespace {

// Our full decode at native size, repacked to (T, H, W, 3) like ffmpeg's rawvideo output.
std::vector<uint8_t> packed(const Tensor& cthw) {
  int64_t T = cthw.size(1), H = cthw.size(2), W = cthw.size(3);
  const uint8_t* s = cthw.data<uint8_t>();
  std::vector<uint8_t> out(size_t(T * H * W * 3));
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < H * W; ++i) out[size_t((t * H * W + i) * 3 + c)] = s[(c * T + t) * H * W + i];
  return out;
}

// ffprobe's count of decoded frames.
int64_t ffprobe_frames(const std::string& path) {
  FILE* p =
      popen(("ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 '" +
             path + "'")
                .c_str(),
            "r");
  REQUIRE(p != nullptr);
  long long n = -1;
  REQUIRE(fscanf(p, "%lld", &n) == 1);
  pclose(p);
  return n;
}

void check_against_ffmpeg(const std::string& path, const std::string& codec, int w, int h, int64_t frames) {
  CHECK(ffprobe_frames(path) == frames);
  VideoReader r(path);
  CHECK(r.info().codec == codec);
  CHECK(r.info().width == w);
  CHECK(r.info().height == h);
  Tensor all = r.read_all();
  REQUIRE(all.shape() == Shape{3, frames, h, w});
  CHECK(r.info().frame_count == frames);
  std::vector<uint8_t> ref = test::ffmpeg_decode_rgb(path), ours = packed(all);
  REQUIRE(ref.size() == ours.size());
  CHECK(test::checksum(ours.data(), ours.size()) == test::checksum(ref.data(), ref.size()));
}

}  // namespace

using test::encode_fixture;
using test::ffmpeg_decode_rgb;

TEST_CASE("reader: AVI/XviD matches ffmpeg's decode", "[io][reader]") {
  auto path = encode_fixture("xvid.avi", 320, 240, 1.2, "-c:v libxvid -g 12 -bf 2");
  // libxvid's packed B-frames (as in many AVI files): FFmpeg decodes 28 of the 30 encoded frames,
  // ffprobe and the ffmpeg program included.
  check_against_ffmpeg(path, "mpeg4", 320, 240, 28);
}

TEST_CASE("reader: a video read from memory decodes exactly as from its file", "[io][reader]") {
  auto path = encode_fixture("memory.mp4", 64, 48, 0.5, "-c:v libx264 -g 4 -bf 2");
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  VideoReader file(path), memory(std::span<const uint8_t>(bytes), "memory.mp4");
  CHECK(memory.info().container == file.info().container);
  CHECK(memory.info().codec == file.info().codec);
  CHECK(memory.count_frames() == file.count_frames());
  const Tensor a = file.read_all(), b = memory.read_all();
  REQUIRE(a.shape() == b.shape());
  CHECK(std::memcmp(a.data<uint8_t>(), b.data<uint8_t>(), size_t(a.numel())) == 0);
  const Tensor c = memory.read_clip(3, 4, 2, {.short_side = 32, .crop_height = 24, .crop_width = 24});
  CHECK(c.shape() == Shape{3, 4, 24, 24});
  // Not a video, and no bytes at all: the named problems, from memory too.
  const std::vector<uint8_t> junk(100, 7);
  CHECK_THROWS_WITH(VideoReader(std::span<const uint8_t>(junk), "junk.bin"), Catch::Contains("junk.bin"));
  CHECK_THROWS_WITH(VideoReader(std::span<const uint8_t>(), "nothing.bin"), Catch::Contains("nothing.bin"));
}

TEST_CASE("reader: only video data sets' containers and codecs are opened", "[io][reader]") {
  // A GIF is a container FFmpeg reads, but not one of a video data set: refused before its demuxer
  // parses it, naming what FFmpeg took it for (from a file and from memory alike).
  auto gif = encode_fixture("anim.gif", 32, 24, 0.2, "-c:v gif");
  try {
    VideoReader r(gif);
    FAIL("a GIF was opened");
  } catch (const VideoError& e) {
    CHECK(e.problem() == VideoProblem::not_a_video);
    CHECK_THAT(e.what(), Catch::Contains("FFmpeg reads it as 'gif'") && Catch::Contains("avi,mov"));
  }
  std::ifstream in(gif, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THROWS_WITH(VideoReader(std::span<const uint8_t>(bytes), "anim.bin"), Catch::Contains("'gif'"));
  // A playlist naming a video the reader could open: the HLS demuxer, which would open it, is refused.
  auto inner = encode_fixture("inner.ts", 32, 24, 0.2, "-c:v mpeg2video");
  auto playlist = test::write_file("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n" + inner +
                                                    "\n#EXT-X-ENDLIST\n");
  CHECK_THROWS_WITH(VideoReader(playlist), Catch::Contains("'hls'"));
  // A codec of no video data set (Cinepak, in an AVI): no decoder is opened for it.
  auto cinepak = encode_fixture("cinepak.avi", 32, 24, 0.2, "-c:v cinepak");
  try {
    VideoReader r(cinepak);
    FAIL("a Cinepak stream was opened");
  } catch (const VideoError& e) {
    CHECK(e.problem() == VideoProblem::no_decoder);
    CHECK_THAT(e.what(), Catch::Contains("codec 'cinepak'"));
  }
  // The same container with MPEG-2 inside (a codec of the list) opens.
  CHECK(VideoReader(inner).info().codec == "mpeg2video");
}

TEST_CASE("reader: FFmpeg's allocations are capped for files that declare huge tables", "[io][reader]") {
  // fuzz/regressions/video_reader/oom-mov-sample-table-1.3GB.mp4 (2.5 KB) made FFmpeg's MP4 demuxer
  // ask for 1.3 GB. After a reader has opened anything, FFmpeg refuses blocks over the cap, and that
  // file is a named error.
  auto path = encode_fixture("cap.mp4", 32, 24, 0.2, "-c:v libx264");
  VideoReader ok(path);
  void* big = av_malloc(kFfmpegMaxAllocation + 1);
  CHECK(big == nullptr);
  av_free(big);
  void* fits = av_malloc(1 << 20);
  CHECK(fits != nullptr);
  av_free(fits);
  const std::string regression = std::string(MTMAP_SOURCE_DIR) + "/fuzz/regressions/video_reader/oom-mov-sample-table-1.3GB.mp4";
  CHECK_THROWS_AS(VideoReader(regression), VideoError);
}

TEST_CASE("reader: MP4/H.264 matches ffmpeg's decode", "[io][reader]") {
  auto path = encode_fixture("h264.mp4", 320, 240, 1.2, "-c:v libx264 -pix_fmt yuv420p -g 12");
  check_against_ffmpeg(path, "h264", 320, 240, 30);
}

TEST_CASE("reader: WebM/VP9 matches ffmpeg's decode", "[io][reader]") {
  auto path = encode_fixture("vp9.webm", 160, 120, 1.2, "-c:v libvpx-vp9 -g 12 -deadline realtime");
  check_against_ffmpeg(path, "vp9", 160, 120, 30);
}

TEST_CASE("reader: the real sample clips match ffmpeg's decode", "[io][reader][real]") {
  std::string dir = test::video_dir();
  if (dir.empty()) std::exit(77);
  check_against_ffmpeg(dir + "/carphone_pristine.mp4", "h264", 176, 144, 120);
  check_against_ffmpeg(dir + "/bikes.mp4", "h264", 640, 272, 250);
}

TEST_CASE("reader: strided clips after a seek equal the same frames of a full decode", "[io][reader]") {
  for (const char* name : {"xvid.avi", "h264.mp4", "vp9.webm"}) {
    std::string args = std::strcmp(name, "xvid.avi") == 0   ? "-c:v libxvid -g 12 -bf 2"
                       : std::strcmp(name, "h264.mp4") == 0 ? "-c:v libx264 -pix_fmt yuv420p -g 12"
                                                            : "-c:v libvpx-vp9 -g 12 -deadline realtime";
    int w = std::strcmp(name, "vp9.webm") == 0 ? 160 : 320, h = w * 3 / 4;
    auto path = encode_fixture(name, w, h, 1.2, args);
    VideoReader r(path);
    Tensor all = r.read_all();
    const int64_t fp = int64_t(h) * w;
    // Starts before, on and after the keyframes at 0, 12 and 24; read in a scrambled order.
    for (auto [start, count, stride] : {std::tuple{13, 4, 2}, {0, 5, 1}, {24, 2, 3}, {11, 8, 1}, {22, 6, 1}}) {
      INFO(name << " start " << start << " count " << count << " stride " << stride);
      // r has indexed its keyframes (read_all) and seeks; a fresh reader decodes from the start.
      Tensor clip = r.read_clip(start, count, stride);
      Tensor fresh = VideoReader(path).read_clip(start, count, stride);
      REQUIRE(clip.shape() == Shape{3, count, h, w});
      CHECK(std::memcmp(clip.data<uint8_t>(), fresh.data<uint8_t>(), clip.nbytes()) == 0);
      bool same = true;
      for (int c = 0; c < 3; ++c)
        for (int t = 0; t < count; ++t)
          same &= std::memcmp(clip.data<uint8_t>() + (c * count + t) * fp,
                              all.data<uint8_t>() + (c * all.size(1) + start + t * stride) * fp, size_t(fp)) == 0;
      CHECK(same);
    }
    CHECK_THROWS_WITH(r.read_clip(26, 4, 2), Catch::Contains("too short") && Catch::Contains(name));
  }
}

TEST_CASE("reader: scaling to a short side and centre cropping", "[io][reader]") {
  auto path = encode_fixture("h264.mp4", 320, 240, 1.2, "-c:v libx264 -pix_fmt yuv420p -g 12");
  VideoReader r(path);
  FrameGeometry g{.short_side = 120, .crop_height = 100, .crop_width = 100};
  CHECK(r.output_size(g) == std::pair{100, 100});
  CHECK(r.output_size({.short_side = 128}) == std::pair{128, 171});  // UCF101's 320x240 -> 171x128
  Tensor small = r.read_clip(3, 2, 1, {.short_side = 120});
  REQUIRE(small.shape() == Shape{3, 2, 120, 160});
  // ffmpeg's own bicubic downscale of the same frames: equal up to rounding of the two paths.
  std::vector<uint8_t> ref = ffmpeg_decode_rgb(path, "scale=160:120");
  std::vector<uint8_t> ours = packed(small);
  const size_t frame = 120 * 160 * 3;
  double diff = 0;
  for (size_t i = 0; i < 2 * frame; ++i) diff += std::abs(int(ours[i]) - int(ref[3 * frame + i]));
  CHECK(diff / double(2 * frame) < 1.0);
  Tensor crop = r.read_clip(3, 2, 1, g);
  REQUIRE(crop.shape() == Shape{3, 2, 100, 100});
  // The crop is the centre of the scaled frame.
  for (int c = 0; c < 3; ++c)
    CHECK(std::memcmp(crop.data<uint8_t>() + c * 2 * 10000 + 50 * 100,
                      small.data<uint8_t>() + c * 2 * 19200 + (10 + 50) * 160 + 30, 100) == 0);
  CHECK_THROWS_WITH(r.read_clip(0, 1, 1, {.crop_height = 500}), Catch::Contains("larger than"));
}

TEST_CASE("reader: frames to unit floats", "[io][reader]") {
  Tensor u = from_vector<uint8_t>({0, 51, 255}, {3});
  auto f = to_unit_float(u).to_vector<float>();
  CHECK(f == std::vector<float>{0.0f, 0.2f, 1.0f});
}

TEST_CASE("reader: threaded decoding gives the same frames as one thread", "[io][reader]") {
  auto path = encode_fixture("h264.mp4", 320, 240, 1.2, "-c:v libx264 -pix_fmt yuv420p -g 12");
  Tensor one = VideoReader(path, {.threads = 1}).read_all();
  Tensor many = VideoReader(path, {.threads = 4}).read_all();
  Tensor clip = VideoReader(path, {.threads = 0}).read_clip(5, 6, 3);
  REQUIRE(one.shape() == many.shape());
  CHECK(std::memcmp(one.data<uint8_t>(), many.data<uint8_t>(), one.nbytes()) == 0);
  const int64_t fp = 320 * 240;
  for (int c = 0; c < 3; ++c)
    for (int t = 0; t < 6; ++t)
      CHECK(std::memcmp(clip.data<uint8_t>() + (c * 6 + t) * fp, one.data<uint8_t>() + (c * 30 + 5 + 3 * t) * fp,
                        size_t(fp)) == 0);
}

// swscale's x86 converters store whole vectors, past the end of a row of RGB24 pixels: Debian's
// FFmpeg 5.1 wrote 3 bytes past the last row of a 4223-wide yuv420p frame, into the next heap
// block (found by fuzzing under tools/guarded_malloc.c; docs/reliability.md). The reader gives
// swscale rows of rgb_row_stride(w) bytes; here every row's bytes past its pixels are sentinels,
// and what swscale wrote there must stay under kRgbRowSlack, inside the stride.
TEST_CASE("reader: swscale's writes past an RGB24 row stay inside the reader's row padding", "[io][reader]") {
  int widest_overrun = 0;
  // (source width, output width): the same size (swscale's unscaled converters), and scaled
  // (its vertical scaler's output functions), as VideoReader::convert asks for both.
  const std::pair<int, int> sizes[] = {{1, 1},       {33, 33},     {1000, 1000}, {1001, 1001}, {1919, 1919},
                                       {1920, 1920}, {4223, 4223}, {4224, 4224}, {320, 171},   {4223, 3167}};
  for (auto [sw, w] : sizes) {
    const int h = 16, stride = rgb_row_stride(w);
    REQUIRE(stride >= 3 * w + kRgbRowSlack);
    REQUIRE(stride % 64 == 0);
    AVFrame* f = av_frame_alloc();
    REQUIRE(f != nullptr);
    f->format = AV_PIX_FMT_YUV420P, f->width = sw, f->height = h;
    REQUIRE(av_frame_get_buffer(f, 64) == 0);
    for (int p = 0; p < 3; ++p)
      for (int y = 0; y < (p ? (h + 1) / 2 : h); ++y)
        for (int x = 0; x < f->linesize[p]; ++x) f->data[p][y * f->linesize[p] + x] = uint8_t(x * 7 + y * 13 + p * 29);
    SwsContext* c =
        sws_getContext(sw, h, AV_PIX_FMT_YUV420P, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
    REQUIRE(c != nullptr);
    int overrun = 0;
    for (uint8_t sentinel : {uint8_t(0xab), uint8_t(0x54)}) {  // two: a pixel may equal one of them
      std::vector<uint8_t> rgb(size_t(stride) * h, sentinel);
      uint8_t* dst[4] = {rgb.data(), nullptr, nullptr, nullptr};
      int dst_stride[4] = {stride, 0, 0, 0};
      sws_scale(c, f->data, f->linesize, 0, h, dst, dst_stride);
      for (int y = 0; y < h; ++y)
        for (int x = 3 * w; x < stride; ++x)
          if (rgb[size_t(y) * stride + x] != sentinel) overrun = std::max(overrun, x - 3 * w + 1);
    }
    sws_freeContext(c);
    av_frame_free(&f);
    INFO("width " << sw << " -> " << w << ": swscale wrote " << overrun << " bytes past a row of pixels");
    CHECK(overrun < kRgbRowSlack);
    widest_overrun = std::max(widest_overrun, overrun);
  }
  WARN("the most swscale wrote past a row here: " << widest_overrun << " bytes (allowed: " << kRgbRowSlack - 1 << ")");
}

// The same frame through the reader: a 4223-wide FFV1 video (odd widths are legal there) decodes
// exactly as ffmpeg's own decode, and scaled to a short side of 12 (an odd width, 3167) as
// ffmpeg's scale filter does, up to rounding.
TEST_CASE("reader: a frame 4223 pixels wide matches ffmpeg's decode", "[io][reader]") {
  // testsrc2 and the encoders make even widths of yuv420p; cropped in RGB, converted after.
  auto path = encode_fixture("wide4223.mkv", 4224, 16, 0.12, "-vf format=rgb24,crop=4223:16:0:0,format=yuv420p -c:v ffv1");
  check_against_ffmpeg(path, "ffv1", 4223, 16, 3);
  VideoReader r(path);
  Tensor scaled = r.read_all({.short_side = 12});
  REQUIRE(scaled.shape() == Shape{3, 3, 12, 3167});
  // Equal up to the rounding of the two paths, as in "scaling to a short side" above.
  std::vector<uint8_t> ref = ffmpeg_decode_rgb(path, "scale=3167:12"), ours = packed(scaled);
  REQUIRE(ref.size() == ours.size());
  double diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) diff += std::abs(int(ours[i]) - int(ref[i]));
  CHECK(diff / double(ours.size()) < 1.0);
}
