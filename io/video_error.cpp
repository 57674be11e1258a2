// The named video problems and their error (no FFmpeg here: the loader and procedural sources
// use them without the decoder).
#include "io/video_error.h"

#include <fmt/format.h>

namespace mtmap::io {

const char* problem_name(VideoProblem p) {
  switch (p) {
    case VideoProblem::missing:
      return "missing";
    case VideoProblem::unreadable:
      return "unreadable";
    case VideoProblem::empty:
      return "empty";
    case VideoProblem::not_a_video:
      return "not a video";
    case VideoProblem::no_decoder:
      return "no decoder";
    case VideoProblem::corrupt:
      return "corrupt";
    case VideoProblem::truncated:
      return "truncated";
    case VideoProblem::too_short:
      return "too short";
  }
  return "?";
}

VideoError::VideoError(VideoProblem problem, std::string path, const std::string& detail)
    : Error(fmt::format("{}: {}: {}", path, problem_name(problem), detail)),
      problem_(problem),
      path_(std::move(path)) {}

}  // namespace mtmap::io
