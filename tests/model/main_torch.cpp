// Runs the PyTorch parity tests, or exits 77 (CTest: skipped) where PyTorch is not installed.
#include "tests/catch_session.h"

#include <cstdlib>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::string(argv[i]).rfind("--list", 0) == 0;
  std::string probe = std::string(MTMAP_TORCH_PYTHON) + " -c 'import torch' >/dev/null 2>&1";
  if (!listing && std::system(probe.c_str()) != 0) {
    std::printf("PyTorch is not importable by %s: skipping the parity tests\n", MTMAP_TORCH_PYTHON);
    return 77;
  }
  return mtmap::test::run_catch_session(argc, argv);
}
