#pragma once
// Test fixtures: video files encoded on the fly with the ffmpeg command-line program into a
// per-process temporary folder, ffmpeg's own decode of a file as a reference, and damaged files.
#include <cstdint>
#include <string>
#include <vector>

namespace mtmap::test {

// The per-process scratch folder (removed at exit).
const std::string& scratch_dir();
// Runs a shell command; fails the test (throws) on a non-zero status.
void run_shell(const std::string& command);
// Encodes `seconds` of ffmpeg's testsrc2 pattern at w x h, 25 fps, with the given codec options
// (e.g. "-c:v libxvid -g 12") into scratch_dir()/name, once per process; returns the path.
std::string encode_fixture(const std::string& name, int w, int h, double seconds, const std::string& codec_args);
// ffmpeg's decode of `path` as packed RGB24 frames (T, H, W, 3); `filters` is an optional -vf.
std::vector<uint8_t> ffmpeg_decode_rgb(const std::string& path, const std::string& filters = "");
// Writes `bytes` to scratch_dir()/name; returns the path.
std::string write_file(const std::string& name, const std::string& bytes);
// Copies the first `fraction` of `src` to scratch_dir()/name.
std::string truncate_copy(const std::string& src, const std::string& name, double fraction);
// Copies `src` and overwrites `count` bytes in its middle with pseudo-random garbage.
std::string corrupt_copy(const std::string& src, const std::string& name, int64_t count);
// The folder of real sample clips, or "" when it is missing (tests then exit 77: skipped).
std::string video_dir();
// FNV-1a over bytes.
uint64_t checksum(const uint8_t* p, size_t n);

}  // namespace mtmap::test
