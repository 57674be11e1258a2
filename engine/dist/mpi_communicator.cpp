#include "engine/dist/mpi_communicator.h"

#include "engine/core/error.h"

namespace mtmap::dist {
namespace {

// MPI's datatype for an element; bf16 moves as 16-bit words (it cannot be summed by MPI).
MPI_Datatype mpi_type(DType t, bool for_sum) {
  switch (t) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i64: return MPI_INT64_T;
    case DType::i32: return MPI_INT32_T;
    case DType::u8: return MPI_UINT8_T;
    case DType::bf16:
      MTMAP_CHECK(!for_sum, "MPI all-reduce of a bf16 tensor: MPI has no bf16 sum; reduce in f32");
      return MPI_UINT16_T;
  }
  MTMAP_FAIL("MPI: no datatype for {}", dtype_name(t));
}

int count_of(const Tensor& t) {
  MTMAP_CHECK(t.numel() <= int64_t(INT32_MAX), "MPI: {} elements in one call exceed MPI's int count", t.numel());
  return int(t.numel());
}

class MpiWork final : public Work {
 public:
  explicit MpiWork(MPI_Request r) : request_(r) {}
  ~MpiWork() override {
    // An operation still in flight must finish before its buffer can go.
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override { mpi_check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait (all-reduce)"); }
  void poll() override {
    int done = 0;
    if (request_ != MPI_REQUEST_NULL) mpi_check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "MPI_Test");
  }

 private:
  MPI_Request request_;
};

}  // namespace

void mpi_check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  MTMAP_FAIL("{} failed: {} (a peer rank may have died; see the launcher's messages)", what, std::string(text, len));
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm, bool owns_mpi) : comm_(comm), owns_mpi_(owns_mpi) {
  mpi_check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_mpi_ && !finalized) MPI_Finalize();
}

std::unique_ptr<Work> MpiCommunicator::all_reduce_sum_async(const Tensor& t) {
  check_collective_tensor(*this, t, "all-reduce");
  MPI_Request r = MPI_REQUEST_NULL;
  mpi_check(MPI_Iallreduce(MPI_IN_PLACE, t.raw(), count_of(t), mpi_type(t.dtype(), true), MPI_SUM, comm_, &r),
            "MPI_Iallreduce");
  return std::make_unique<MpiWork>(r);
}

Tensor MpiCommunicator::all_gather(const Tensor& t) {
  check_collective_tensor(*this, t, "all-gather");
  Shape shape = t.shape();
  MTMAP_CHECK(!shape.empty(), "MPI all-gather of a scalar: gather a (1,) tensor");
  shape[0] *= size_;
  Tensor out = empty(shape, t.dtype());
  const MPI_Datatype type = mpi_type(t.dtype(), false);
  mpi_check(MPI_Allgather(t.raw(), count_of(t), type, out.raw(), count_of(t), type, comm_), "MPI_Allgather");
  return out;
}

void MpiCommunicator::broadcast(const Tensor& t, int root) {
  check_collective_tensor(*this, t, "broadcast");
  MTMAP_CHECK(root >= 0 && root < size_, "MPI broadcast from rank {} of {}", root, size_);
  mpi_check(MPI_Bcast(t.raw(), count_of(t), mpi_type(t.dtype(), false), root, comm_), "MPI_Bcast");
}

Tensor MpiCommunicator::all_to_all(const Tensor& send, const std::vector<int64_t>& send_rows,
                                   const std::vector<int64_t>& recv_rows) {
  const Shape shape = all_to_all_shape(*this, send, send_rows, recv_rows);
  Tensor out = empty(shape, send.dtype());
  const int64_t row = shape_numel(shape) / std::max<int64_t>(1, shape[0]);
  const size_t ranks = static_cast<size_t>(size_);
  std::vector<int> sc(ranks), sd(ranks), rc(ranks), rd(ranks);
  int64_t so = 0, ro = 0;
  for (size_t r = 0; r < size_t(size_); ++r) {
    const int64_t s_n = send_rows[r] * row, r_n = recv_rows[r] * row;
    MTMAP_CHECK(so + s_n <= INT32_MAX && ro + r_n <= INT32_MAX, "MPI all-to-all: over MPI's int count");
    sc[r] = int(s_n), sd[r] = int(so), rc[r] = int(r_n), rd[r] = int(ro);
    so += s_n, ro += r_n;
  }
  const MPI_Datatype type = mpi_type(send.dtype(), false);
  mpi_check(MPI_Alltoallv(send.raw(), sc.data(), sd.data(), type, out.raw(), rc.data(), rd.data(), type, comm_),
            "MPI_Alltoallv");
  return out;
}

void MpiCommunicator::barrier() { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

}  // namespace mtmap::dist
