// The replay driver (CI): a main() that feeds every file of the directories (or files) given to the
// target's LLVMFuzzerTestOneInput, once each, without fuzzing. Linked with each fuzz_<name>.cpp in
// the normal build (gcc or clang, with or without the sanitizers) and run by CTest (label `fuzz`)
// over fuzz/corpus/<name> and fuzz/regressions/<name>. A crash, a sanitizer report or an exception
// other than mtmap::Error ends the process with a failure; the file being replayed is printed first.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay: %s is not there (no inputs from it)\n", argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.string().c_str(), bytes.size());
    std::vector<uint8_t> copy(bytes.begin(), bytes.end());  // exactly `size` bytes, as libFuzzer passes them
    LLVMFuzzerTestOneInput(copy.data(), copy.size());
  }
  std::printf("replay: %zu inputs ran clean\n", files.size());
  return files.empty() ? 1 : 0;  // no input at all: the corpus is missing, which is a failure
}
