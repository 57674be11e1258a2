#pragma once
// The collective operations data-parallel training needs, over one group of processes (ranks),
// with two implementations on the standard libraries: MPI for CPU tensors (mpi_communicator.h)
// and NCCL for GPU tensors (nccl_communicator.h). Nothing here is home-made transport.
//
// Every rank must call the same collectives in the same order with tensors of the same shape and
// dtype (MPI's and NCCL's own rule); the data-parallel code guarantees it by construction (buckets
// launch in one fixed order). A failure of the library or of a peer becomes an mtmap::Error.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/device.h"
#include "engine/tensor/tensor.h"

namespace mtmap::dist {

// An operation in flight. wait() returns once its result is in the tensor it was started on (for
// NCCL: once later work on the compute stream is ordered after it; the host does not block).
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
  // Lets the library move the operation on without blocking (MPI progresses a nonblocking
  // collective only inside MPI calls); the data-parallel code calls it between buckets.
  virtual void poll() {}
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "mpi" or "nccl", for messages
  // Where its tensors must live: the CPU for MPI, the rank's own GPU for NCCL.
  virtual Device device() const = 0;

  // In place, every rank's `t` (contiguous, on device()) becomes the elementwise sum over ranks.
  virtual std::unique_ptr<Work> all_reduce_sum_async(const Tensor& t) = 0;
  void all_reduce_sum(const Tensor& t) { all_reduce_sum_async(t)->wait(); }
  // Every rank's `t` (same shape on all ranks) concatenated along dim 0 in rank order.
  virtual Tensor all_gather(const Tensor& t) = 0;
  // In place: `t` on every rank becomes root's.
  virtual void broadcast(const Tensor& t, int root) = 0;
  // Rows (dim 0) sent to each rank: `send` holds send_rows[0] rows for rank 0, then send_rows[1]
  // for rank 1, …; the result holds recv_rows[0] rows from rank 0, then recv_rows[1] from rank 1, …
  // (the rows other ranks send here; the caller knows how many). Rows past dim 0 have one shape on
  // every rank. MoCo's shuffle-BN moves each clip to the rank that encodes it this way: N clips per
  // rank, where gathering every clip everywhere would move N·ranks.
  virtual Tensor all_to_all(const Tensor& send, const std::vector<int64_t>& send_rows,
                            const std::vector<int64_t>& recv_rows) = 0;
  virtual void barrier() = 0;
};

// Throws naming `what`, on every rank alike, unless every rank holds the same `value` (a config
// hash, a checkpoint step): the message lists the ranks that differ from rank 0 and both values as
// this rank sees them. Collective: every rank must call it.
void require_same(Communicator& comm, const std::string& what, const std::string& value);

// Runs an in-place collective on a small host tensor: on the tensor itself for a CPU communicator,
// on a copy on its GPU (and back) for NCCL. Returns the host tensor with the result.
Tensor host_collective(Communicator& comm, const Tensor& host, const std::function<void(const Tensor&)>& collective);

// Runs `decide` on rank 0 alone (what only one rank may do: read a folder the others would race
// with, write it) and gives every rank its outcome: the string it returned, or its error, thrown on
// every rank alike. With no communicator, or a group of one, it is just decide(). Collective.
std::string root_decides(Communicator* comm, const std::function<std::string()>& decide);

// Broadcasts a string from `root` (collective); returns root's string on every rank.
std::string broadcast_string(Communicator& comm, const std::string& value, int root);

// Checks `t` for a collective (contiguous, on the communicator's device); `op` names the caller.
void check_collective_tensor(const Communicator& comm, const Tensor& t, const char* op);
// Checks all_to_all's row counts against `send` (one count per rank, summing to its rows) and
// returns the shape of the rows it receives.
Shape all_to_all_shape(const Communicator& comm, const Tensor& send, const std::vector<int64_t>& send_rows,
                       const std::vector<int64_t>& recv_rows);

}  // namespace mtmap::dist
