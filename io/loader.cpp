#include "io/loader.h"

#include <system_error>

#include <algorithm>
#include <numeric>

#include "engine/random/generator.h"
#include "io/rng.h"

namespace mtmap::io {
namespace {

Tensor slot_tensor(const Shape& shape, Allocator* alloc) {
  if (!alloc) return empty(shape, DType::f32);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(*alloc, size_t(shape_numel(shape)) * sizeof(float));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = DType::f32;
  return Tensor(impl);
}

}  // namespace

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  if (!shuffle) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    return order;
  }
  // The engine's Philox randperm: one permutation per (seed, epoch), the same on every machine.
  Generator gen(seed, uint64_t(epoch) << 32);
  return randperm(n, gen).to_vector<int64_t>();
}

Loader::Loader(PairSource& source, LoaderOptions options) : source_(source), options_(options) {
  MTMAP_CHECK(options_.batch_size > 0 && options_.workers > 0, "loader: batch size {} and workers {} must be positive",
              options_.batch_size, options_.workers);
  MTMAP_CHECK(source_.size() > 0, "loader: the source has no items (no usable video)");
  check_batching(source_.size(), options_, "loader");
  const int P = options_.prefetch > 0 ? options_.prefetch : 2 * options_.workers;
  Shape clip = source_.clip_shape();
  Shape batch{options_.batch_size};
  batch.insert(batch.end(), clip.begin(), clip.end());
  slots_.resize(size_t(P));
  for (Slot& s : slots_) {
    s.query = slot_tensor(batch, options_.host_allocator);
    s.key = slot_tensor(batch, options_.host_allocator);
  }
  bad_item_.assign(size_t(source_.size()), 0);
  start_epoch(0);
}

Loader::~Loader() { stop_workers(); }

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void check_batching(int64_t items, const LoaderOptions& o, const char* who) {
  MTMAP_CHECK(o.batch_size > 0, "{}: batch size {} must be positive", who, o.batch_size);
  MTMAP_CHECK(o.shards >= 1 && o.shard >= 0 && o.shard < o.shards, "{}: shard {} of {}", who, o.shard, o.shards);
  MTMAP_CHECK(o.shards == 1 || o.drop_last, "{}: shards need drop_last (every rank a full batch)", who);
  MTMAP_CHECK(!o.drop_last || items >= int64_t(o.batch_size) * o.shards,
              "{}: {} items cannot fill one batch of {}{} (drop_last would leave no batch)", who, items,
              int64_t(o.batch_size) * o.shards,
              o.shards > 1 ? fmt::format(" ({} ranks × {})", o.shards, o.batch_size) : "");
}

int64_t epoch_batches(int64_t items, const LoaderOptions& o) {
  const int64_t b = int64_t(o.batch_size) * o.shards;
  return o.drop_last ? items / b : (items + b - 1) / b;
}

int64_t Loader::batches_per_epoch() const { return epoch_batches(source_.size(), options_); }

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  MTMAP_CHECK(first_batch >= 0 && first_batch <= batches_per_epoch(),
              "loader: epoch {} has {} batches; cannot start at batch {}", epoch, batches_per_epoch(), first_batch);
  stop_workers();
  epoch_ = epoch;
  const int64_t n = source_.size();
  order_ = epoch_order(n, options_.seed, epoch, options_.shuffle);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    next_claim_ = next_deliver_ = released_ = first_batch;
    ++generation_;
    stopping_ = false;
    for (Slot& s : slots_) s.batch = -1, s.ready = false, s.error = nullptr;
  }
  for (int i = 0; i < options_.workers; ++i) {
    try {
      threads_.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error& e) {
      stop_workers();  // the ones started: no thread is left running on a half-made epoch
      MTMAP_FAIL("loader: cannot start worker thread {} of {}: {} (the system is out of memory or of threads; "
                 "data.workers sets how many)",
                 i + 1, options_.workers, e.what());
    }
  }
}

void Loader::worker_loop() {
  const int64_t P = int64_t(slots_.size()), total = batches_per_epoch();
  for (;;) {
    int64_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // Claim the next batch once its slot is free: batch b − P has been released.
      cv_.wait(lock, [&] { return stopping_ || next_claim_ >= total || next_claim_ - released_ < P; });
      if (stopping_ || next_claim_ >= total) return;
      b = next_claim_++;
      Slot& s = slots_[size_t(b % P)];
      s.batch = b, s.ready = false, s.error = nullptr;
    }
    Slot& s = slots_[size_t(b % P)];
    std::exception_ptr err;
    try {
      fill(s, b);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      s.error = err;
      s.ready = true;
    }
    cv_.notify_all();
  }
}

void Loader::fill(Slot& slot, int64_t batch) {
  const int64_t n = source_.size(), N = options_.batch_size;
  const int64_t sample_floats = shape_numel(source_.clip_shape());
  const int64_t first = first_position(batch, N, options_.shard, options_.shards), count = std::min(N, n - first);
  slot.items.assign(size_t(count), -1);
  float* q = slot.query.data<float>();
  float* k = slot.key.data<float>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t pos = first + i;
    // Try the item at this position, then the following ones, until one works. Every attempt
    // draws from its own stream, so the result does not depend on what other threads know.
    for (int64_t attempt = 0; attempt < n; ++attempt) {
      const int64_t item = order_[size_t((pos + attempt) % n)];
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (bad_item_[size_t(item)]) continue;
      }
      Rng rng = sample_rng(options_.seed, epoch_, pos, attempt);
      try {
        source_.make_pair(item, rng, q + i * sample_floats, k + i * sample_floats);
        slot.items[size_t(i)] = item;
        break;
      } catch (const VideoError& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!bad_item_[size_t(item)]) {
          bad_item_[size_t(item)] = 1;
          bad_files_.push_back({e.path(), e.problem(), e.what()});
        }
      } catch (const std::exception& e) {
        // Not a bad file but a failure of the pipeline itself: stop, naming the sample.
        MTMAP_FAIL("loader: epoch {} position {} item {} ({}): {}", epoch_, pos, item, source_.name(item), e.what());
      }
    }
    MTMAP_CHECK(slot.items[size_t(i)] >= 0, "loader: every one of the {} items failed; bad files: {}", n,
                bad_files_.size());
  }
  if (count < N) {  // the last partial batch (drop_last = false): zero the unused samples
    std::fill(q + count * sample_floats, q + N * sample_floats, 0.f);
    std::fill(k + count * sample_floats, k + N * sample_floats, 0.f);
  }
}

std::optional<Batch> Loader::next() {
  const int64_t P = int64_t(slots_.size());
  std::unique_lock<std::mutex> lock(mutex_);
  // Hand back the previous batch's slot: a worker may now refill it.
  if (next_deliver_ > released_) {
    released_ = next_deliver_;
    cv_.notify_all();
  }
  if (next_deliver_ >= batches_per_epoch()) return std::nullopt;
  const int64_t b = next_deliver_;
  Slot& s = slots_[size_t(b % P)];
  cv_.wait(lock, [&] { return s.batch == b && s.ready; });
  if (s.error) {
    std::exception_ptr e = s.error;
    s.error = nullptr;
    std::rethrow_exception(e);
  }
  ++next_deliver_;
  Batch out;
  const int64_t count = int64_t(s.items.size());
  out.query = count == options_.batch_size ? s.query : s.query.narrow(0, 0, count);
  out.key = count == options_.batch_size ? s.key : s.key.narrow(0, 0, count);
  out.items = s.items;
  out.index = b;
  out.slot = int(b % P);
  return out;
}

size_t Loader::bad_file_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bad_files_.size();
}

std::vector<BadFile> Loader::bad_files() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<BadFile> out = bad_files_;  // found in thread order: sort for a stable report
  std::sort(out.begin(), out.end(), [](const BadFile& a, const BadFile& b) { return a.path < b.path; });
  return out;
}

}  // namespace mtmap::io
