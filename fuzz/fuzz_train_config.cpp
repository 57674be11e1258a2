// The training config (training/train_config): JSON text → the model, data, sheets and training
// sections parsed strictly and validated → the resolved config and its hash. Built where study/ is
// not (MTMAP_MINIMAL), and faster to reach the training keys than the whole experiment file.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_common.h"
#include "training/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  mtmap::fuzz::expect_clean_errors([&] {
    const mtmap::training::TrainConfig c = mtmap::training::train_config_from_json(j, "fuzz.json");
    // What the runner does with a valid config: write it resolved, hash it, read it back.
    const nlohmann::json resolved = mtmap::training::train_config_to_json(c);
    (void)mtmap::training::train_config_hash(c);
    (void)mtmap::training::train_config_from_json(resolved, "fuzz.json (resolved)");
  });
  return 0;
}
