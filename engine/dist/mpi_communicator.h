#pragma once
// The Communicator over MPI (OpenMPI from Debian), for CPU tensors. Only compiled with MPI
// (MTMAP_WITH_MPI); made through world_communicator (world.h).
#include <mpi.h>

#include "engine/dist/communicator.h"

namespace mtmap::dist {

class MpiCommunicator final : public Communicator {
 public:
  // Wraps `comm` (errors returned, not fatal, so they become mtmap::Errors). Finalises MPI on
  // destruction when `owns_mpi`.
  MpiCommunicator(MPI_Comm comm, bool owns_mpi);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "MPI"; }
  Device device() const override { return Device::cpu(); }
  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& t) override;
  Tensor all_gather(const Tensor& t) override;
  void broadcast(const Tensor& t, int root) override;
  Tensor all_to_all(const Tensor& send, const std::vector<int64_t>& send_rows,
                    const std::vector<int64_t>& recv_rows) override;
  void barrier() override;
  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_;
  bool owns_mpi_;
  int rank_ = 0, size_ = 1;
};

// Throws an mtmap::Error with MPI's own text unless `rc` is MPI_SUCCESS; `what` names the call.
void mpi_check(int rc, const char* what);

}  // namespace mtmap::dist
