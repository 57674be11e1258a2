#pragma once
// A data set of videos: a folder scanned recursively by extension, a list file (UCF101's
// trainlist/testlist files work as they are: "Class/v_Class_g08_c01.avi [label]" per line,
// relative to a root folder), or single files. Every file is probed; bad ones are named, skipped
// and counted, never fatal. Probe results are cached in a JSON file keyed by path, size and
// modification time, so a restart does not re-probe thousands of files.
#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "io/video_error.h"
#include "io/video/video_reader.h"

namespace mtmap::io {

struct DatasetOptions {
  std::vector<std::string> extensions = {".avi",  ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg",
                                         ".mpeg", ".flv", ".wmv", ".ogv",  ".3gp", ".ts"};
  std::vector<std::string> list_extensions = {".txt", ".list", ".lst"};
  int64_t min_frames = 16;  // a video with fewer frames cannot give one clip: "too short"
  std::string root;         // folder that list-file paths are relative to (default: the list's folder)
  std::string cache_file;   // probe cache ("" = none)
  bool full_decode = true;  // decode every frame while probing (finds damaged bitstreams)
  int threads = 1;          // files probed in parallel
};

struct VideoEntry {
  VideoInfo info;
  int label = -1;  // from a list file's second column; -1 when there is none
};

struct ScanStats {
  int64_t probed = 0;      // files opened and decoded in this scan
  int64_t from_cache = 0;  // files whose result came from the cache
};

class VideoDataset {
 public:
  // `paths`: folders, list files and video files, in any mix; the order of the result is sorted
  // by path within each argument, so it does not depend on the file system's listing order.
  static VideoDataset scan(const std::vector<std::string>& paths, const DatasetOptions& options = {});
  // A data set from already-probed entries (tests, caches).
  explicit VideoDataset(std::vector<VideoEntry> videos = {}, std::vector<BadFile> bad = {})
      : videos_(std::move(videos)), bad_(std::move(bad)) {}

  const std::vector<VideoEntry>& videos() const { return videos_; }
  const std::vector<BadFile>& bad() const { return bad_; }
  const ScanStats& stats() const { return stats_; }
  int64_t size() const { return int64_t(videos_.size()); }
  // Counts per problem, e.g. {"truncated": 2, "not a video": 1}.
  std::map<std::string, int64_t> problem_counts() const;
  // "N usable videos (F frames), M bad: 2 truncated, 1 not a video".
  std::string summary() const;

 private:
  std::vector<VideoEntry> videos_;
  std::vector<BadFile> bad_;
  ScanStats stats_;
};

// One line of a list file: the video's path (relative ones resolved against the root) and its label.
struct VideoListEntry {
  std::string path;
  int label = -1;  // -1: the line has no label
};

// Reads a list file's lines ("path [label]"; blank lines and lines starting with '#' are skipped;
// CRLF is fine). `origin` names the list in messages, `root` is the folder relative paths are
// resolved against. A label that is not a non-negative integer in int range is an error naming the
// line. The one list parser of VideoDataset::scan, also what fuzz/fuzz_video_list.cpp feeds.
std::vector<VideoListEntry> read_video_list(std::istream& in, const std::string& origin, const std::string& root);

// Opens and checks one file (throws VideoError naming the file and its problem): the demuxed
// packet count must reach the header's frame count (else truncated), every frame must decode when
// `full_decode` (else corrupt), and at least `min_frames` frames must come out (else too short).
VideoInfo probe_video(const std::string& path, int64_t min_frames, bool full_decode);

}  // namespace mtmap::io
