// Unit tables (analysis/unit_table): `mtmap analyze-map --units` and the positions of
// `analyze-responses`. Bytes that start like a .npy file go through read_npy and table_from_npy,
// anything else through the CSV reader; then the map's columns are picked and checked, with and
// without dropping non-finite rows.
#include <cstring>
#include <sstream>

#include "analysis/unit_table.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mtmap::fuzz::expect_clean_errors([&] {
    std::istringstream in(mtmap::fuzz::text_of(data, size));
    mtmap::analysis::Table t;
    if (size >= 6 && std::memcmp(data, "\x93NUMPY", 6) == 0)
      t = mtmap::analysis::table_from_npy(mtmap::formats::read_npy(in, "fuzz.npy"), "fuzz.npy",
                                          {"x_mm", "y_mm", "preferred_direction_deg", "weight"});
    else
      t = mtmap::analysis::read_csv(in, "fuzz.csv");
    for (bool drop : {false, true}) {
      int dropped = 0;
      mtmap::fuzz::expect_clean_errors([&] { (void)mtmap::analysis::map_units_from_table(t, drop, &dropped); });
    }
  });
  return 0;
}
