// Opens an HTML report in headless Chromium: the DOM must parse with the report's headings, the
// console must show no errors (a failed resource load is one), and the screenshot must be a real
// picture (many distinct colours, not a blank page). Exits 77 (skipped) where Chromium is missing.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "formats/png_image.h"

namespace fs = std::filesystem;

static std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: check_report_chromium REPORT.html WORKDIR\n");
    return 2;
  }
  std::string browser;
  for (const char* b : {"chromium", "chromium-browser", "google-chrome"})
    if (std::system((std::string("command -v ") + b + " > /dev/null 2>&1").c_str()) == 0) {
      browser = b;
      break;
    }
  if (browser.empty()) {
    std::printf("no Chromium found: skipped\n");
    return 77;
  }
  const fs::path report = fs::absolute(argv[1]), work = argv[2];
  fs::create_directories(work);
  const fs::path shot = fs::absolute(work / "report_screenshot.png"), dom = work / "dom.html", log = work / "chromium.log";
  fs::remove(shot);
  const std::string flags = " --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 ";
  const std::string url = "file://" + report.string();
  if (std::system((browser + flags + "--dump-dom '" + url + "' > '" + dom.string() + "' 2> '" + log.string() + "'").c_str()) != 0) {
    std::fprintf(stderr, "chromium --dump-dom failed; log in %s\n", log.string().c_str());
    return 1;
  }
  const std::string d = slurp(dom);
  for (const char* needle : {"<h1>", "Macaque MT reference values", "Kaschube et al. 2010", "data:image/png;base64"})
    if (d.find(needle) == std::string::npos) {
      std::fprintf(stderr, "rendered DOM lacks '%s'\n", needle);
      return 1;
    }
  if (std::system((browser + flags + "--window-size=1400,3000 --screenshot='" + shot.string() + "' '" + url + "' 2>> '" +
                   log.string() + "' > /dev/null")
                      .c_str()) != 0) {
    std::fprintf(stderr, "chromium --screenshot failed; log in %s\n", log.string().c_str());
    return 1;
  }
  const std::string l = slurp(log);
  for (const char* bad : {"CONSOLE", "Uncaught", "ERR_FILE_NOT_FOUND", "Not allowed to load"})
    if (l.find(bad) != std::string::npos) {
      std::fprintf(stderr, "Chromium reported '%s'; log in %s\n", bad, log.string().c_str());
      return 1;
    }
  if (!fs::exists(shot) || fs::file_size(shot) == 0) {
    std::fprintf(stderr, "no screenshot written\n");
    return 1;
  }
  const mtmap::formats::Image img = mtmap::formats::read_png(shot.string());
  std::set<unsigned> colours;
  for (int y = 0; y < img.height(); y += 2)
    for (int x = 0; x < img.width(); x += 2) {
      const auto c = img.get(x, y);
      colours.insert((unsigned(c.r) << 16) | (unsigned(c.g) << 8) | c.b);
    }
  std::printf("screenshot %d x %d, %zu distinct colours\n", img.width(), img.height(), colours.size());
  return colours.size() >= 50 ? 0 : 1;
}
