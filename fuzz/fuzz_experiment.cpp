// The experiment file of `mtmap run` (study/study_config, study/experiment_file, and through them
// training/train_config and analysis/config): JSON text → split into sections → every section
// parsed strictly and validated → the study expanded into runs → the resolved file. Nothing runs.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_common.h"
#include "study/study_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid JSON is read_json_file's error (it names the file); here it simply ends the input.
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  mtmap::fuzz::expect_clean_errors([&] {
    const mtmap::study::Study st = mtmap::study::study_from_json(j, "fuzz.json");
    (void)st.resolved().dump();
  });
  return 0;
}
