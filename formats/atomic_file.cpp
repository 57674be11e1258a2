#include "formats/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/core/error.h"

namespace mtmap::formats {

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    MTMAP_CHECK(f.good(), "cannot open {} for writing: {}", tmp, std::strerror(errno));
    f << bytes;
    f.flush();
    if (!f.good()) {
      const int err = errno;
      f.close();
      fs::remove(tmp, ec);
      MTMAP_FAIL("writing {} failed: {}", tmp, std::strerror(err));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    MTMAP_FAIL("cannot move {} to {}: {}", tmp, path, ec.message());
  }
}

}  // namespace mtmap::formats
