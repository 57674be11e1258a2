// Model checkpoints (spec, state, sheet) and `mtmap analyze --checkpoint` end to end on a tiny
// random model: the run folder's contents, and every bad input named before anything is written.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/probe/checkpoint_analysis.h"
#include "formats/npy.h"
#include "analysis/run_output.h"
#include "analysis/unit_table.h"
#include "engine/core/device_support.h"
#include "engine/core/error.h"
#include "engine/core/progress.h"
#include "io/augment.h"
#include "cortex/sheet.h"
#include "models/checkpoint.h"

using namespace mtmap;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("mtmap_test_ckpt_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

models::ModelSpec tiny_spec(int64_t width = 4) {
  models::ModelSpec s;
  s.net.width = width;
  s.net.projection_dim = 8;
  s.frames = 8;
  s.size = 32;
  return s;
}

// A random model with the retinotopic sheet of layer3.1 (16 channels × 4 × 4 = 256 units at width 4).
std::string tiny_checkpoint(const fs::path& dir, uint64_t seed = 1) {
  const models::ModelSpec spec = tiny_spec();
  Generator gen(seed);
  models::ResNet3d net(spec.net, gen);
  const cortex::SheetSpec mt = cortex::find_sheet(cortex::preprint_sheets(), "layer3.1");
  std::vector<models::SheetPositions> sheets = {
      {"layer3.1", mt.side_mm, mt.neighbourhood_mm, cortex::retinotopic_positions(16, 4, 4, mt.side_mm, gen)}};
  const std::string path = (dir / "tiny.safetensors").string();
  models::save_checkpoint(path, net, spec, sheets);
  return path;
}

// A Progress that records every call and passes it on to another (a ProgressLine).
struct RecordingProgress : Progress {
  explicit RecordingProgress(Progress& inner) : inner(inner) {}
  void update(double fraction, const std::string& text, bool force) override {
    fractions.push_back(fraction);
    updates.push_back(text);
    inner.update(fraction, text, force);
  }
  void message(const std::string& text) override {
    messages.push_back(text);
    inner.message(text);
  }
  Progress& inner;
  std::vector<double> fractions;
  std::vector<std::string> updates, messages;
};

// The lines of everything written to `f`.
std::vector<std::string> lines_of(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::vector<std::string> lines;
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF;)
    if (c == '\n') lines.push_back(line), line.clear();
    else line.push_back(char(c));
  return lines;
}

analysis::CheckpointAnalysisOptions tiny_options(const std::string& ckpt, const fs::path& out) {
  analysis::CheckpointAnalysisOptions o;
  o.checkpoint = ckpt;
  o.out_dir = out.string();
  o.config_origin = "test-config";
  o.config.probe.wavelengths_px = {8, 16};
  o.config.probe.periods_frames = {4, 8};
  o.config.probe.phases = 2;
  o.config.probe.batch_size = 16;
  return o;
}

// A sheet file of cortex::save_sheets for layer3.1 on a 7.07 mm sheet.
void save_sheet(const std::string& path, const Tensor& positions, double width_mm, Generator& gen) {
  cortex::LayerSheet sheet;
  sheet.spec = {"layer3.1", 7.07, width_mm};
  sheet.positions = positions;
  cortex::NeighbourhoodOptions no;
  no.min_units = 5;
  sheet.neighbourhoods = cortex::neighbourhoods(positions, width_mm, gen, no);
  cortex::save_sheets(path, {sheet});
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("model spec: JSON round trip, strict keys, the data pipeline's normalisation", "[checkpoint]") {
  models::ModelSpec s = tiny_spec(6);
  s.net.stem = models::Stem::hara;
  s.net.depth = {1, 2, 1, 1};
  const json j = models::model_spec_to_json(s);
  const models::ModelSpec back = models::model_spec_from_json(j, "spec");
  CHECK(models::model_spec_to_json(back) == j);
  CHECK(models::model_spec_to_json(tiny_spec(6)) != j);
  CHECK_THROWS_WITH(models::model_spec_from_json({{"widht", 4}}, "cfg.model"),
                    Catch::Contains("cfg.model.widht: unknown model key") && Catch::Contains("width"));
  CHECK_THROWS_WITH(models::model_spec_from_json({{"width", "four"}}, "cfg.model"),
                    Catch::Contains("cfg.model.width: wrong type"));
  CHECK_THROWS_WITH(models::model_spec_from_json({{"stem", "r2plus1d"}}, "m"), Catch::Contains("m.stem = 'r2plus1d'"));
  CHECK_THROWS_WITH(models::model_spec_from_json({{"depth", {2, 2}}}, "m"), Catch::Contains("m.depth has 2 entries"));
  // The probe normalises clips as training did: the spec's defaults are the augmentations' defaults.
  const io::AugmentConfig aug;
  for (int c = 0; c < 3; ++c) {
    CHECK(models::ModelSpec{}.mean[size_t(c)] == Approx(aug.mean[size_t(c)]));
    CHECK(models::ModelSpec{}.std[size_t(c)] == Approx(aug.std[size_t(c)]));
  }
}

TEST_CASE("block_shapes matches the model's own block outputs", "[checkpoint]") {
  // block_shapes computes the geometry by the layers' window arithmetic; a forward pass checks it,
  // for both stems, odd and tiny sizes and deeper stages.
  struct Geometry {
    int64_t frames, size;
    std::array<int, 4> depth;
  };
  for (models::Stem stem : {models::Stem::r3d, models::Stem::hara})
  for (const Geometry& g : {Geometry{12, 40, {2, 2, 2, 2}}, Geometry{1, 1, {2, 2, 2, 2}}, Geometry{5, 23, {1, 3, 1, 2}},
                            Geometry{16, 57, {2, 2, 2, 2}}}) {
    models::ModelSpec s = tiny_spec(3);
    s.net.stem = stem;
    s.net.depth = g.depth;
    s.frames = g.frames;
    s.size = g.size;
    INFO("frames " << g.frames << ", size " << g.size);
    Generator gen(2);
    models::ResNet3d net(s.net, gen);
    net.eval();
    const auto out = net.forward(zeros({1, 3, s.frames, s.size, s.size}), net.block_names());
    const auto shapes = models::block_shapes(s);
    REQUIRE(shapes.size() == net.block_names().size());
    for (const auto& b : shapes) {
      INFO(b.name);
      CHECK(out.blocks.at(b.name).shape() == Shape{1, b.channels, b.frames, b.height, b.width});
    }
  }
}

TEST_CASE("checkpoints: state, spec and sheet round trip, metadata-less files, mismatches named", "[checkpoint]") {
  const fs::path d = temp_dir("roundtrip");
  const std::string path = tiny_checkpoint(d, 3);
  const models::Checkpoint c = models::read_checkpoint(path);
  REQUIRE(c.spec.has_value());
  CHECK(models::model_spec_to_json(*c.spec) == models::model_spec_to_json(tiny_spec()));
  REQUIRE(c.sheet("layer3.1") != nullptr);
  CHECK(c.sheet("layer3.1")->positions.shape() == Shape{256, 2});
  CHECK(c.sheet("layer2.0") == nullptr);
  const auto net = models::load_model(c, *c.spec, "test");
  Generator gen(3);
  models::ResNet3d original(tiny_spec().net, gen);  // same seed: the weights that were saved
  const auto a = original.named_parameters(), b = net->named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].tensor.to_vector<float>() == b[i].tensor.to_vector<float>());

  // A plain state dict (as exported from PyTorch): no spec, no sheet; loads with a spec from elsewhere.
  const std::string plain = (d / "plain.safetensors").string();
  formats::save_module(plain, original);
  const models::Checkpoint p = models::read_checkpoint(plain);
  CHECK(!p.spec.has_value());
  CHECK(p.sheets.empty());
  CHECK_NOTHROW(models::load_model(p, tiny_spec(), "cfg.model"));
  CHECK_THROWS_WITH(models::load_model(p, tiny_spec(8), "cfg.model"),
                    Catch::Contains("tensor 'stem.0.weight' is [4, 3, 3, 7, 7] in the file but [8, 3, 3, 7, 7] in the "
                                    "model") &&
                        Catch::Contains("cfg.model"));

  // Sheet positions from a sheet file of cortex::save_sheets, or from a checkpoint; a missing block
  // lists what the file has.
  Generator sg(4);
  const Tensor pos = cortex::retinotopic_positions(16, 4, 4, 7.07, sg);
  const std::string sheet_file = (d / "sheets.safetensors").string();
  save_sheet(sheet_file, pos, 2.1, sg);
  const models::SheetPositions s = models::read_sheet_positions(sheet_file, "layer3.1");
  CHECK(s.positions.to_vector<double>() == pos.to_vector<double>());
  CHECK(s.side_mm == 7.07);
  CHECK(models::read_sheet_positions(path, "layer3.1").positions.shape() == Shape{256, 2});
  CHECK_THROWS_WITH(models::read_sheet_positions(sheet_file, "layer4.1"),
                    Catch::Contains("no sheet positions for block layer4.1") && Catch::Contains("for: layer3.1"));
}

TEST_CASE("analyze_checkpoint: a tiny random model end to end", "[checkpoint][analyze]") {
  const fs::path d = temp_dir("run");
  const std::string ckpt = tiny_checkpoint(d);
  analysis::CheckpointAnalysisOptions o = tiny_options(ckpt, d / "out");
  o.report = true;
  std::vector<std::string> lines;
  o.log = [&](const std::string& l) { lines.push_back(l); };
  const analysis::CheckpointAnalysisSummary s = analysis::analyze_checkpoint(o);
  const int clips = 16 * 2 * 2 * 2 + 1;
  CHECK(s.units == 256);
  CHECK(s.clips == clips);
  CHECK(s.batches == (clips + 15) / 16);
  CHECK(s.map);
  // Through `log` alone: the probe's first line and its last, never a line per batch (a batch of
  // this tiny model takes milliseconds, the lines come at most every 5 s).
  const auto probe_lines =
      std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.find("probe layer3.1: batch ") == 0; });
  CHECK(probe_lines >= 1);
  CHECK(probe_lines <= 3);
  CHECK(s.batches > 3);
  CHECK(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(fmt::format("batch {0}/{0} ({1}/{1} clips)", s.batches, clips)) != std::string::npos;
  }));

  const json m = analysis::read_metrics(o.out_dir);
  CHECK(m["kind"] == "tuning+map");
  CHECK(m["tuning"]["n_units"] == 256);
  CHECK(m["inputs"]["layer"] == "layer3.1");
  CHECK(m["inputs"]["units"] == 256);
  CHECK(m["inputs"]["checkpoint"] == fs::absolute(ckpt).string());
  CHECK(m["inputs"]["block_output"]["channels"] == 16);
  CHECK(m["inputs"]["probe"]["clips"] == clips);
  CHECK(m["inputs"]["probe"]["spatial_freq_cycles_per_px"] == json({0.125, 0.0625}));
  CHECK(m["inputs"]["probe"]["device"] == "cpu");
  CHECK(m["config"]["probe"]["layer"] == "layer3.1");
  CHECK(m["inputs"]["model"]["width"] == 4);

  const analysis::Table units = analysis::read_csv((d / "out" / "units.csv").string());
  CHECK(units.rows() == 256);
  CHECK(units.find("x_mm") != nullptr);
  for (const char* f : {"direction_map.png", "direction_map_zoom.png", "magnitude_map.png", "figures/ptc.svg",
                        "figures/hist_dsi.svg", "report.html", "units.npy", "tuning_curves.npy"})
    CHECK(fs::file_size(d / "out" / f) > 100);
  const formats::NpyArray r = formats::read_npy((d / "out" / "responses.npy").string());
  CHECK(r.shape == std::vector<size_t>{256, 16, 2, 2, 2});
  CHECK(formats::read_npy((d / "out" / "baseline.npy").string()).shape == std::vector<size_t>{256});

  // Another block, with the probe's own clip size, and no sheet for it in the checkpoint: tuning
  // only, the map skipped and said so.
  analysis::CheckpointAnalysisOptions o2 = tiny_options(ckpt, d / "out2");
  o2.config.probe.layer = "layer2.1";
  o2.config.probe.size = 16;
  o2.config.probe.save_responses = false;
  // This time through a Progress (recording, then a ProgressLine on a file at one line a minute):
  // an update per batch, the messages through it, and only a few lines written.
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  ProgressLine line(f, 60, 0);
  RecordingProgress rec(line);
  o2.progress = &rec;
  lines.clear();
  o2.log = o.log;  // unused when a Progress is given
  const analysis::CheckpointAnalysisSummary s2 = analysis::analyze_checkpoint(o2);
  CHECK(lines.empty());
  CHECK(s2.units == 8 * 4 * 4);
  CHECK(!s2.map);
  CHECK(int(rec.updates.size()) == s2.batches);
  REQUIRE(!rec.updates.empty());
  CHECK(rec.updates.back().find(fmt::format("probe layer2.1: batch {0}/{0}", s2.batches)) == 0);
  CHECK(rec.fractions.back() == 1.0);
  CHECK(std::is_sorted(rec.fractions.begin(), rec.fractions.end()));
  CHECK(std::any_of(rec.messages.begin(), rec.messages.end(),
                    [](const std::string& l) { return l.find("map is skipped") != std::string::npos; }));
  const std::vector<std::string> written = lines_of(f);
  std::fclose(f);
  CHECK(written.size() == rec.messages.size() + 2);  // the messages, the first update and the last
  CHECK(analysis::read_metrics(o2.out_dir)["kind"] == "tuning");
  CHECK(!fs::exists(d / "out2" / "responses.npy"));
}

TEST_CASE("analyze_checkpoint: bad inputs are named and leave the output folder alone", "[checkpoint][analyze]") {
  const fs::path d = temp_dir("errors");
  const std::string ckpt = tiny_checkpoint(d);
  const fs::path out = d / "out";
  fs::create_directories(out);
  std::ofstream(out / "metrics.json") << "previous run\n";
  auto untouched = [&] {
    CHECK(read_text(out / "metrics.json") == "previous run\n");
    CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator()) == 1);
  };

  SECTION("missing checkpoint") {
    auto o = tiny_options((d / "nope.safetensors").string(), out);
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(o), Catch::Contains("nope.safetensors"));
  }
  SECTION("corrupt checkpoint") {
    const fs::path bad = d / "truncated.safetensors";
    fs::copy_file(ckpt, bad);
    fs::resize_file(bad, fs::file_size(bad) / 2);
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(tiny_options(bad.string(), out)),
                      Catch::Contains("truncated.safetensors") && Catch::Contains("truncated file?"));
  }
  SECTION("unknown layer") {
    auto o = tiny_options(ckpt, out);
    o.config.probe.layer = "layer3.2";
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(o),
                      Catch::Contains("'layer3.2' is not a block") && Catch::Contains("layer3.1, layer4.0"));
  }
  SECTION("no model description anywhere") {
    Generator gen(1);
    models::ResNet3d net(tiny_spec().net, gen);
    const std::string plain = (d / "plain.safetensors").string();
    formats::save_module(plain, net);
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(tiny_options(plain, out)), Catch::Contains("plain.safetensors") &&
                                                                                  Catch::Contains("mtmap.model") &&
                                                                                  Catch::Contains("\"model\" section"));
    // With the config's description it runs; a wrong one names the parameter and both shapes.
    auto o = tiny_options(plain, out);
    o.config.model = models::model_spec_to_json(tiny_spec(8));
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(o),
                      Catch::Contains("'stem.0.weight' is [4, 3, 3, 7, 7] in the file but [8, 3, 3, 7, 7]") &&
                          Catch::Contains("test-config.model"));
  }
  SECTION("checkpoint and config disagree") {
    auto o = tiny_options(ckpt, out);
    o.config.model = {{"width", 8}};
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(o), Catch::Contains("width = 4 but test-config.model says 8"));
  }
  SECTION("sheet of the wrong size") {
    Generator sg(4);
    const Tensor pos = cortex::retinotopic_positions(16, 2, 2, 7.07, sg);  // 64 units, the block has 256
    const std::string sheet_file = (d / "small_sheet.safetensors").string();
    save_sheet(sheet_file, pos, 3.0, sg);
    auto o = tiny_options(ckpt, out);
    o.sheet = sheet_file;
    CHECK_THROWS_WITH(analysis::analyze_checkpoint(o), Catch::Contains("small_sheet.safetensors") &&
                                                           Catch::Contains("64 unit positions") &&
                                                           Catch::Contains("256 units"));
  }
  SECTION("a CUDA device") {
    auto o = tiny_options(ckpt, out);
    o.config.probe.device = "cuda:0";
    if (cuda_device_count() == 0) {
      CHECK_THROWS_WITH(analysis::analyze_checkpoint(o), Catch::Contains("cuda:0") && Catch::Contains("--device"));
    } else {
      // With a GPU the probe runs there and must agree with the CPU's responses.
      o.out_dir = (d / "gpu").string();
      analysis::analyze_checkpoint(o);
      auto c = tiny_options(ckpt, d / "cpu");
      analysis::analyze_checkpoint(c);
      const auto g = formats::read_npy((d / "gpu" / "responses.npy").string()).data;
      const auto h = formats::read_npy((d / "cpu" / "responses.npy").string()).data;
      REQUIRE(g.size() == h.size());
      for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == Approx(h[i]).margin(1e-4));
    }
  }
  untouched();
}
