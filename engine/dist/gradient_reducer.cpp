#include "engine/dist/gradient_reducer.h"

#include <map>

#include "engine/autograd/grad_mode.h"
#include "engine/core/error.h"
#include "engine/ops/copy.h"
#include "engine/ops/elementwise.h"

namespace mtmap::dist {

GradientReducer::GradientReducer(const nn::Module& module, nn::FlatParameters& flat, Communicator& comm,
                                 int64_t bucket_bytes)
    : flat_(flat), comm_(comm) {
  MTMAP_CHECK(flat.grads().device() == comm.device(),
              "data parallel: the gradients are on {} but the {} communicator works on {}", flat.grads().device().str(),
              comm.name(), comm.device().str());
  MTMAP_CHECK(bucket_bytes > 0, "data parallel: bucket size {} bytes", bucket_bytes);
  const std::vector<nn::ParameterSegment>& segs = flat.segments();
  MTMAP_CHECK(!segs.empty(), "data parallel: the module has no parameters");
  const int64_t elem = int64_t(dtype_size(flat.grads().dtype()));
  // Last segments first, consecutive, until a bucket holds bucket_bytes.
  Bucket b;
  b.last_segment = int(segs.size()) - 1;
  int64_t bytes = 0;
  for (int s = int(segs.size()) - 1; s >= 0; --s) {
    bytes += segs[size_t(s)].numel * elem;
    b.first_segment = s;
    if (bytes >= bucket_bytes || s == 0) {
      b.offset = segs[size_t(b.first_segment)].offset;
      const auto& last = segs[size_t(b.last_segment)];
      b.numel = last.offset + last.numel - b.offset;
      buckets_.push_back(b);
      b = Bucket{};
      b.last_segment = s - 1;
      bytes = 0;
    }
  }
  std::map<std::string, int> segment_of;
  for (size_t s = 0; s < segs.size(); ++s) segment_of[segs[s].name] = int(s);
  std::vector<int> bucket_of_segment(segs.size(), -1);
  for (size_t i = 0; i < buckets_.size(); ++i)
    for (int s = buckets_[i].first_segment; s <= buckets_[i].last_segment; ++s) bucket_of_segment[size_t(s)] = int(i);
  bucket_size_.assign(buckets_.size(), 0);
  for (const nn::NamedTensor& p : module.named_parameters()) {
    auto it = segment_of.find(p.name);
    MTMAP_CHECK(it != segment_of.end(), "data parallel: parameter {} is not in the flat buffer", p.name);
    const int bucket = bucket_of_segment[size_t(it->second)];
    bucket_of_[&p.tensor.impl()] = bucket;
    ++bucket_size_[size_t(bucket)];
  }
}

void GradientReducer::begin() {
  MTMAP_CHECK(!in_pass_, "data parallel: begin() twice without finish()");
  in_pass_ = true;
  pending_ = bucket_size_;
  next_to_start_ = 0;
  started_in_backward_ = 0;
  in_flight_.clear();
  scope_ = std::make_unique<autograd::GradReadyScope>([this](const TensorImpl& leaf) { on_ready(leaf); });
}

void GradientReducer::on_ready(const TensorImpl& leaf) {
  auto it = bucket_of_.find(&leaf);
  if (it == bucket_of_.end()) return;  // a leaf of another module
  --pending_[size_t(it->second)];
  const int before = next_to_start_;
  start_ready_buckets();
  started_in_backward_ += next_to_start_ - before;
  for (auto& w : in_flight_) w->poll();  // MPI moves nonblocking collectives on only inside calls
}

void GradientReducer::start_ready_buckets() {
  while (next_to_start_ < int(buckets_.size()) && pending_[size_t(next_to_start_)] <= 0) {
    const Bucket& b = buckets_[size_t(next_to_start_)];
    in_flight_.push_back(comm_.all_reduce_sum_async(flat_.grads().narrow(0, b.offset, b.numel)));
    ++next_to_start_;
  }
}

void GradientReducer::finish() {
  MTMAP_CHECK(in_pass_, "data parallel: finish() without begin()");
  scope_.reset();
  in_pass_ = false;
  // Whatever no gradient reached (pending > 0) is final too now: zeros.
  for (int& p : pending_) p = 0;
  start_ready_buckets();
  for (auto& w : in_flight_) w->wait();
  in_flight_.clear();
  if (comm_.size() > 1) {
    autograd::NoGradGuard no_grad;
    copy_into(flat_.grads(), mul(flat_.grads(), 1.0 / double(comm_.size())));
  }
}

void broadcast_module(Communicator& comm, const nn::Module& module, int root) {
  autograd::NoGradGuard no_grad;
  auto send = [&](const std::vector<nn::NamedTensor>& tensors) {
    for (const nn::NamedTensor& t : tensors) {
      MTMAP_CHECK(t.tensor.device() == comm.device(), "data parallel: {} is on {} but the {} communicator works on {}",
                  t.name, t.tensor.device().str(), comm.name(), comm.device().str());
      if (t.tensor.is_contiguous()) {
        comm.broadcast(t.tensor, root);
      } else {
        Tensor c = t.tensor.contiguous();
        comm.broadcast(c, root);
        copy_into(t.tensor, c);
      }
    }
  };
  send(module.named_parameters());
  send(module.named_buffers());
}

}  // namespace mtmap::dist
