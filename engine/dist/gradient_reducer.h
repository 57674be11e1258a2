#pragma once
// Data parallel's gradient averaging (PyTorch DDP's design on llm.c's flat buffer): the flat
// gradient buffer (engine/nn/flat_parameters.h) is cut into buckets of consecutive parameters,
// last parameters first (the backward pass finishes them first); during the backward pass a bucket's
// all-reduce starts as soon as the last of its gradients is final (autograd's grad-ready callback,
// engine/autograd/grad_hooks.h), so communication overlaps the rest of the backward pass.
//
// Buckets start strictly in one order (bucket 0, 1, …), on every rank the same, as MPI and NCCL
// require: a bucket that completes early waits for the ones before it. A parameter that no gradient
// reached in a pass (a head the objective does not use) leaves its bucket to be started by
// finish(), with the zeros zero_grad left there.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/autograd/grad_hooks.h"
#include "engine/dist/communicator.h"
#include "engine/nn/flat_parameters.h"

namespace mtmap::dist {

struct Bucket {
  int64_t offset = 0, numel = 0;  // in the flat buffer
  int first_segment = 0, last_segment = 0;
};

class GradientReducer {
 public:
  static constexpr int64_t kDefaultBucketBytes = 25ll << 20;  // DDP's default

  // `module`'s parameters must be the views `flat` made of them; the gradients must live on the
  // communicator's device.
  GradientReducer(const nn::Module& module, nn::FlatParameters& flat, Communicator& comm,
                  int64_t bucket_bytes = kDefaultBucketBytes);

  // Around one backward pass: begin() installs the grad-ready callback (on the calling thread),
  // finish() starts the buckets not yet started, waits for all and divides the sum by the number of
  // ranks: every rank then holds the mean gradient.
  void begin();
  void finish();

  const std::vector<Bucket>& buckets() const { return buckets_; }
  // How many buckets of the last pass started during the backward pass (the rest in finish()).
  int started_during_backward() const { return started_in_backward_; }

 private:
  void on_ready(const TensorImpl& leaf);
  void start_ready_buckets();

  nn::FlatParameters& flat_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const TensorImpl*, int> bucket_of_;  // parameter → its bucket
  std::vector<int> bucket_size_;                          // parameters per bucket
  std::vector<int> pending_;                              // parameters not yet final, per bucket
  std::vector<std::unique_ptr<Work>> in_flight_;
  int next_to_start_ = 0;
  int started_in_backward_ = 0;
  bool in_pass_ = false;
  std::unique_ptr<autograd::GradReadyScope> scope_;
};

// Makes every rank's parameters and buffers equal to root's (the start of data parallel training).
void broadcast_module(Communicator& comm, const nn::Module& module, int root = 0);

}  // namespace mtmap::dist
