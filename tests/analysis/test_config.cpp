// Strict configuration: unknown keys, wrong types and bad values are named; the resolved config
// round-trips through JSON.
#include <catch2/catch.hpp>

#include "analysis/config.h"
#include "engine/core/error.h"

using namespace mtmap::analysis;
using nlohmann::json;

TEST_CASE("Config rejects unknown keys with their path", "[analysis][config]") {
  CHECK_THROWS_WITH(config_from_json(json{{"map", {{"smoothing_width", 0.2}}}}),
                    Catch::Contains("config.map.smoothing_width: unknown config key"));
  CHECK_THROWS_WITH(config_from_json(json{{"colour", 1}}), Catch::Contains("config.colour: unknown config key"));
  CHECK_THROWS_WITH(config_from_json(json{{"tuning", {{"dsi_threshold", "high"}}}}),
                    Catch::Contains("config.tuning.dsi_threshold: wrong type"));
  CHECK_THROWS_WITH(config_from_json(json{{"tuning", {{"sf_tf", "median"}}}}),
                    Catch::Contains("tuning.sf_tf: 'median' is not one of"));
  CHECK_THROWS_WITH(config_from_json(json{{"map", {{"smoothing_width_mm", -1}}}}),
                    Catch::Contains("map.smoothing_width_mm = -1"));
  CHECK_THROWS_WITH(config_from_json(json::array()), Catch::Contains("expected a JSON object"));
}

TEST_CASE("Config keeps given values, defaults the rest and round-trips", "[analysis][config]") {
  const json in = {{"map", {{"smoothing_width_mm", 0.25}, {"period_deg", 180}}},
                   {"run", {{"alpha", 0.5}, {"seed", 3}, {"label", "a0.5-s3"}}}};
  const AnalysisConfig c = config_from_json(in);
  CHECK(c.map.smoothing_width_mm == 0.25);
  CHECK(c.map.period_deg == 180.0);
  CHECK(c.tuning.dsi_threshold == Approx(1.0 / 3));
  CHECK(*c.run.alpha == 0.5);
  CHECK(*c.run.seed == 3);
  const json out = config_to_json(c);
  CHECK(out["tuning"]["sf_tf"] == "best");
  CHECK(config_to_json(config_from_json(out)) == out);
  const AnalysisConfig defaults;  // named: a temporary trips g++ 12's -Wmaybe-uninitialized
  CHECK(config_to_json(defaults)["run"]["alpha"].is_null());
}

TEST_CASE("Config probe and model sections: strict keys, checked values, round trip", "[analysis][config]") {
  const json j = {{"probe",
                   {{"layer", "layer2.1"},
                    {"wavelengths_px", {8, 16}},
                    {"periods_frames", {3, 6}},
                    {"device", "cuda:1"},
                    {"batch_size", 4}}},
                  {"model", {{"width", 8}}}};
  const AnalysisConfig c = config_from_json(j, "cfg");
  CHECK(c.probe.layer == "layer2.1");
  CHECK(c.probe.periods_frames == std::vector<double>{3, 6});
  CHECK(c.probe.directions == 16);
  CHECK(c.model == json({{"width", 8}}));  // checked by the model side (models::model_spec_from_json)
  const json out = config_to_json(c);
  CHECK(config_to_json(config_from_json(out)) == out);
  CHECK(out["probe"]["device"] == "cuda:1");
  AnalysisConfig no_model;
  no_model.probe = c.probe;
  CHECK(!config_to_json(no_model).contains("model"));
  CHECK_THROWS_WITH(config_from_json({{"probe", {{"wavelength_px", {8}}}}}, "cfg"),
                    Catch::Contains("cfg.probe.wavelength_px: unknown config key"));
  CHECK_THROWS_WITH(config_from_json({{"probe", {{"periods_frames", {2}}}}}),
                    Catch::Contains("probe.periods_frames contains 2"));
  CHECK_THROWS_WITH(config_from_json({{"probe", {{"directions", 15}}}}), Catch::Contains("probe.directions = 15"));
  CHECK_THROWS_WITH(config_from_json({{"probe", {{"device", "tpu"}}}}), Catch::Contains("probe.device = 'tpu'"));
  CHECK_THROWS_WITH(config_from_json({{"probe", {{"wavelengths_px", {1}}}}}),
                    Catch::Contains("probe.wavelengths_px contains 1"));
  CHECK_THROWS_WITH(config_from_json({{"model", 4}}, "cfg"), Catch::Contains("cfg.model: expected a JSON object"));
}
