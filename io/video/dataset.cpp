// Data set scanning: expand folders and list files into candidate files, probe them in parallel
// (or take the result from the cache), split them into usable videos and named bad files.
#include "io/video/dataset.h"

#include "formats/atomic_file.h"
#include "formats/json_config.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <limits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace mtmap::io {
namespace {

using Candidate = VideoListEntry;

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_extension(const fs::path& p, const std::vector<std::string>& exts) {
  std::string e = lower(p.extension().string());
  return std::find(exts.begin(), exts.end(), e) != exts.end();
}

void read_list_file(const fs::path& list, const DatasetOptions& o, std::vector<Candidate>& out) {
  std::ifstream in(list);
  MTMAP_CHECK(in.good(), "{}: cannot read the list file", list.string());
  const fs::path root = o.root.empty() ? list.parent_path() : fs::path(o.root);
  for (VideoListEntry& e : read_video_list(in, list.string(), root.string())) out.push_back(std::move(e));
}

std::vector<Candidate> expand(const std::vector<std::string>& paths, const DatasetOptions& o) {
  std::vector<Candidate> out;
  for (const std::string& arg : paths) {
    fs::path p(arg);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it->is_regular_file(ec) && has_extension(it->path(), o.extensions)) found.push_back(it->path().string());
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) out.push_back({f, -1});
    } else if (fs::is_regular_file(p, ec) && has_extension(p, o.list_extensions)) {
      read_list_file(p, o, out);
    } else {
      out.push_back({arg, -1});  // a video file, or a missing one the probe will name
    }
  }
  return out;
}

// Identity of a file's content for the cache: size and modification time in nanoseconds.
bool file_stamp(const std::string& path, int64_t& size, int64_t& mtime_ns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  size = st.st_size;
  mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

struct Result {
  bool ok = false;
  VideoInfo info;
  VideoProblem problem = VideoProblem::corrupt;
  std::string message;
};

nlohmann::json to_json(const Result& r, int64_t size, int64_t mtime_ns) {
  nlohmann::json j = {{"size", size}, {"mtime_ns", mtime_ns}, {"ok", r.ok}};
  if (r.ok) {
    j["container"] = r.info.container;
    j["codec"] = r.info.codec;
    j["width"] = r.info.width;
    j["height"] = r.info.height;
    j["frames"] = r.info.frame_count;
    j["declared_frames"] = r.info.declared_frames;
    j["fps"] = r.info.fps;
  } else {
    j["problem"] = int(r.problem);
    j["message"] = r.message;
  }
  return j;
}

Result from_json(const nlohmann::json& j, const std::string& path) {
  Result r;
  r.ok = j.at("ok").get<bool>();
  if (r.ok) {
    r.info.path = path;
    r.info.container = j.at("container").get<std::string>();
    r.info.codec = j.at("codec").get<std::string>();
    // Checked integers: a damaged entry is an error (probed again), never a float-to-int overflow.
    r.info.width = formats::get_integer<int>(j.at("width"), "width");
    r.info.height = formats::get_integer<int>(j.at("height"), "height");
    r.info.frame_count = formats::get_integer<int64_t>(j.at("frames"), "frames");
    r.info.declared_frames = formats::get_integer<int64_t>(j.at("declared_frames"), "declared_frames");
    r.info.fps = j.at("fps").get<double>();
  } else {
    const int problem = formats::get_integer<int>(j.at("problem"), "problem");
    MTMAP_CHECK(problem >= int(VideoProblem::missing) && problem <= int(VideoProblem::too_short),
                "problem = {} is no VideoProblem", problem);
    r.problem = VideoProblem(problem);
    r.message = j.at("message").get<std::string>();
  }
  return r;
}

constexpr int kCacheVersion = 1;

// Cache entries are keyed by absolute path: the same file named from another folder is one entry.
std::string cache_key(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

uint64_t read_be(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Whether the container's own structure says the file should be longer than it is: the RIFF size
// of an AVI, or a top-level ISO BMFF (MP4/MOV) box that runs past the end. That, and not a count
// of missing frames, tells a cut file from one damaged inside.
bool structure_runs_past_end(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(in.tellg());
  unsigned char h[16] = {0};
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(h), 12)) return false;
  if (std::memcmp(h, "RIFF", 4) == 0) {
    uint64_t riff = uint64_t(h[4]) | uint64_t(h[5]) << 8 | uint64_t(h[6]) << 16 | uint64_t(h[7]) << 24;
    return riff + 8 > size;
  }
  if (std::memcmp(h + 4, "ftyp", 4) != 0) return false;
  uint64_t at = 0;
  while (at + 8 <= size) {
    in.seekg(std::streamoff(at));
    if (!in.read(reinterpret_cast<char*>(h), 16) && in.gcount() < 8) return false;
    uint64_t box = read_be(h, 4);
    if (box == 1)
      box = read_be(h + 8, 8);  // 64-bit size
    else if (box == 0)
      return false;  // "to the end of the file"
    if (box < 8) return false;
    if (at + box > size) return true;
    at += box;
    in.clear();
  }
  return false;
}

}  // namespace

std::vector<VideoListEntry> read_video_list(std::istream& in, const std::string& origin, const std::string& root_dir) {
  const fs::path root(root_dir);
  std::vector<VideoListEntry> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // UCF101's split files are CRLF
    std::istringstream ls(line);
    std::string file;
    if (!(ls >> file) || file[0] == '#') continue;
    VideoListEntry c;
    fs::path p(file);
    c.path = (p.is_absolute() ? p : root / p).lexically_normal().string();
    std::string label;
    if (ls >> label) {
      char* end = nullptr;
      errno = 0;
      const long v = std::strtol(label.c_str(), &end, 10);
      MTMAP_CHECK(end && *end == '\0' && end != label.c_str(), "{}:{}: the label '{}' is not an integer", origin, lineno,
                  label);
      // -1 means "no label" to the loader, and the label is an int: both checked here, not truncated.
      MTMAP_CHECK(errno != ERANGE && v >= 0 && v <= std::numeric_limits<int>::max(),
                  "{}:{}: the label '{}' is out of range (need 0..{})", origin, lineno, label,
                  std::numeric_limits<int>::max());
      c.label = int(v);
    }
    out.push_back(std::move(c));
  }
  return out;
}

VideoInfo probe_video(const std::string& path, int64_t min_frames, bool full_decode) {
  VideoReader reader(path, ReaderOptions{.threads = 1, .strict = true});
  const int64_t declared = reader.info().declared_frames;
  int64_t packets = reader.count_frames();
  if (packets == 0) throw VideoError(VideoProblem::corrupt, path, "the video stream has no packets");
  if (declared > 0 && packets < declared) {
    bool cut = structure_runs_past_end(path);
    throw VideoError(cut ? VideoProblem::truncated : VideoProblem::corrupt, path,
                     fmt::format("the header declares {} frames but {} are readable ({})", declared, packets,
                                 cut ? fmt::format("the data stops at {:.2f} s of {:.2f} s", reader.demuxed_seconds(),
                                                   reader.declared_seconds())
                                     : "damaged packets inside the file"));
  }
  int64_t frames = full_decode ? reader.decode_count() : packets;
  if (frames == 0) throw VideoError(VideoProblem::corrupt, path, "no frame could be decoded");
  if (frames < min_frames)
    throw VideoError(VideoProblem::too_short, path, fmt::format("{} frames, a clip needs {}", frames, min_frames));
  VideoInfo info = reader.info();
  info.frame_count = frames;
  info.declared_frames = declared;
  return info;
}

VideoDataset VideoDataset::scan(const std::vector<std::string>& paths, const DatasetOptions& o) {
  std::vector<Candidate> cands = expand(paths, o);
  nlohmann::json cache = nlohmann::json::object();
  // The cache is only valid for the probe settings that made it.
  const std::string settings =
      fmt::format("v{} min_frames={} full_decode={}", kCacheVersion, o.min_frames, o.full_decode);
  if (!o.cache_file.empty() && fs::exists(o.cache_file)) {
    try {
      std::ifstream in(o.cache_file);
      nlohmann::json j = nlohmann::json::parse(in);
      if (j.value("settings", "") == settings) cache = j.at("entries");
    } catch (const std::exception& e) {
      fmt::print(stderr, "mtmap: ignoring the unreadable scan cache {}: {}\n", o.cache_file, e.what());
    }
  }

  std::vector<Result> results(cands.size());
  std::vector<char> cached(cands.size(), 0);
  std::vector<int64_t> sizes(cands.size(), -1), mtimes(cands.size(), 0);
  for (size_t i = 0; i < cands.size(); ++i) {
    if (!file_stamp(cands[i].path, sizes[i], mtimes[i])) continue;
    auto it = cache.find(cache_key(cands[i].path));
    if (it != cache.end() && it->value("size", int64_t(-2)) == sizes[i] &&
        it->value("mtime_ns", int64_t(-2)) == mtimes[i]) {
      try {
        results[i] = from_json(*it, cands[i].path);
        cached[i] = 1;
      } catch (const std::exception&) {
        // a damaged cache entry: probe again
      }
    }
  }

  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < cands.size();) {
      if (cached[i]) continue;
      Result& r = results[i];
      try {
        r.info = probe_video(cands[i].path, o.min_frames, o.full_decode);
        r.ok = true;
      } catch (const VideoError& e) {
        r.problem = e.problem();
        r.message = e.what();
      } catch (const std::exception& e) {
        r.problem = VideoProblem::corrupt;
        r.message = fmt::format("{}: corrupt: {}", cands[i].path, e.what());
      }
    }
  };
  int nt = std::max(1, std::min<int>(o.threads, int(cands.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < nt; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();

  VideoDataset ds;
  for (size_t i = 0; i < cands.size(); ++i) {
    const Result& r = results[i];
    if (cached[i])
      ++ds.stats_.from_cache;
    else
      ++ds.stats_.probed;
    if (r.ok)
      ds.videos_.push_back({r.info, cands[i].label});
    else
      ds.bad_.push_back({cands[i].path, r.problem, r.message});
    if (sizes[i] >= 0) cache[cache_key(cands[i].path)] = to_json(r, sizes[i], mtimes[i]);
  }

  if (!o.cache_file.empty() && ds.stats_.probed > 0) {
    // Atomic: a run killed mid-write, or a full disk, leaves the old cache, never half a file.
    formats::write_file_atomic(o.cache_file, nlohmann::json{{"settings", settings}, {"entries", cache}}.dump());
  }
  return ds;
}

std::map<std::string, int64_t> VideoDataset::problem_counts() const {
  std::map<std::string, int64_t> m;
  for (const BadFile& b : bad_) ++m[problem_name(b.problem)];
  return m;
}

std::string VideoDataset::summary() const {
  int64_t frames = 0;
  for (const VideoEntry& v : videos_) frames += v.info.frame_count;
  std::string s = fmt::format("{} usable video{} ({} frames), {} bad", videos_.size(), videos_.size() == 1 ? "" : "s",
                              frames, bad_.size());
  const char* sep = ": ";
  for (auto& [name, n] : problem_counts()) {
    s += fmt::format("{}{} {}", sep, n, name);
    sep = ", ";
  }
  return s;
}

}  // namespace mtmap::io
