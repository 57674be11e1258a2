// FFmpeg decoding: demux packets of the best video stream, decode them (threaded where the codec
// allows), convert to RGB24 with swscale and copy the centre crop into planar (C, T, H, W).
#include "io/video/video_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" {
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libavutil/mem.h>
}

namespace mtmap::io {

// FFmpeg's demuxer names of the containers video data sets come in (UCF101 and HMDB51: AVI;
// Kinetics, Ego4D: MP4/MOV, WebM/MKV; Something-Something: WebM; broadcast and camera files: MPEG
// program and transport streams, FLV, ASF/WMV, Ogg; raw elementary streams and IVF).
const char* const kVideoContainers =
    "avi,mov,mp4,m4v,3gp,matroska,webm,mpeg,mpegts,mpegvideo,flv,asf,ogg,h264,hevc,ivf";

// The decoders of those data sets' codecs (MPEG-4 Part 2 as Xvid/DivX, H.264, HEVC, VP8/9, AV1,
// MPEG-1/2, Windows Media, Theora, Motion JPEG, and the intra and lossless codecs of recorded
// stimuli). FFmpeg has about 290 video decoders; most are for rare or game formats.
const char* const kVideoDecoders =
    "mpeg4,msmpeg4v1,msmpeg4v2,msmpeg4,h263,h263p,flv,h264,hevc,vp8,vp9,av1,libdav1d,libaom-av1,"
    "mpeg1video,mpeg2video,wmv1,wmv2,wmv3,vc1,theora,mjpeg,ffv1,huffyuv,ffvhuff,utvideo,prores,dnxhd,"
    "rawvideo,libvpx,libvpx-vp9";

std::string av_error_string(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

void VideoReader::fail(VideoProblem problem, const std::string& detail) const {
  throw VideoError(problem, path_, detail);
}

VideoReader::VideoReader(const std::string& path, ReaderOptions options) : path_(path), options_(options) {
  info_.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    fail(errno == ENOENT ? VideoProblem::missing : VideoProblem::unreadable, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(VideoProblem::unreadable, "is a directory");
  if (st.st_size == 0) fail(VideoProblem::empty, "file has 0 bytes");
  open(nullptr);
}

VideoReader::VideoReader(std::span<const uint8_t> bytes, const std::string& name, ReaderOptions options)
    : path_(name), options_(options) {
  info_.path = name;
  if (bytes.empty()) fail(VideoProblem::empty, "0 bytes");
  memory_ = std::make_unique<MemoryInput>(MemoryInput{bytes, 0});
  // FFmpeg's callbacks: read up to `size` bytes at the position, and seek (AVSEEK_SIZE: the size).
  auto read = [](void* opaque, uint8_t* buf, int size) -> int {
    auto* m = static_cast<MemoryInput*>(opaque);
    const int64_t left = int64_t(m->bytes.size()) - m->pos;
    if (left <= 0) return AVERROR_EOF;
    const int n = int(std::min<int64_t>(left, size));
    std::memcpy(buf, m->bytes.data() + m->pos, size_t(n));
    m->pos += n;
    return n;
  };
  auto seek = [](void* opaque, int64_t offset, int whence) -> int64_t {
    auto* m = static_cast<MemoryInput*>(opaque);
    const int64_t size = int64_t(m->bytes.size());
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return size;
    const int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : whence == SEEK_END ? size : -1;
    int64_t to = 0;
    if (base < 0 || __builtin_add_overflow(base, offset, &to) || to < 0 || to > size) return AVERROR(EINVAL);
    m->pos = to;
    return to;
  };
  constexpr int kBufferSize = 1 << 14;
  auto* buffer = static_cast<unsigned char*>(av_malloc(kBufferSize));
  MTMAP_CHECK(buffer != nullptr, "{}: out of memory allocating an I/O buffer", name);
  avio_.reset(avio_alloc_context(buffer, kBufferSize, 0, memory_.get(), read, nullptr, seek));
  if (!avio_) {
    av_free(buffer);
    MTMAP_FAIL("{}: out of memory allocating an I/O context", name);
  }
  AVFormatContext* format = avformat_alloc_context();
  MTMAP_CHECK(format != nullptr, "{}: out of memory allocating a format context", name);
  format->pb = avio_.get();
  format->flags |= AVFMT_FLAG_CUSTOM_IO;
  open(format);
}

void VideoReader::open(AVFormatContext* format) {
  // FFmpeg's own log would print thousands of lines over a damaged data set; every failure reaches
  // the caller as a VideoError instead. MTMAP_FFMPEG_LOG=1 keeps FFmpeg's log for debugging.
  static std::once_flag setup;
  std::call_once(setup, [] {
    const char* keep = std::getenv("MTMAP_FFMPEG_LOG");
    if (!keep || std::string(keep) != "1") av_log_set_level(AV_LOG_QUIET);
    // Demuxers size tables by the counts a file declares: a 2.5 KB MP4 whose sample table claims
    // hundreds of millions of entries made FFmpeg allocate 1.3 GB (found by fuzzing). One block is
    // capped instead, for the whole process (FFmpeg has only a global limit): an 8K 4:4:4 16-bit
    // frame is 200 MB, so no video of a data set needs more.
    av_max_alloc(kFfmpegMaxAllocation);
  });
  const std::string& path = path_;
  AVFormatContext* raw = format;
  // Only the containers of video data sets are opened: FFmpeg probes every demuxer it has, and the
  // rest (image, audio, playlist, game formats...) are refused before their demuxer parses a byte.
  // That keeps out the demuxers that open other files or URLs named inside the input (concat, HLS,
  // DASH), and most of FFmpeg's attack surface. A path opens through the file protocol only.
  AVDictionary* options = nullptr;
  av_dict_set(&options, "format_whitelist", kVideoContainers, 0);
  if (!format) av_dict_set(&options, "protocol_whitelist", "file", 0);
  int rc = avformat_open_input(&raw, format ? "" : path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (rc < 0) {
    // avformat_open_input frees the context on failure (ours too); `raw` is null again.
    if (rc == AVERROR(EACCES)) fail(VideoProblem::unreadable, av_error_string(rc));
    if (rc == AVERROR(EINVAL)) {
      const std::string probed = probe_container();
      if (!probed.empty() && av_match_list(probed.c_str(), kVideoContainers, ',') <= 0)
        fail(VideoProblem::not_a_video,
             fmt::format("FFmpeg reads it as '{}', not a video container mtmap opens ({})", probed,
                         kVideoContainers));
    }
    fail(rc == AVERROR_INVALIDDATA ? VideoProblem::not_a_video : VideoProblem::corrupt,
         fmt::format("FFmpeg cannot open it as a video container ({})", av_error_string(rc)));
  }
  format_.reset(raw);
  rc = avformat_find_stream_info(format_.get(), nullptr);
  if (rc < 0) fail(VideoProblem::corrupt, "reading stream info: " + av_error_string(rc));
  info_.container = format_->iformat->name;

  const AVCodec* decoder = nullptr;
  stream_ = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (stream_ == AVERROR_STREAM_NOT_FOUND)
    fail(VideoProblem::not_a_video, fmt::format("the {} container has no video stream", info_.container));
  if (stream_ < 0 || decoder == nullptr) {
    // Find the stream ourselves to name its codec.
    for (unsigned i = 0; i < format_->nb_streams; ++i)
      if (format_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
        fail(VideoProblem::no_decoder,
             fmt::format("no decoder for codec '{}'", avcodec_get_name(format_->streams[i]->codecpar->codec_id)));
    fail(VideoProblem::not_a_video, av_error_string(stream_));
  }
  AVStream* st_v = format_->streams[stream_];
  // Everything but the video stream is skipped by the demuxer.
  for (unsigned i = 0; i < format_->nb_streams; ++i)
    if (int(i) != stream_) format_->streams[i]->discard = AVDISCARD_ALL;

  codec_.reset(avcodec_alloc_context3(decoder));
  MTMAP_CHECK(codec_ != nullptr, "{}: out of memory allocating a decoder", path);
  AV_CHECK(avcodec_parameters_to_context(codec_.get(), st_v->codecpar), path);
  codec_->thread_count = options_.threads;
  codec_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (options_.strict) codec_->err_recognition |= AV_EF_EXPLODE | AV_EF_CRCCHECK | AV_EF_BITSTREAM;
  if (av_match_list(decoder->name, kVideoDecoders, ',') <= 0)
    fail(VideoProblem::no_decoder, fmt::format("mtmap does not decode codec '{}' (FFmpeg decoder {}; it decodes {})",
                                               avcodec_get_name(codec_->codec_id), decoder->name, kVideoDecoders));
  rc = avcodec_open2(codec_.get(), decoder, nullptr);
  if (rc < 0) fail(VideoProblem::corrupt, "opening the decoder: " + av_error_string(rc));

  info_.codec = decoder->name;
  info_.width = codec_->width;
  info_.height = codec_->height;
  if (info_.width <= 0 || info_.height <= 0) fail(VideoProblem::corrupt, "the video stream has no frame size");
  AVRational rate = st_v->avg_frame_rate.num > 0 ? st_v->avg_frame_rate : st_v->r_frame_rate;
  info_.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
  if (st_v->nb_frames > 0) {
    info_.frame_count = info_.declared_frames = st_v->nb_frames;
  } else if (st_v->duration > 0 && info_.fps > 0) {
    info_.frame_count = int64_t(std::llround(double(st_v->duration) * av_q2d(st_v->time_base) * info_.fps));
  } else if (format_->duration > 0 && info_.fps > 0) {
    info_.frame_count = int64_t(std::llround(double(format_->duration) / AV_TIME_BASE * info_.fps));
  }
  start_pts_ = st_v->start_time != AV_NOPTS_VALUE ? st_v->start_time : 0;

  frame_.reset(av_frame_alloc());
  packet_.reset(av_packet_alloc());
  MTMAP_CHECK(frame_ && packet_, "{}: out of memory allocating frames", path);
}

std::string VideoReader::probe_container() const {
  // The same probe avformat_open_input ran, repeated to name what it found (the context it made is
  // gone with the failure). From memory the I/O context is ours and still open; rewind it.
  AVIOContext* pb = nullptr;
  if (memory_) {
    memory_->pos = 0;
    avio_seek(avio_.get(), 0, SEEK_SET);
    pb = avio_.get();
  } else if (avio_open(&pb, path_.c_str(), AVIO_FLAG_READ) < 0) {
    return {};
  }
  const AVInputFormat* found = nullptr;
  int rc = av_probe_input_buffer2(pb, &found, path_.c_str(), nullptr, 0, 0);
  if (!memory_) avio_closep(&pb);
  return rc >= 0 && found ? found->name : "";
}

VideoProblem VideoReader::demux_problem() const {
  // A read error at the end of the file is a cut file; anywhere else the container is damaged.
  return format_->pb && avio_feof(format_->pb) ? VideoProblem::truncated : VideoProblem::corrupt;
}

double VideoReader::declared_seconds() const {
  AVStream* st = format_->streams[stream_];
  if (st->duration > 0) return double(st->duration) * av_q2d(st->time_base);
  if (info_.declared_frames > 0 && info_.fps > 0) return double(info_.declared_frames) / info_.fps;
  return 0;
}

int64_t VideoReader::count_frames() {
  demuxed_seconds_ = 0;
  if (!at_start_) seek_to(0);
  at_start_ = false;
  int64_t n = 0;
  for (;;) {
    int rc = av_read_frame(format_.get(), packet_.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      av_packet_unref(packet_.get());
      fail(demux_problem(), fmt::format("demuxing stops after {} packets: {}", n, av_error_string(rc)));
    }
    if (packet_->stream_index == stream_) {
      ++n;
      int64_t ts = packet_->dts != AV_NOPTS_VALUE ? packet_->dts : packet_->pts;
      if (ts != AV_NOPTS_VALUE) {
        AVStream* st = format_->streams[stream_];
        double end = double(ts - start_pts_ + std::max<int64_t>(packet_->duration, 0)) * av_q2d(st->time_base);
        demuxed_seconds_ = std::max(demuxed_seconds_, end);
      }
    }
    av_packet_unref(packet_.get());
  }
  seek_to(0);
  return n;
}

int64_t VideoReader::seek_to(int64_t frame) {
  if (frame == 0 && at_start_) return 0;  // just opened: nothing to undo
  at_start_ = false;
  // The last decoded keyframe at or before `frame`; seeking backward to its timestamp lands on it,
  // and the decoder's first output is that keyframe (open-GOP leading frames are dropped).
  int64_t landed = 0;
  int rc = -1;
  if (frame > 0 && !keyframes_.empty()) {
    auto it = std::upper_bound(keyframes_.begin(), keyframes_.end(), frame,
                               [](int64_t f, const std::pair<int64_t, int64_t>& k) { return f < k.second; });
    if (it != keyframes_.begin()) {
      --it;
      if (it->second > 0) {
        rc = av_seek_frame(format_.get(), stream_, it->first, AVSEEK_FLAG_BACKWARD);
        if (rc >= 0) landed = it->second;
      }
    }
  }
  if (landed == 0) {
    rc = av_seek_frame(format_.get(), stream_, start_pts_, AVSEEK_FLAG_BACKWARD);
    if (rc < 0) rc = avformat_seek_file(format_.get(), -1, INT64_MIN, 0, INT64_MAX, 0);
    if (rc < 0) fail(VideoProblem::corrupt, "cannot seek back to the start: " + av_error_string(rc));
  }
  avcodec_flush_buffers(codec_.get());
  draining_ = false;
  return landed;
}

bool VideoReader::next_frame() {
  for (;;) {
    int rc = avcodec_receive_frame(codec_.get(), frame_.get());
    if (rc == 0) {
      if (options_.strict && (frame_->decode_error_flags != 0 || (frame_->flags & AV_FRAME_FLAG_CORRUPT)))
        fail(VideoProblem::corrupt, std::string("a damaged frame"));
      return true;
    }
    if (rc == AVERROR_EOF) return false;
    if (rc != AVERROR(EAGAIN)) fail(VideoProblem::corrupt, "decoding: " + av_error_string(rc));
    if (draining_) return false;
    at_start_ = false;
    rc = av_read_frame(format_.get(), packet_.get());
    if (rc == AVERROR_EOF) {
      draining_ = true;
      AV_CHECK(avcodec_send_packet(codec_.get(), nullptr), path_);
      continue;
    }
    if (rc < 0) fail(demux_problem(), "reading a packet: " + av_error_string(rc));
    if (packet_->stream_index == stream_) {
      rc = avcodec_send_packet(codec_.get(), packet_.get());
      if (rc < 0 && rc != AVERROR(EAGAIN) && (options_.strict || rc != AVERROR_INVALIDDATA)) {
        av_packet_unref(packet_.get());
        fail(VideoProblem::corrupt, "decoding a packet: " + av_error_string(rc));
      }
    }
    av_packet_unref(packet_.get());
  }
}

std::pair<int, int> VideoReader::scaled_size(const FrameGeometry& g) const {
  int w = info_.width, h = info_.height;
  if (g.short_side > 0) {
    // In double, then checked: a 1-pixel-wide stream scaled to a short side of 128 would otherwise
    // ask for a frame millions of pixels long (or overflow int).
    const double sw = w <= h ? g.short_side : double(w) * g.short_side / h;
    const double sh = w <= h ? double(h) * g.short_side / w : g.short_side;
    if (!(sw <= kMaxScaledSide && sh <= kMaxScaledSide))
      fail(VideoProblem::corrupt, fmt::format("a {}x{} frame scaled to a short side of {} is {:.0f}x{:.0f} (at most {} a side)",
                                              w, h, g.short_side, sw, sh, kMaxScaledSide));
    w = int(std::lround(sw));
    h = int(std::lround(sh));
  }
  return {w, h};
}

std::pair<int, int> VideoReader::output_size(const FrameGeometry& g) const {
  auto [w, h] = scaled_size(g);
  int oh = g.crop_height > 0 ? g.crop_height : h, ow = g.crop_width > 0 ? g.crop_width : w;
  MTMAP_CHECK(oh <= h && ow <= w, "{}: crop {}x{} larger than the scaled frame {}x{}", path_, ow, oh, w, h);
  return {oh, ow};
}

int rgb_row_stride(int width) { return (width * 3 + kRgbRowSlack + 63) / 64 * 64; }

void VideoReader::convert(const AVFrame* f, const FrameGeometry& g, uint8_t* out, int64_t plane_stride) {
  // The scaled size follows from the stream's declared size, not this frame's: a stream whose
  // frame size changes midway is scaled back to one size, so every frame fits the output.
  const int sw = f->width, sh = f->height;
  auto [dw, dh] = scaled_size(g);
  // Rows padded (rgb_row_stride): swscale's SIMD converters write whole vectors past a row's end.
  const int stride = rgb_row_stride(dw);
  if (!sws_ || sws_src_w_ != sw || sws_src_h_ != sh || sws_src_fmt_ != f->format || sws_dst_w_ != dw ||
      sws_dst_h_ != dh) {
    // Bicubic is also the ffmpeg command-line default, so native-size decodes match it exactly.
    sws_.reset(sws_getContext(sw, sh, AVPixelFormat(f->format), dw, dh, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr,
                              nullptr));
    MTMAP_CHECK(sws_ != nullptr, "{}: swscale cannot convert {}x{} {} to {}x{} RGB", path_, sw, sh,
                av_get_pix_fmt_name(AVPixelFormat(f->format)) ? av_get_pix_fmt_name(AVPixelFormat(f->format)) : "?", dw,
                dh);
    sws_src_w_ = sw, sws_src_h_ = sh, sws_src_fmt_ = f->format, sws_dst_w_ = dw, sws_dst_h_ = dh;
    rgb_.resize(size_t(stride) * dh);
  }
  uint8_t* dst[4] = {rgb_.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {stride, 0, 0, 0};
  sws_scale(sws_.get(), f->data, f->linesize, 0, sh, dst, dst_stride);
  int oh = g.crop_height > 0 ? g.crop_height : dh, ow = g.crop_width > 0 ? g.crop_width : dw;
  MTMAP_CHECK(oh <= dh && ow <= dw, "{}: crop {}x{} larger than the scaled frame {}x{}", path_, ow, oh, dw, dh);
  int y0 = (dh - oh) / 2, x0 = (dw - ow) / 2;
  for (int y = 0; y < oh; ++y) {
    const uint8_t* row = rgb_.data() + size_t(y0 + y) * stride + size_t(x0) * 3;
    uint8_t* r = out + int64_t(y) * ow;
    uint8_t* gch = r + plane_stride;
    uint8_t* b = gch + plane_stride;
    for (int x = 0; x < ow; ++x) {
      r[x] = row[3 * x];
      gch[x] = row[3 * x + 1];
      b[x] = row[3 * x + 2];
    }
  }
}

Tensor VideoReader::read_clip(int64_t start, int64_t count, int64_t stride, const FrameGeometry& g) {
  MTMAP_CHECK(start >= 0 && count > 0 && stride > 0, "{}: read_clip(start={}, count={}, stride={}) is invalid", path_,
              start, count, stride);
  auto [oh, ow] = output_size(g);
  Tensor out = empty({3, count, oh, ow}, DType::u8);
  uint8_t* base = out.data<uint8_t>();
  const int64_t plane = count * int64_t(oh) * ow, frame_px = int64_t(oh) * ow;
  const int64_t last = start + (count - 1) * stride;

  int64_t idx = seek_to(start), got = 0;
  while (got < count && next_frame()) {
    note_keyframe(idx);
    if (idx == start + got * stride) {
      convert(frame_.get(), g, base + got * frame_px, plane);
      ++got;
    }
    ++idx;
  }
  if (got < count)
    fail(VideoProblem::too_short,
         fmt::format("asked for frames {}..{} (stride {}) but the video has {} frames", start, last, stride, idx));
  return out;
}

Tensor VideoReader::read_all(const FrameGeometry& g) {
  auto [oh, ow] = output_size(g);
  const int64_t frame_px = int64_t(oh) * ow;
  std::vector<uint8_t> frames;  // (T, 3, H, W) grows as frames arrive
  seek_to(0);
  keyframes_.clear();
  int64_t n = 0;
  while (next_frame()) {
    note_keyframe(n);
    frames.resize(size_t(n + 1) * 3 * frame_px);
    convert(frame_.get(), g, frames.data() + n * 3 * frame_px, frame_px);
    ++n;
  }
  if (n == 0) fail(VideoProblem::corrupt, "no frame could be decoded");
  info_.frame_count = n;
  Tensor out = empty({3, n, oh, ow}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  for (int64_t t = 0; t < n; ++t)
    for (int c = 0; c < 3; ++c)
      std::memcpy(o + (c * n + t) * frame_px, frames.data() + (t * 3 + c) * frame_px, size_t(frame_px));
  return out;
}

int64_t VideoReader::decode_count() {
  seek_to(0);
  keyframes_.clear();
  int64_t n = 0;
  while (next_frame()) note_keyframe(n++);  // keyframes_ was cleared: rebuilt from frame 0
  info_.frame_count = n;
  return n;
}

void VideoReader::note_keyframe(int64_t n) {
  // Called with exact frame numbers only (counted from the start or from an indexed keyframe),
  // so the index grows as clips are read and stays exact.
  if (!frame_->key_frame) return;  // FFmpeg 5 (Debian 12); AV_FRAME_FLAG_KEY from FFmpeg 6.1
  int64_t ts = frame_->best_effort_timestamp;
  if (ts != AV_NOPTS_VALUE && (keyframes_.empty() || (ts > keyframes_.back().first && n > keyframes_.back().second)))
    keyframes_.push_back({ts, n});
}

Tensor to_unit_float(const Tensor& u8) {
  MTMAP_CHECK(u8.dtype() == DType::u8 && u8.is_contiguous(), "to_unit_float: expected a contiguous u8 tensor, got {}",
              u8.str());
  Tensor out = empty(u8.shape(), DType::f32);
  const uint8_t* s = u8.data<uint8_t>();
  float* d = out.data<float>();
  for (int64_t i = 0, n = u8.numel(); i < n; ++i) d[i] = float(s[i]) / 255.0f;
  return out;
}

}  // namespace mtmap::io
