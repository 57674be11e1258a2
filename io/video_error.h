#pragma once
// The named problems a video file can have. Every failure to open, probe or decode a video is a
// VideoError carrying one of them and the file's path, so a data set scan can count problems by
// kind and a user reads "clip.avi: truncated: ..." rather than an FFmpeg code.
#include <string>

#include "engine/core/error.h"

namespace mtmap::io {

enum class VideoProblem {
  missing,      // no such file
  unreadable,   // exists but cannot be read (permissions, a directory)
  empty,        // zero bytes
  not_a_video,  // FFmpeg recognises no container in it, or the container has no video stream
  no_decoder,   // a video stream whose codec this FFmpeg build cannot decode
  corrupt,      // the container or bitstream is damaged (decode errors, unreadable header)
  truncated,    // the file ends early: fewer frames than its header declares, or a cut packet
  too_short,    // decodes fine but has fewer frames than one clip needs
};

const char* problem_name(VideoProblem p);

// A file a data set scan or the loader skipped, and why.
struct BadFile {
  std::string path;
  VideoProblem problem;
  std::string message;  // "path: problem: detail"
};

class VideoError : public Error {
 public:
  VideoError(VideoProblem problem, std::string path, const std::string& detail);
  VideoProblem problem() const { return problem_; }
  const std::string& path() const { return path_; }

 private:
  VideoProblem problem_;
  std::string path_;
};

}  // namespace mtmap::io
