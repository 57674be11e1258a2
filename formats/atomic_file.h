#pragma once
// Writing a file so that no reader, and no later run after a crash, ever sees part of it under its
// final name: the bytes go to `<path>.tmp` (or another temporary name) in the same folder, are
// flushed to the disk (fsync), and the temporary is then renamed over `path` (atomic within one
// file system); the folder is synced too, so the rename itself survives a power cut.
//
// Every write is checked where the system reports errors: write() (a full disk, a file-size limit,
// a read-only file system), fsync() and close() (network file systems and delayed allocation report
// a full disk only there). A failure throws an mtmap::Error naming the file and the system's reason
// ("No space left on device", "Read-only file system"), removes the temporary and leaves whatever
// was at `path` before untouched. A temporary left behind by a killed process is never read.
#include <string>
#include <string_view>

namespace mtmap::formats {

class AtomicFile {
 public:
  // Opens the temporary `path + tmp_suffix` (creating the parent folder if needed). Throws
  // mtmap::Error naming it when it cannot be created.
  // `durable` false skips the fsyncs (a cache that is checked when read and can be made again):
  // still all or nothing under `path` for a killed process, not for a power cut.
  explicit AtomicFile(std::string path, std::string tmp_suffix = ".tmp", bool durable = true);
  // Without commit(): the temporary is removed and `path` keeps what it had.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void write(const void* data, size_t bytes) { write(std::string_view(static_cast<const char*>(data), bytes)); }
  // fsync, close, rename over `path`, fsync the folder. After it, the file is complete under `path`.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary() const { return tmp_; }
  // Flushes what was written so far to the temporary (for the crash tests' mid-write kill).
  void sync_partial();

 private:
  [[noreturn]] void fail(const char* what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  bool durable_ = true;
  bool committed_ = false;
};

// The whole of `bytes` as `path`, through an AtomicFile.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace mtmap::formats
