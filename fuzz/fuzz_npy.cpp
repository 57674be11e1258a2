// NumPy .npy files (formats/npy): bytes → header, dtype, shape, data. Plain and structured arrays.
#include <sstream>

#include "formats/npy.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mtmap::fuzz::expect_clean_errors([&] {
    std::istringstream in(mtmap::fuzz::text_of(data, size));
    (void)mtmap::formats::read_npy(in, "fuzz.npy");
  });
  return 0;
}
