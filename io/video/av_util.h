#pragma once
// FFmpeg glue: RAII owners for every FFmpeg context (each freed by its own free function, even
// when a constructor throws halfway) and AV_CHECK, which turns a negative FFmpeg return code into
// an mtmap::Error naming the call, the file and FFmpeg's own description of the code.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "engine/core/error.h"

namespace mtmap::io {

// FFmpeg's text for an error code ("Invalid data found when processing input").
std::string av_error_string(int code);

struct FormatCloser {
  void operator()(AVFormatContext* p) const noexcept { avformat_close_input(&p); }
};
struct CodecFreer {
  void operator()(AVCodecContext* p) const noexcept { avcodec_free_context(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* p) const noexcept { av_frame_free(&p); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct AvioFreer {  // a custom AVIOContext and its buffer (which FFmpeg may have replaced)
  void operator()(AVIOContext* p) const noexcept {
    if (p) av_freep(&p->buffer);
    avio_context_free(&p);
  }
};
struct SwsFreer {
  void operator()(SwsContext* p) const noexcept { sws_freeContext(p); }
};

using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFreer>;
using FramePtr = std::unique_ptr<AVFrame, FrameFreer>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFreer>;
using AvioPtr = std::unique_ptr<AVIOContext, AvioFreer>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFreer>;

}  // namespace mtmap::io

// `what` names the file or object the call worked on, so the message names the culprit.
#define AV_CHECK(call, what)                                                                              \
  do {                                                                                                    \
    int av_rc_ = (call);                                                                                  \
    if (av_rc_ < 0) MTMAP_FAIL("{}: {} failed: {}", (what), #call, ::mtmap::io::av_error_string(av_rc_)); \
  } while (0)
