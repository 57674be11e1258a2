// The CUDA test runner. Without a usable GPU every test run exits with 77, which CTest (through
// SKIP_RETURN_CODE 77) reports as *skipped*, never as passed. Listing the tests needs no GPU:
// catch_discover_tests runs `test_cuda --list-test-names-only` at build time, on any machine.
#include "tests/catch_session.h"
#include <cstdio>
#include <string_view>

#include "engine/core/device_support.h"

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    listing |= arg.starts_with("--list") || arg == "-l" || arg == "-t" || arg == "-h" || arg == "--help" || arg == "-?";
  }
  if (!listing && mtmap::cuda_device_count() == 0) {
    std::printf("test_cuda: no usable CUDA device (no GPU, or no driver): skipping (exit 77)\n");
    return 77;
  }
  return mtmap::test::run_catch_session(argc, argv);
}
