#include "tests/io/fixtures.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace fs = std::filesystem;

namespace mtmap::test {

namespace {
struct Scratch {
  std::string dir;
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "mtmap_io_test_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
}  // namespace

const std::string& scratch_dir() {
  static Scratch s;
  return s.dir;
}

void run_shell(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc != 0) throw std::runtime_error(fmt::format("command failed ({}): {}", rc, command));
}

std::string encode_fixture(const std::string& name, int w, int h, double seconds, const std::string& codec_args) {
  std::string path = scratch_dir() + "/" + name;
  if (!fs::exists(path))
    run_shell(fmt::format("ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size={}x{}:rate=25:duration={} {} '{}'", w,
                          h, seconds, codec_args, path));
  return path;
}

std::vector<uint8_t> ffmpeg_decode_rgb(const std::string& path, const std::string& filters) {
  std::string cmd =
      fmt::format("ffmpeg -nostdin -v error -i '{}' {} -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -", path,
                  filters.empty() ? "" : "-vf " + filters);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::vector<uint8_t> out;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.insert(out.end(), buf, buf + n);
  if (pclose(p) != 0) throw std::runtime_error("ffmpeg decode failed: " + cmd);
  return out;
}

std::string write_file(const std::string& name, const std::string& bytes) {
  std::string path = scratch_dir() + "/" + name;
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

static std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string truncate_copy(const std::string& src, const std::string& name, double fraction) {
  std::string s = slurp(src);
  return write_file(name, s.substr(0, size_t(double(s.size()) * fraction)));
}

std::string corrupt_copy(const std::string& src, const std::string& name, int64_t count) {
  std::string s = slurp(src);
  uint32_t x = 12345;
  size_t at = s.size() / 2;
  for (int64_t i = 0; i < count && at + i < s.size(); ++i) {
    x = x * 1664525u + 1013904223u;
    s[at + i] = char(x >> 24);
  }
  return write_file(name, s);
}

std::string video_dir() {
  std::string d = MTMAP_TEST_VIDEO_DIR;
  return fs::exists(d + "/bikes.mp4") ? d : "";
}

uint64_t checksum(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace mtmap::test
