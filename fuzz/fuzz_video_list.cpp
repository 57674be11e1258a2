// Video list files (io/video/dataset): UCF101's trainlist/testlist files and any "path [label]"
// list given to data.paths or `mtmap data check`. Bytes → the list's entries, relative to a root.
#include <sstream>

#include "fuzz/fuzz_common.h"
#include "io/video/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mtmap::fuzz::expect_clean_errors([&] {
    std::istringstream in(mtmap::fuzz::text_of(data, size));
    (void)mtmap::io::read_video_list(in, "fuzz.txt", "/data/UCF101/UCF-101");
  });
  return 0;
}
