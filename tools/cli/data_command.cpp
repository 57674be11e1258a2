// `mtmap data check PATH...`: what a user runs before a long training run. Scans folders, list
// files and single files like training does, prints every usable video (container, codec, size,
// frame count and rate) and every bad file with its named problem, then a summary. Exits with
// status 2 when nothing usable was found.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "io/video/dataset.h"
#include "tools/cli/commands.h"

namespace mtmap::cli {

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Inspect video data sets");
  data->require_subcommand(1);
  CLI::App* check = data->add_subcommand("check", "Probe videos (folders, list files or files) and report problems");
  struct Args {
    std::vector<std::string> paths;
    io::DatasetOptions options;
    bool quick = false;
  };
  auto args = std::make_shared<Args>();
  check->add_option("paths", args->paths, "Folders (scanned recursively), list files (UCF101 splits) or video files")
      ->required();
  check->add_option("--min-frames", args->options.min_frames, "Frames one clip needs; shorter videos are 'too short'")
      ->capture_default_str();
  check->add_option("--root", args->options.root,
                    "Folder that list-file paths are relative to (default: the list's folder)");
  check->add_option("--cache", args->options.cache_file, "Probe cache file (a rerun only probes new or changed files)");
  check->add_option("--threads", args->options.threads, "Files probed in parallel")->capture_default_str();
  check->add_flag("--quick", args->quick, "Demux only, do not decode every frame (misses damaged bitstreams)");
  check->callback([args] {
    args->options.full_decode = !args->quick;
    io::VideoDataset ds = io::VideoDataset::scan(args->paths, args->options);
    for (const io::VideoEntry& v : ds.videos()) {
      const io::VideoInfo& i = v.info;
      fmt::print("ok   {}  [{} {} {}x{} {} frames {:.3f} fps{}]\n", i.path, i.container, i.codec, i.width, i.height,
                 i.frame_count, i.fps, v.label >= 0 ? fmt::format(" label {}", v.label) : "");
    }
    for (const io::BadFile& b : ds.bad()) fmt::print("BAD  {}\n", b.message);
    fmt::print("summary: {} (probed {}, from cache {})\n", ds.summary(), ds.stats().probed, ds.stats().from_cache);
    if (ds.size() == 0) {
      fmt::print(stderr, "mtmap: no usable video found\n");
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace mtmap::cli
