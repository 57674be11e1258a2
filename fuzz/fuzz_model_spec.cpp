// The model spec (models/model_spec): the `model` section of a config and a checkpoint's
// "mtmap.model" metadata. JSON text → ModelSpec → JSON → ModelSpec: what is written must read back
// to the same spec (a mismatch aborts: a finding); and its block geometry has no empty block.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_common.h"
#include "models/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  mtmap::fuzz::expect_clean_errors([&] {
    const mtmap::models::ModelSpec s = mtmap::models::model_spec_from_json(j, "fuzz.json");
    const nlohmann::json written = mtmap::models::model_spec_to_json(s);
    const nlohmann::json again = mtmap::models::model_spec_to_json(mtmap::models::model_spec_from_json(written, "written"));
    if (written != again) {
      std::fprintf(stderr, "model spec does not read back: %s became %s\n", written.dump().c_str(), again.dump().c_str());
      std::abort();
    }
    // The block geometry every config check uses: one block per depth entry, none of them empty.
    for (const mtmap::models::BlockShape& b : mtmap::models::block_shapes(s))
      if (b.channels < 1 || b.frames < 1 || b.height < 1 || b.width < 1) {
        std::fprintf(stderr, "block %s has an empty shape\n", b.name.c_str());
        std::abort();
      }
  });
  return 0;
}
