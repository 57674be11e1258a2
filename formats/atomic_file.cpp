#include "formats/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "engine/core/error.h"

namespace mtmap::formats {
namespace fs = std::filesystem;

AtomicFile::AtomicFile(std::string path, std::string tmp_suffix, bool durable)
    : path_(std::move(path)), tmp_(path_ + tmp_suffix), durable_(durable) {
  const fs::path p(path_);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    MTMAP_CHECK(!ec, "cannot create the folder {} for {}: {}", p.parent_path().string(), path_, ec.message());
  }
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  MTMAP_CHECK(fd_ >= 0, "cannot create {} (to write {}): {}", tmp_, path_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(tmp_.c_str());
}

namespace {
// What became of the final name after a failure: the point of the atomic write.
std::string untouched(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec) ? fmt::format("the existing {} is unchanged", path)
                              : fmt::format("nothing was written under {}", path);
}
}  // namespace

void AtomicFile::fail(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  MTMAP_FAIL("{} {} failed: {} ({})", what, tmp_, std::strerror(err), untouched(path_));
}

void AtomicFile::write(std::string_view bytes) {
  MTMAP_CHECK(fd_ >= 0 && !committed_, "AtomicFile: write to {} after commit or failure", path_);
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    // A short write of 0 means the device took nothing: report it as a full disk.
    if (n <= 0) fail("writing", n < 0 ? errno : ENOSPC);
    p += n;
    left -= size_t(n);
  }
}

void AtomicFile::sync_partial() {
  if (fd_ >= 0) ::fsync(fd_);
}

void AtomicFile::commit() {
  MTMAP_CHECK(fd_ >= 0 && !committed_, "AtomicFile: commit of {} twice or after a failure", path_);
  if (durable_ && ::fsync(fd_) != 0 && errno != EINVAL) fail("flushing", errno);  // EINVAL: a file system without fsync
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("closing", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    MTMAP_FAIL("cannot move {} to {}: {} ({})", tmp_, path_, std::strerror(err), untouched(path_));
  }
  committed_ = true;
  if (!durable_) return;
  // The rename is in the folder's entry: sync it too, or a power cut may undo it. Best effort: the
  // file itself is complete either way.
  const fs::path parent = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path() : fs::path(".");
  const int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

}  // namespace mtmap::formats
