// Data set scanning: every bad-file case gets its named problem and the culprit's path; folders
// are scanned recursively by extension; UCF101 split files work as they are; the probe cache
// spares a second scan from re-probing and notices changed files.
#include <catch2/catch.hpp>
#include <sstream>
#include <filesystem>
#include <fstream>

#include "io/video/dataset.h"
#include "tests/io/fixtures.h"

using namespace mtmap;
using namespace mtmap::io;
namespace fs = std::filesystem;

namespace {

std::string good_avi() { return test::encode_fixture("good.avi", 160, 120, 1.0, "-c:v libxvid -g 12"); }
std::string good_mp4() {
  return test::encode_fixture("good_faststart.mp4", 160, 120, 1.0,
                              "-c:v libx264 -pix_fmt yuv420p -g 12 -movflags +faststart");
}

VideoProblem problem_of(const std::string& path, int64_t min_frames = 16) {
  try {
    probe_video(path, min_frames, true);
  } catch (const VideoError& e) {
    CHECK(e.path() == path);
    CHECK_THAT(e.what(), Catch::StartsWith(path + ": " + problem_name(e.problem()) + ": "));
    return e.problem();
  }
  FAIL("no error for " << path);
  return VideoProblem::corrupt;
}

}  // namespace

TEST_CASE("dataset: good files probe with their container, codec, size and frame count", "[io][dataset]") {
  VideoInfo a = probe_video(good_avi(), 16, true);
  CHECK(a.container == "avi");
  CHECK(a.codec == "mpeg4");
  CHECK(a.width == 160);
  CHECK(a.height == 120);
  CHECK(a.frame_count == 25);
  CHECK(a.fps == Approx(25.0));
  VideoInfo m = probe_video(good_mp4(), 16, true);
  CHECK(m.codec == "h264");
  CHECK(m.frame_count == 25);
}

TEST_CASE("dataset: every bad-file case has its named problem", "[io][dataset]") {
  std::string dir = test::scratch_dir();
  CHECK(problem_of(dir + "/no_such_file.avi") == VideoProblem::missing);
  CHECK(problem_of(test::write_file("empty.mp4", "")) == VideoProblem::empty);
  CHECK(problem_of(test::write_file("notes.avi", std::string(4000, 'x') + "this is text, not a video\n")) ==
        VideoProblem::not_a_video);
  // An audio-only file: a valid container without a video stream.
  std::string wav = dir + "/tone.wav";
  test::run_shell("ffmpeg -nostdin -v error -y -f lavfi -i sine=duration=0.5 '" + wav + "'");
  CHECK(problem_of(wav) == VideoProblem::not_a_video);
  fs::create_directories(dir + "/a_folder.avi");
  CHECK(problem_of(dir + "/a_folder.avi") == VideoProblem::unreadable);
  // Cut in half: the AVI header and the MP4 sample table (faststart) promise frames that are gone.
  CHECK(problem_of(test::truncate_copy(good_avi(), "cut.avi", 0.5)) == VideoProblem::truncated);
  CHECK(problem_of(test::truncate_copy(good_mp4(), "cut.mp4", 0.5)) == VideoProblem::truncated);
  // Garbage over the middle of the bitstream.
  CHECK(problem_of(test::corrupt_copy(good_avi(), "damaged.avi", 3000)) == VideoProblem::corrupt);
  CHECK(problem_of(test::corrupt_copy(good_mp4(), "damaged.mp4", 3000)) == VideoProblem::corrupt);
  CHECK(problem_of(test::encode_fixture("short.mp4", 64, 48, 0.2, "-c:v libx264 -pix_fmt yuv420p"), 16) ==
        VideoProblem::too_short);
}

TEST_CASE("dataset: a folder mixing good and bad files is scanned recursively, bad ones named", "[io][dataset]") {
  std::string root = test::scratch_dir() + "/mixed";
  fs::create_directories(root + "/class_b/deeper");
  fs::copy_file(good_avi(), root + "/a.avi", fs::copy_options::overwrite_existing);
  fs::copy_file(good_mp4(), root + "/class_b/deeper/b.MP4", fs::copy_options::overwrite_existing);
  fs::copy_file(test::truncate_copy(good_avi(), "cut2.avi", 0.5), root + "/class_b/cut.avi",
                fs::copy_options::overwrite_existing);
  std::ofstream(root + "/empty.mkv").close();
  std::ofstream(root + "/readme.txt") << "not scanned: .txt is not a video extension in a folder";
  std::ofstream(root + "/fake.webm") << "garbage garbage garbage";

  DatasetOptions o;
  o.threads = 2;
  VideoDataset ds = VideoDataset::scan({root}, o);
  REQUIRE(ds.size() == 2);
  CHECK(ds.videos()[0].info.path == root + "/a.avi");
  CHECK(ds.videos()[1].info.path == root + "/class_b/deeper/b.MP4");
  REQUIRE(ds.bad().size() == 3);
  auto counts = ds.problem_counts();
  CHECK(counts["truncated"] == 1);
  CHECK(counts["empty"] == 1);
  CHECK(counts["not a video"] == 1);
  CHECK(ds.summary() == "2 usable videos (50 frames), 3 bad: 1 empty, 1 not a video, 1 truncated");
  for (const BadFile& b : ds.bad()) CHECK_THAT(b.message, Catch::StartsWith(b.path + ": "));
}

TEST_CASE("dataset: UCF101 split files work as they are (CRLF, labels, paths relative to a root)", "[io][dataset]") {
  std::string root = test::scratch_dir() + "/UCF-101";
  fs::create_directories(root + "/ApplyEyeMakeup");
  fs::create_directories(root + "/Archery");
  fs::copy_file(good_avi(), root + "/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi",
                fs::copy_options::overwrite_existing);
  fs::copy_file(good_avi(), root + "/Archery/v_Archery_g01_c02.avi", fs::copy_options::overwrite_existing);
  std::string splits = test::scratch_dir() + "/ucfTrainTestlist";
  fs::create_directories(splits);
  std::ofstream(splits + "/trainlist01.txt")
      << "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nArchery/v_Archery_g01_c02.avi 3\r\n"
         "Archery/v_Archery_g09_c09.avi 3\r\n\r\n";
  std::ofstream(splits + "/testlist01.txt") << "Archery/v_Archery_g01_c02.avi\r\n";

  DatasetOptions o;
  o.root = root;
  VideoDataset train = VideoDataset::scan({splits + "/trainlist01.txt"}, o);
  REQUIRE(train.size() == 2);
  CHECK(train.videos()[0].label == 1);
  CHECK(train.videos()[1].label == 3);
  CHECK(train.videos()[1].info.path == root + "/Archery/v_Archery_g01_c02.avi");
  REQUIRE(train.bad().size() == 1);
  CHECK(train.bad()[0].problem == VideoProblem::missing);
  CHECK(train.bad()[0].path == root + "/Archery/v_Archery_g09_c09.avi");

  VideoDataset test_split = VideoDataset::scan({splits + "/testlist01.txt"}, o);
  REQUIRE(test_split.size() == 1);
  CHECK(test_split.videos()[0].label == -1);

  std::ofstream(splits + "/badlabel.txt") << "Archery/v_Archery_g01_c02.avi three\n";
  CHECK_THROWS_WITH(VideoDataset::scan({splits + "/badlabel.txt"}, o),
                    Catch::Contains("badlabel.txt:1") && Catch::Contains("'three'"));
  // A label beyond int (it was truncated) or negative (-1 means "no label"): found writing the fuzz target.
  std::ofstream(splits + "/biglabel.txt") << "Archery/v_Archery_g01_c02.avi 1\nArchery/v_Archery_g01_c02.avi 99999999999\n";
  CHECK_THROWS_WITH(VideoDataset::scan({splits + "/biglabel.txt"}, o),
                    Catch::Contains("biglabel.txt:2: the label '99999999999' is out of range"));
  std::istringstream negative("a.avi -1\n");
  CHECK_THROWS_WITH(read_video_list(negative, "neg.txt", "/r"), Catch::Contains("neg.txt:1: the label '-1' is out of range"));
  std::istringstream fine("# comment\n\n a.avi 7 \r\n/abs/b.avi\n");
  const std::vector<VideoListEntry> entries = read_video_list(fine, "fine.txt", "/r");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].path == "/r/a.avi");
  CHECK(entries[0].label == 7);
  CHECK(entries[1].path == "/abs/b.avi");
  CHECK(entries[1].label == -1);
}

TEST_CASE("dataset: the probe cache spares a rescan and notices changed files", "[io][dataset]") {
  std::string root = test::scratch_dir() + "/cached";
  fs::create_directories(root);
  fs::copy_file(good_avi(), root + "/a.avi", fs::copy_options::overwrite_existing);
  fs::copy_file(good_mp4(), root + "/b.mp4", fs::copy_options::overwrite_existing);
  std::ofstream(root + "/c.avi") << "broken";
  DatasetOptions o;
  o.cache_file = test::scratch_dir() + "/scan_cache.json";
  VideoDataset first = VideoDataset::scan({root}, o);
  CHECK(first.stats().probed == 3);
  CHECK(first.stats().from_cache == 0);
  VideoDataset second = VideoDataset::scan({root}, o);
  CHECK(second.stats().probed == 0);
  CHECK(second.stats().from_cache == 3);
  CHECK(second.summary() == first.summary());
  CHECK(second.videos()[1].info.codec == "h264");
  CHECK(second.bad()[0].message == first.bad()[0].message);
  // A file replaced by a good one (new size and time) is probed again; the others are not.
  fs::copy_file(good_avi(), root + "/c.avi", fs::copy_options::overwrite_existing);
  VideoDataset third = VideoDataset::scan({root}, o);
  CHECK(third.stats().probed == 1);
  CHECK(third.size() == 3);
  // Other probe settings do not reuse the cache.
  o.min_frames = 8;
  CHECK(VideoDataset::scan({root}, o).stats().probed == 3);
}
