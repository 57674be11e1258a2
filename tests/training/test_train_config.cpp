// The training config: every error of a table of bad configs, with its exact message; the
// resolved config reads back to itself; the hash ignores what does not change the numbers.
#include <catch2/catch.hpp>

#include "engine/core/error.h"
#include "tests/training/training_fixtures.h"

using namespace mtmap;
using nlohmann::json;

namespace {

// smoke.json with `patch` merged in (json merge-patch: null deletes a key).
json patched(const json& patch) {
  json j = test::smoke_json();
  for (const char* other : {"study", "probe"}) j.erase(other);  // the study's sections, not training's
  j.merge_patch(patch);
  return j;
}

std::string error_of(const json& j) {
  try {
    (void)training::train_config_from_json(j, "smoke");
  } catch (const Error& e) {
    // The message without the " (file.cpp:line)" every mtmap::Error ends with.
    std::string m = e.what();
    const size_t at = m.rfind(" (");
    return at != std::string::npos && m.back() == ')' && m.find(".cpp:", at) != std::string::npos ? m.substr(0, at) : m;
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the smoke experiment is a valid training config", "[training][config]") {
  const training::TrainConfig c = test::smoke_config();
  CHECK(c.training.steps == 40);
  CHECK(c.alpha("layer3.1") == 0.5);
  CHECK(c.alpha("layer1.0") == 0);  // no sheet there
}

TEST_CASE("bad training configs are refused with messages that name the key", "[training][config]") {
  struct Case {
    json patch;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"training", {{"batchsize", 8}}}},
       "smoke.training.batchsize: unknown config key (known keys: alpha, alpha_per_block, batch_size, "
       "checkpoint_every, device, epochs, final_lr, keep_checkpoints, lr_per_256, moco_momentum, momentum, objective, "
       "precision, pretrain_epochs, pretrain_steps, progress_seconds, queue_size, schedule, seed, shuffle_bn, spatial_form, steps, "
       "swap, temperature, tf32, threads, warmup_steps, weight_decay)"},
      {{{"trainign", json::object()}},
       "smoke.trainign: not a training section (training reads: model, data, sheets, training)"},
      {{{"training", {{"queue_size", 10}}}},
       "smoke.training.queue_size = 10 (need a positive multiple of training.batch_size = 4)"},
      {{{"training", {{"objective", "both"}}}},
       "smoke.training.objective: 'both' is not one of: joint, contrastive, spatial"},
      {{{"training", {{"batch_size", 1}}}},
       "smoke.training.batch_size = 1 (need 2..65536: correlations across the batch need 2 clips)"},
      {{{"training", {{"alpha", -0.5}}}}, "smoke.training.alpha = -0.5 (need ≥ 0)"},
      {{{"training", {{"objective", "spatial"}, {"alpha", 0}}}},
       "smoke.training.objective = 'spatial' but no block has α > 0 (training.alpha, sheets.blocks)"},
      {{{"training", {{"alpha_per_block", {{"layer1.0", 1.0}}}}}},
       "smoke.training.alpha_per_block.layer1.0: the block has no sheet (sheets.blocks)"},
      {{{"training", {{"warmup_steps", 41}}}}, "smoke.training.warmup_steps = 41 (need 0..steps = 40)"},
      {{{"training", {{"pretrain_steps", 5}}}},
       "smoke.training.pretrain_steps = 5 only applies to training.schedule = 'staged'"},
      {{{"training", {{"moco_momentum", 1.5}}}}, "smoke.training.moco_momentum = 1.5 (need 0..1)"},
      {{{"training", {{"epochs", 2}}}},
       "smoke.training.steps and training.epochs are both given (give one: steps, or epochs over the data)"},
      {{{"training", {{"steps", nullptr}, {"epochs", -1}}}}, "smoke.training.epochs = -1 (need ≥ 0)"},
      {{{"model", {{"width", 0}}}}, "smoke.model.width = 0 (need a positive integer)"},
      // Numbers that are not integers of the field's type (found by fuzzing), sizes beyond any model.
      {{{"model", {{"size", 112000}}}}, "smoke.model.size = 112000 (at most 4096)"},
      {{{"model", {{"depth", {1, 1e30, 1, 1}}}}},
       "smoke.model.depth[1] = 1e+30 (need an integer in -2147483648..2147483647)"},
      {{{"training", {{"batch_size", 2.5}}}},
       "smoke.training.batch_size = 2.5 (need an integer in -2147483648..2147483647)"},
      {{{"training", {{"seed", -1}}}}, "smoke.training.seed = -1 (need an integer in 0..18446744073709551615)"},
      {{{"data", {{"source", "webcam"}}}}, "smoke.data.source: 'webcam' is not one of: dead_leaves, videos"},
      {{{"data", {{"flip", "mirror"}}}}, "smoke.data.flip: 'mirror' is not one of: independent, shared, none"},
      {{{"training", {{"precision", "fp16"}}}}, "smoke.training.precision: 'fp16' is not one of: f32, bf16"},
      {{{"data", {{"generate_on", "gpu"}}}}, "smoke.data.generate_on: 'gpu' is not one of: cpu, device"},
      {{{"data", {{"generate_on", "device"}}}},
       "smoke.data.generate_on = 'device' needs a CUDA device (training.device = 'cpu')"},
      {{{"data", {{"generate_on", "device"}, {"source", "videos"}, {"paths", {"clips"}}}}, {"training", {{"device", "cuda"}}}},
       "smoke.data.generate_on = 'device' generates dead leaves on the GPU; data.source = 'videos' reads files (use "
       "data.source = 'dead_leaves', or generate_on = 'cpu')"},
      {{{"training", {{"precision", "bf16"}}}},
       "smoke.training.precision = 'bf16' needs a CUDA device (training.device = 'cpu'; the CPU computes in f32)"},
      {{{"model", {{"dtype", "f64"}}}, {"training", {{"precision", "bf16"}, {"device", "cuda"}}}},
       "smoke.training.precision = 'bf16' needs float32 master weights (model.dtype = 'f64')"},
      {{{"data", {{"source", "videos"}}}},
       "smoke.data.paths is empty (data.source = 'videos' needs folders, list files or video files)"},
      {{{"data", {{"dead_leaves_frames", 3}}}},
       "smoke.data.dead_leaves_frames = 3 (need ≥ 4: one clip spans (model.frames − 1)·data.frame_stride + 1 "
       "frames)"},
      {{{"data", {{"videos_per_epoch", 3}}}}, "smoke.data.videos_per_epoch = 3 (need ≥ training.batch_size = 4)"},
      {{{"sheets", {{"blocks", {{{"block", "layer5.0"}, {"side_mm", 5.0}, {"neighbourhood_mm", 1.0}}}}}}},
       "smoke.sheets.blocks[0].block = 'layer5.0' is not a block of this model (blocks: layer1.0, layer1.1, "
       "layer2.0, layer2.1, layer3.0, layer3.1, layer4.0, layer4.1)"},
      {{{"sheets", {{"blocks", {{{"block", "layer3.1"}, {"side_mm", 5.0}, {"neighbourhood_mm", 6.0}}}}}}},
       "smoke.sheets.blocks[0].neighbourhood_mm = 6 (need > 0 and < side_mm = 5)"},
      {{{"sheets", {{"max_units", 4}}}}, "smoke.sheets.max_units = 4 (need ≥ sheets.min_units = 8)"},
  };
  for (const Case& c : cases) {
    INFO(c.patch.dump());
    CHECK(error_of(patched(c.patch)) == c.message);
  }
  // Wrong types: the message starts with the key path and the value.
  CHECK_THAT(error_of(patched({{"training", {{"batch_size", "8"}}}})),
             Catch::StartsWith("smoke.training.batch_size: wrong type (\"8\")"));
  CHECK_THAT(error_of(patched({{"training", {{"device", "gpu"}}}})), Catch::StartsWith("smoke.training.device = 'gpu'"));
}

TEST_CASE("the resolved training config reads back to itself, and its hash ignores logistics", "[training][config]") {
  const training::TrainConfig c = test::smoke_config();
  const json resolved = training::train_config_to_json(c);
  const training::TrainConfig back = training::train_config_from_json(resolved, "resolved");
  CHECK(training::train_config_to_json(back) == resolved);
  CHECK(training::train_config_hash(back) == training::train_config_hash(c));
  // Checkpoint cadence, progress and threads do not change the numbers: same hash.
  CHECK(training::train_config_hash(test::smoke_config(patched({{"training", {{"checkpoint_every", 7}}}}))) ==
        training::train_config_hash(c));
  // The seed does.
  CHECK(training::train_config_hash(test::smoke_config(patched({{"training", {{"seed", 2}}}}))) !=
        training::train_config_hash(c));
  // Video made on the GPU differs from the CPU's in a last bit now and then: its own hash. The
  // default is not written, so configs from before the option keep theirs.
  CHECK_FALSE(resolved["data"].contains("generate_on"));
  const training::TrainConfig on_gpu =
      test::smoke_config(patched({{"data", {{"generate_on", "device"}}}, {"training", {{"device", "cuda"}}}}));
  const json gpu_json = training::train_config_to_json(on_gpu);
  CHECK(gpu_json["data"]["generate_on"] == "device");
  CHECK(training::train_config_to_json(training::train_config_from_json(gpu_json, "resolved")) == gpu_json);
  CHECK(training::train_config_hash(on_gpu) !=
        training::train_config_hash(test::smoke_config(patched({{"training", {{"device", "cuda"}}}}))));
}

TEST_CASE("training.epochs: steps from the data's batches per epoch", "[training][config]") {
  json j = test::smoke_json();
  for (const char* other : {"study", "probe"}) j.erase(other);
  j["training"].erase("steps");
  j["training"]["epochs"] = 2.5;
  j["training"]["warmup_steps"] = 4;
  const training::TrainConfig c = training::train_config_from_json(j, "smoke");
  // Written back with epochs and without steps, it reads back to itself.
  const json resolved = training::train_config_to_json(c);
  CHECK_FALSE(resolved["training"].contains("steps"));
  CHECK(training::train_config_to_json(training::train_config_from_json(resolved, "r")) == resolved);
  const training::TrainConfig r = training::resolve_epochs(c, 3, "smoke");  // smoke: 12 videos, batch 4
  CHECK(r.training.steps == 8);                                             // round(2.5 · 3)
  CHECK(r.training.epochs == 0);
  CHECK_THROWS_WITH(training::resolve_epochs(c, 1, "smoke"),
                    Catch::Contains("smoke.training.warmup_steps = 4 (need ≤ the 3 steps of training.epochs = 2.5 at "
                                    "1 batches per epoch)"));
}
