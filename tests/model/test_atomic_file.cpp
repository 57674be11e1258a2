// formats/atomic_file.h: a write that fails (here: past the process's file-size limit, as a full
// disk fails) is an error naming the file and the reason, leaves the old file as it was and no
// temporary behind; a writer dropped without commit() leaves nothing.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "engine/tensor/tensor.h"
#include "formats/atomic_file.h"
#include "formats/npy.h"
#include "formats/safetensors.h"
#include "tests/test_support.h"

using namespace mtmap;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& tag) {
  const fs::path d = fs::temp_directory_path() / ("mtmap_atomic_" + std::to_string(::getpid()) + "_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// While alive, files of this process cannot grow past `bytes`: write() fails with EFBIG, as it
// fails with ENOSPC on a full disk (SIGXFSZ, which would kill the process, is ignored meanwhile).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &old_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit r = old_;
    r.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &r) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("a write that fails keeps the old file, removes the temporary and names the reason", "[formats][atomic]") {
  const std::string dir = fresh_dir("fail");
  const std::string path = dir + "/out.json";
  formats::write_file_atomic(path, "the old contents\n");
  {
    FileSizeLimit limit(4096);
    CHECK_THROWS_WITH(formats::write_file_atomic(path, std::string(100000, 'x')),
                      Contains(path + ".tmp failed: File too large") && Contains("the existing " + path + " is unchanged"));
  }
  CHECK(read_bytes(path) == "the old contents\n");
  CHECK_FALSE(fs::exists(path + ".tmp"));
  // Within the limit the same call replaces the file whole.
  formats::write_file_atomic(path, "new\n");
  CHECK(read_bytes(path) == "new\n");
}

TEST_CASE("a checkpoint write that fails leaves the previous checkpoint loadable", "[formats][atomic]") {
  const std::string dir = fresh_dir("safetensors");
  const std::string path = dir + "/step.safetensors";
  const Tensor small = full({4}, 1.5);
  formats::save_safetensors(path, {{"w", small}}, {{"step", "10"}});
  {
    FileSizeLimit limit(4096);
    CHECK_THROWS_WITH(formats::save_safetensors(path, {{"w", zeros({10000})}}, {{"step", "20"}}),
                      Contains("File too large"));
  }
  CHECK_FALSE(fs::exists(path + ".tmp"));
  const formats::SafetensorsFile f = formats::load_safetensors(path);
  CHECK(f.metadata.at("step") == "10");
  CHECK(f.at("w").data<float>()[3] == 1.5f);
}

TEST_CASE("npy arrays are written whole or not at all", "[formats][atomic]") {
  const std::string dir = fresh_dir("npy");
  const std::string path = dir + "/a.npy";
  const std::vector<double> values(10000, 2.0);
  {
    FileSizeLimit limit(4096);
    CHECK_THROWS_WITH(formats::write_npy(path, {values.size()}, values), Contains("File too large"));
  }
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp"));
  formats::write_npy(path, {values.size()}, values);
  CHECK(formats::read_npy(path).data.size() == values.size());
}

TEST_CASE("an AtomicFile dropped without commit leaves neither the file nor its temporary", "[formats][atomic]") {
  const std::string dir = fresh_dir("drop");
  {
    formats::AtomicFile f(dir + "/x.bin");
    f.write("partial");
    CHECK(fs::exists(dir + "/x.bin.tmp"));
  }
  CHECK_FALSE(fs::exists(dir + "/x.bin"));
  CHECK_FALSE(fs::exists(dir + "/x.bin.tmp"));
  // A parent "folder" that is a file: named, nothing written.
  formats::write_file_atomic(dir + "/plain", "a file\n");
  CHECK_THROWS_WITH(formats::AtomicFile(dir + "/plain/x.bin"), Contains("cannot create the folder " + dir + "/plain"));
}
