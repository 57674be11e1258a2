#include "io/video/clip_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/core/fnv_hash.h"
#include "formats/atomic_file.h"
#include "io/rng.h"
#include "io/video/video_reader.h"

namespace fs = std::filesystem;

namespace mtmap::io {
namespace {

constexpr char kMagic[8] = {'M', 'T', 'M', 'A', 'P', 'V', 'C', '1'};
struct DiskHeader {
  char magic[8];
  int64_t frames;
  int32_t height, width;
};

// A file descriptor that closes itself.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void pread_all(int fd, void* dst, size_t n, off_t at, const std::string& file) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, at);
    MTMAP_CHECK(r > 0, "{}: cache file read failed at byte {}: {}", file, at,
                r == 0 ? "unexpected end" : std::strerror(errno));
    p += r, n -= size_t(r), at += r;
  }
}

}  // namespace

ClipCache::ClipCache(CacheOptions options) : options_(std::move(options)) {
  MTMAP_CHECK(options_.short_side > 0, "clip cache: short side must be positive, got {}", options_.short_side);
  if (!options_.dir.empty()) {
    std::error_code ec;
    fs::create_directories(options_.dir, ec);
    MTMAP_CHECK(fs::is_directory(options_.dir), "clip cache: cannot create the folder {}: {}", options_.dir,
                ec.message());
  }
}

std::string ClipCache::disk_path(const std::string& path) const {
  // Keyed by the file's identity (path, size, mtime) and the resolution: a changed video or
  // another resolution gets a new cache file.
  struct stat st {};
  int64_t size = -1, mtime = 0;
  if (::stat(path.c_str(), &st) == 0)
    size = st.st_size, mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  uint64_t h = fnv1a64(path);
  h = mix_key(h, mix_key(uint64_t(size), uint64_t(mtime)), uint64_t(options_.short_side));
  return fmt::format("{}/{:016x}_{}.mtv", options_.dir, h, fs::path(path).stem().string());
}

ClipCache::EntryPtr ClipCache::decode(const std::string& path) {
  VideoReader reader(path);
  Tensor cthw = reader.read_all({.short_side = options_.short_side});
  auto e = std::make_shared<Entry>();
  e->T = cthw.size(1), e->H = int(cthw.size(2)), e->W = int(cthw.size(3));
  const int64_t px = int64_t(e->H) * e->W;
  // (3, T, H, W) -> (T, 3, H, W): one frame is one contiguous block.
  Tensor tchw = empty({e->T, 3, e->H, e->W}, DType::u8);
  for (int64_t t = 0; t < e->T; ++t)
    for (int c = 0; c < 3; ++c)
      std::memcpy(tchw.data<uint8_t>() + (t * 3 + c) * px, cthw.data<uint8_t>() + (c * e->T + t) * px, size_t(px));
  if (options_.dir.empty()) {
    e->frames = tchw;
    return e;
  }
  // A temporary name of this process and thread: concurrent writers of one clip never share it,
  // and a full disk is an error naming the file (formats/atomic_file.h).
  const std::string file = disk_path(path);
  formats::AtomicFile out(file, fmt::format(".tmp{}", ::getpid() ^ uint64_t(std::hash<std::thread::id>{}(
                                                                    std::this_thread::get_id()))),
                         /*durable=*/false);
  DiskHeader hd{};
  std::memcpy(hd.magic, kMagic, 8);
  hd.frames = e->T, hd.height = e->H, hd.width = e->W;
  out.write(&hd, sizeof(hd));
  out.write(tchw.data<uint8_t>(), tchw.nbytes());
  out.commit();
  return e;  // disk mode keeps only the geometry in memory
}

ClipCache::EntryPtr ClipCache::load(const std::string& path) {
  std::promise<EntryPtr> promise;
  std::unique_lock<std::mutex> lock(mutex_);
  auto it = entries_.find(path);
  if (it != entries_.end()) {
    ++stats_.hits;
    if (options_.dir.empty()) {
      auto pos = lru_pos_.find(path);
      if (pos != lru_pos_.end()) lru_.splice(lru_.begin(), lru_, pos->second);  // iterators stay valid
    }
    std::shared_future<EntryPtr> f = it->second;
    lock.unlock();
    return f.get();  // waits if another thread is still decoding it
  }
  // A disk cache file from an earlier run: read its header only.
  if (!options_.dir.empty()) {
    std::string file = disk_path(path);
    Fd fd(::open(file.c_str(), O_RDONLY));
    DiskHeader hd{};
    if (fd.fd >= 0 && ::pread(fd.fd, &hd, sizeof(hd), 0) == ssize_t(sizeof(hd)) &&
        std::memcmp(hd.magic, kMagic, 8) == 0) {
      auto e = std::make_shared<Entry>();
      e->T = hd.frames, e->H = hd.height, e->W = hd.width;
      std::promise<EntryPtr> done;
      done.set_value(e);
      entries_[path] = done.get_future().share();
      ++stats_.hits;
      return e;
    }
  }
  entries_[path] = promise.get_future().share();
  ++stats_.decodes;
  lock.unlock();
  EntryPtr e;
  try {
    e = decode(path);
  } catch (...) {
    lock.lock();
    entries_.erase(path);  // a bad file is not cached: its error is reported on every read
    promise.set_exception(std::current_exception());
    throw;
  }
  promise.set_value(e);
  if (options_.dir.empty()) {
    lock.lock();
    lru_.push_front(path);
    lru_pos_[path] = lru_.begin();
    stats_.memory_bytes += e->frames.nbytes();
    while (stats_.memory_bytes > options_.memory_budget && lru_.size() > 1) {
      // Evict the least recently used; readers holding its EntryPtr keep it alive until done.
      auto victim = entries_.find(lru_.back());
      stats_.memory_bytes -= victim->second.get()->frames.nbytes();
      entries_.erase(victim);
      lru_pos_.erase(lru_.back());
      lru_.pop_back();
    }
  }
  return e;
}

Tensor ClipCache::read_clip(const std::string& path, int64_t start, int64_t count, int64_t stride) {
  MTMAP_CHECK(start >= 0 && count > 0 && stride > 0, "{}: read_clip(start={}, count={}, stride={}) is invalid", path,
              start, count, stride);
  EntryPtr e = load(path);
  const int64_t last = start + (count - 1) * stride;
  if (last >= e->T)
    throw VideoError(
        VideoProblem::too_short, path,
        fmt::format("asked for frames {}..{} (stride {}) but the video has {} frames", start, last, stride, e->T));
  const int64_t px = int64_t(e->H) * e->W;
  Tensor out = empty({3, count, e->H, e->W}, DType::u8);
  uint8_t* o = out.data<uint8_t>();
  if (options_.dir.empty()) {
    for (int64_t i = 0; i < count; ++i)
      for (int c = 0; c < 3; ++c)
        std::memcpy(o + (c * count + i) * px, e->frames.data<uint8_t>() + ((start + i * stride) * 3 + c) * px,
                    size_t(px));
    return out;
  }
  std::string file = disk_path(path);
  Fd fd(::open(file.c_str(), O_RDONLY));
  MTMAP_CHECK(fd.fd >= 0, "{}: cannot open the cache file {}: {}", path, file, std::strerror(errno));
  std::vector<uint8_t> frame(size_t(3 * px));
  for (int64_t i = 0; i < count; ++i) {
    pread_all(fd.fd, frame.data(), frame.size(), off_t(sizeof(DiskHeader) + size_t((start + i * stride) * 3 * px)),
              file);
    for (int c = 0; c < 3; ++c) std::memcpy(o + (c * count + i) * px, frame.data() + c * px, size_t(px));
  }
  return out;
}

CacheStats ClipCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace mtmap::io
