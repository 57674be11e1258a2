// The video reader (io/video/video_reader) through FFmpeg, from memory (no temporary file): bytes →
// container and decoder opened strictly as a data set probe does → packets counted → every frame
// decoded → a clip read scaled and cropped as the loader does. Any demuxer and decoder of the
// system's FFmpeg can be reached; their errors must come out as VideoError.
#include <span>

#include "fuzz/fuzz_common.h"
#include "io/video/video_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mtmap::fuzz::expect_clean_errors([&] {
    mtmap::io::VideoReader reader(std::span<const uint8_t>(data, size), "fuzz.video",
                                  mtmap::io::ReaderOptions{.threads = 1, .strict = true});
    (void)reader.count_frames();
    const int64_t frames = reader.decode_count();
    // What the loader reads: a short clip, scaled to a small short side and centre-cropped. Small, so
    // that a declared 16384x16384 stream costs little; frames past the end are a VideoError.
    const int64_t count = frames > 0 && frames < 4 ? frames : 4;
    (void)reader.read_clip(0, count, 1, {.short_side = 16, .crop_height = 8, .crop_width = 8});
  });
  // Not strict, as the loader reads: concealed errors instead of failures, every frame converted.
  mtmap::fuzz::expect_clean_errors([&] {
    mtmap::io::VideoReader reader(std::span<const uint8_t>(data, size), "fuzz.video");
    (void)reader.read_all({.short_side = 16, .crop_height = 8, .crop_width = 8});
  });
  return 0;
}
