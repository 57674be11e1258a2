// A video that becomes unreadable in the middle of a run (issue #19): the loader skips it, the
// trainer names it when it is met and counts it in the metrics, and the run goes on to its end.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/core/progress.h"
#include "tests/io/fixtures.h"
#include "tests/training/training_fixtures.h"
#include "training/trainer.h"

using namespace mtmap;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Keeps the messages; when the run reports step `at`, overwrites `victim` with bytes that are no video.
struct CorruptingProgress : Progress {
  std::string victim;
  int64_t at = 0;
  bool done = false;
  std::vector<std::string> messages;
  void update(double, const std::string& text, bool) override {
    if (done || text.find(fmt::format(" step {}/", at)) == std::string::npos) return;
    // In place (the same file, as a failing disk or a sync tool would leave it), not a new one.
    std::ofstream(victim, std::ios::binary | std::ios::in | std::ios::out) << std::string(1 << 20, '\xff');
    done = true;
  }
  void message(const std::string& text) override { messages.push_back(text); }
};

}  // namespace

TEST_CASE("a video that becomes unreadable mid-run is skipped, named and counted, and the run goes on",
          "[training][faults]") {
  const fs::path dir = fs::path(test::scratch_dir()) / "videos-mid-run";
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Larger than FFmpeg's read buffer, so that a reader the source keeps open reads the file again.
  const std::string clip = test::encode_fixture("mid-run.avi", 96, 96, 2.0, "-c:v mpeg4 -q:v 1 -g 5");
  for (int i = 0; i < 6; ++i) fs::copy_file(clip, dir / fmt::format("clip{}.avi", i));

  json j = test::smoke_json();
  j["data"] = {{"source", "videos"}, {"paths", {dir.string()}}, {"augment", false}, {"workers", 1},
               {"decode_short_side", 40}};
  j["training"]["steps"] = 12;
  j["training"]["checkpoint_every"] = 6;
  const training::TrainConfig c = test::smoke_config(j);

  CorruptingProgress progress;
  progress.victim = (dir / "clip2.avi").string();
  progress.at = 3;
  training::TrainOptions o;
  o.out_dir = test::fresh_dir("video-mid-run");
  o.progress = &progress;
  const training::TrainSummary s = training::train(c, o);

  CHECK(progress.done);
  CHECK(s.last_step == 12);
  CHECK(!s.final_model.empty());
  const auto named = std::count_if(progress.messages.begin(), progress.messages.end(), [](const std::string& m) {
    return m.find("skipped a bad video at step") != std::string::npos && m.find("clip2.avi") != std::string::npos;
  });
  CHECK(named == 1);
  const std::vector<json> lines = test::read_metrics(o.out_dir);
  REQUIRE(lines.size() == 12);
  CHECK(lines.front()["bad_videos"] == 0);
  CHECK(lines.back()["bad_videos"] == 1);
  for (const json& l : lines) CHECK(std::isfinite(l["loss"].get<double>()));
}
