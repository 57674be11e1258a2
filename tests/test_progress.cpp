// ProgressLine (engine/core/progress.h): plain lines at most every interval, forced updates and
// messages always shown, a live line redrawn with '\r' and ended by a message or the destructor.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "engine/core/progress.h"

using namespace mtmap;

namespace {

// Everything written to `f` so far.
std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  std::fseek(f, 0, SEEK_END);
  return s;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("ProgressLine: plain lines are throttled, forced updates and messages are not", "[progress]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  ProgressLine p(f, 60, 0);
  CHECK(!p.live());
  for (int i = 1; i <= 1000; ++i) p.update(i / 1000.0, "step " + std::to_string(i));
  std::string s = contents(f);
  CHECK(count(s, "\n") == 1);  // the first update only: the interval has not passed since
  CHECK(s == "step 1\n");
  p.update(1.0, "done", true);
  p.message("a message");
  Progress& base = p;
  base.update(1.0, "not shown");
  s = contents(f);
  CHECK(s == "step 1\ndone\na message\n");
  CHECK(count(s, "\r") == 0);
  std::fclose(f);
}

TEST_CASE("ProgressLine: a live line is redrawn with \\r and a message ends it", "[progress]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  ProgressLine p(f, 60, 1);
  CHECK(p.live());
  p.update(0.5, "half way");
  std::string s = contents(f);
  CHECK(s.find('\r') == 0);
  CHECK(s.find("[############............]  50% half way") != std::string::npos);
  CHECK(count(s, "\n") == 0);
  p.update(0.6, "too soon");  // within 0.2 s of the last redraw
  p.update(1.0, "forced", true);
  p.message("the end");
  s = contents(f);
  CHECK(s.find("too soon") == std::string::npos);
  CHECK(count(s, "\r") == 3);  // two redraws and the clearing before the message
  CHECK(s.size() >= 8);
  CHECK(s.substr(s.size() - 8) == "the end\n");
  CHECK(count(s, "\n") == 1);
  std::fclose(f);
  // A live line still drawn when the ProgressLine goes is ended, so that what follows starts anew.
  f = std::tmpfile();
  REQUIRE(f);
  {
    ProgressLine q(f, 60, 1);
    q.update(0.1, "left drawn");
  }
  s = contents(f);
  CHECK(s.back() == '\n');
  CHECK(count(s, "\n") == 1);
  std::fclose(f);
}

TEST_CASE("format_duration", "[progress]") {
  CHECK(format_duration(12.4) == "12s");
  CHECK(format_duration(185) == "3m05s");
  CHECK(format_duration(3720) == "1h02m");
  CHECK(format_duration(-1) == "?");
}
