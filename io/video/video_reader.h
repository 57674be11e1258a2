#pragma once
// Reads frames from any container and codec FFmpeg decodes: frame count and rate, seeking, and T
// frames at stride s from a start frame, scaled and centre-cropped, as uint8 RGB (C, T, H, W).
// One reader owns one open file and is used by one thread at a time.
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine/tensor/tensor.h"
#include "io/video/av_util.h"
#include "io/video_error.h"

namespace mtmap::io {

struct VideoInfo {
  std::string path;
  std::string container;  // FFmpeg's demuxer name, e.g. "avi", "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // e.g. "mpeg4", "h264", "vp9"
  int width = 0, height = 0;
  int64_t frame_count = 0;      // exact after a probe or decode_count(); else from the header
  int64_t declared_frames = 0;  // what the container header says (0: it does not say)
  double fps = 0;
};

// Output geometry: scale so the shorter side is `short_side` (0 keeps the native size), then
// crop the centre to crop_height x crop_width (0 keeps the scaled size).
struct FrameGeometry {
  int short_side = 0;
  int crop_height = 0, crop_width = 0;
};

// The largest single block FFmpeg may allocate once a reader has been opened (av_max_alloc, set
// for the whole process): what a damaged or hostile file's declared table sizes can claim.
inline constexpr size_t kFfmpegMaxAllocation = size_t(256) << 20;

struct ReaderOptions {
  int threads = 1;      // decoder threads (0: FFmpeg picks); loader workers use 1 each
  bool strict = false;  // fail on any bitstream error instead of concealing it (used by probes)
};

class VideoReader {
 public:
  explicit VideoReader(const std::string& path, ReaderOptions options = {});
  // Reads a video held in memory (FFmpeg reads it through an AVIOContext over `bytes`); `name`
  // stands for the path in info() and messages. The bytes must outlive the reader. Everything after
  // opening is the same code as for a file: what the fuzz target (fuzz/fuzz_video_reader.cpp) runs
  // on its input, with no temporary file.
  VideoReader(std::span<const uint8_t> bytes, const std::string& name, ReaderOptions options = {});
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const { return info_; }
  // Counts the video packets by demuxing the whole file (no decoding). Throws
  // VideoError(truncated) if the container breaks off early.
  int64_t count_frames();
  // The end time of the last packet the last count_frames() saw, and the duration the header
  // declares (0: unknown), in seconds: a cut file stops short, a damaged one reaches the end.
  double demuxed_seconds() const { return demuxed_seconds_; }
  double declared_seconds() const;
  // Decodes every frame without converting it, stores the count in info().frame_count and
  // indexes the keyframes, so later read_clip calls seek instead of decoding from the start.
  int64_t decode_count();
  // Frames start, start+stride, ..., start+(count-1)*stride, as uint8 (3, count, H, W).
  Tensor read_clip(int64_t start, int64_t count, int64_t stride, const FrameGeometry& geometry = {});
  // Every frame of the file, as uint8 (3, T, H, W); sets info().frame_count to T and indexes
  // the keyframes like decode_count().
  Tensor read_all(const FrameGeometry& geometry = {});
  // The (H, W) that `geometry` produces for this file.
  std::pair<int, int> output_size(const FrameGeometry& geometry) const;

 private:
  // The (W, H) a frame of the stream's size is scaled to (before cropping); a VideoError when a side
  // would exceed kMaxScaledSide.
  std::pair<int, int> scaled_size(const FrameGeometry& geometry) const;
  static constexpr int kMaxScaledSide = 16384;
  // Seeks to the keyframe at or before `frame`; returns that keyframe's frame number.
  int64_t seek_to(int64_t frame);
  void note_keyframe(int64_t frame_number);
  // Decodes the next frame into frame_; returns false at the end of the stream.
  bool next_frame();
  void convert(const AVFrame* f, const FrameGeometry& geometry, uint8_t* out, int64_t plane_stride);
  // Opens the container in `format` (allocated, with its I/O set up where it reads from memory) or
  // the file path_ when null, and the decoder: the constructors' common part.
  void open(AVFormatContext* format);
  VideoProblem demux_problem() const;
  std::string probe_container() const;  // the name FFmpeg's probe gives the input, "" if none
  [[noreturn]] void fail(VideoProblem problem, const std::string& detail) const;

  std::string path_;
  ReaderOptions options_;
  VideoInfo info_;
  // Reading from memory: the bytes, the read position and the AVIOContext over them (declared
  // before format_, so the container is closed before its I/O is freed).
  struct MemoryInput {
    std::span<const uint8_t> bytes;
    int64_t pos = 0;
  };
  std::unique_ptr<MemoryInput> memory_;
  AvioPtr avio_;
  FormatPtr format_;
  CodecPtr codec_;
  FramePtr frame_;
  PacketPtr packet_;
  SwsPtr sws_;
  int stream_ = -1;
  int64_t start_pts_ = 0;
  // (timestamp, decoded frame number) of the keyframes seen so far, recorded while decoding with
  // exact frame numbers (by a full decode, or by read_clip as it goes). Frame numbers come from
  // counting decoded frames, never from timestamps, which packed-bitstream AVI (UCF101's XviD)
  // and variable-rate files get wrong. read_clip seeks to the last known keyframe before its
  // start (the start of the file when none is known) and counts from there.
  std::vector<std::pair<int64_t, int64_t>> keyframes_;
  double demuxed_seconds_ = 0;
  bool at_start_ = true;  // nothing demuxed since opening: reading from frame 0 needs no seek
  bool draining_ = false;
  // scaling state, rebuilt when the source format or the geometry changes
  int sws_src_w_ = 0, sws_src_h_ = 0, sws_src_fmt_ = -1, sws_dst_w_ = 0, sws_dst_h_ = 0;
  std::vector<uint8_t> rgb_;
};

// uint8 (…) → f32 in [0, 1].
Tensor to_unit_float(const Tensor& u8);

// Bytes past the end of a row of RGB24 pixels that swscale may write. Its x86 converters for
// same-size yuv420p -> RGB24 store whole vectors: Debian's FFmpeg 5.1 wrote up to 45 bytes past a
// row (widths 1 and 33; 3 at the 4223 that fuzzing under tools/guarded_malloc.c found,
// docs/reliability.md). Past the last row that landed in the next heap block, which
// AddressSanitizer, blind to FFmpeg's assembly, reported much later as heap-metadata corruption.
// 64 is FFmpeg's own padding (AV_INPUT_BUFFER_PADDING_SIZE).
inline constexpr int kRgbRowSlack = 64;
// The row stride of the frame VideoReader hands swscale: 3 bytes a pixel, then at least
// kRgbRowSlack bytes, rounded up to 64 (aligned rows, as av_image_alloc gives FFmpeg's own).
int rgb_row_stride(int width);

}  // namespace mtmap::io
