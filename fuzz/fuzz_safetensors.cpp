// safetensors files and checkpoints (formats/safetensors, models/checkpoint): bytes → the header
// and every tensor read and checked → the checkpoint's model spec and sheet positions.
#include <sstream>

#include "formats/safetensors.h"
#include "fuzz/fuzz_common.h"
#include "models/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mtmap::fuzz::expect_clean_errors([&] {
    std::istringstream in(mtmap::fuzz::text_of(data, size));
    mtmap::formats::SafetensorsFile f = mtmap::formats::load_safetensors(in, "fuzz.safetensors");
    (void)mtmap::models::checkpoint_from_file(std::move(f), "fuzz.safetensors");
  });
  return 0;
}
