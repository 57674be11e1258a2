#include "engine/dist/nccl_communicator.h"

#include <cstring>

#include "engine/core/device_support.h"
#include "engine/core/error.h"
#ifdef MTMAP_WITH_NCCL
#include <nccl.h>

#include "engine/context/execution_context.h"
#include "engine/cuda/stream.h"
#endif

namespace mtmap::dist {

#ifdef MTMAP_WITH_NCCL
namespace {

void nccl_check(ncclResult_t rc, const char* what) {
  if (rc == ncclSuccess) return;
  MTMAP_FAIL("{} failed: {} ({}; NCCL_DEBUG=INFO shows NCCL's own account)", what, ncclGetErrorString(rc),
             int(rc));
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::bf16: return ncclBfloat16;
    case DType::i64: return ncclInt64;
    case DType::i32: return ncclInt32;
    case DType::u8: return ncclUint8;
  }
  MTMAP_FAIL("NCCL: no datatype for {}", dtype_name(t));
}

class NcclCommunicator;

// Done once the compute stream waits for the collective's event: no host block.
class NcclWork final : public Work {
 public:
  NcclWork(const cuda::Stream& comm_stream, const cuda::Stream& compute) : compute_(compute) {
    done_.record(comm_stream.get());
  }
  void wait() override {
    if (!waited_) compute_.wait(done_);
    waited_ = true;
  }

 private:
  cuda::Event done_;
  const cuda::Stream& compute_;
  bool waited_ = false;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(Communicator* host, Device device) : device_(device), stream_(device.index) {
    ExecutionContext::current(device_);  // makes the GPU current on this thread
    ncclUniqueId id;
    std::memset(&id, 0, sizeof id);
    rank_ = host ? host->rank() : 0;
    size_ = host ? host->size() : 1;
    if (rank_ == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    if (host) {
      Tensor bytes = zeros({int64_t(sizeof id)}, DType::u8);
      std::memcpy(bytes.data<uint8_t>(), &id, sizeof id);
      host->broadcast(bytes, 0);
      std::memcpy(&id, bytes.data<uint8_t>(), sizeof id);
    }
    nccl_check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
  }
  ~NcclCommunicator() override {
    if (comm_) {
      stream_.synchronize();
      ncclCommDestroy(comm_);
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "NCCL"; }
  Device device() const override { return device_; }

  std::unique_ptr<Work> all_reduce_sum_async(const Tensor& t) override {
    check_collective_tensor(*this, t, "all-reduce");
    const cuda::Stream& compute = begin();
    nccl_check(ncclAllReduce(t.raw(), t.raw(), size_t(t.numel()), nccl_type(t.dtype()), ncclSum, comm_,
                             stream_.get()),
               "ncclAllReduce");
    return std::make_unique<NcclWork>(stream_, compute);
  }
  Tensor all_gather(const Tensor& t) override {
    check_collective_tensor(*this, t, "all-gather");
    Shape shape = t.shape();
    MTMAP_CHECK(!shape.empty(), "NCCL all-gather of a scalar: gather a (1,) tensor");
    shape[0] *= size_;
    Tensor out = empty(shape, t.dtype(), device_);
    const cuda::Stream& compute = begin();
    nccl_check(ncclAllGather(t.raw(), out.raw(), size_t(t.numel()), nccl_type(t.dtype()), comm_, stream_.get()),
               "ncclAllGather");
    NcclWork(stream_, compute).wait();
    return out;
  }
  void broadcast(const Tensor& t, int root) override {
    check_collective_tensor(*this, t, "broadcast");
    const cuda::Stream& compute = begin();
    nccl_check(ncclBroadcast(t.raw(), t.raw(), size_t(t.numel()), nccl_type(t.dtype()), root, comm_, stream_.get()),
               "ncclBroadcast");
    NcclWork(stream_, compute).wait();
  }
  Tensor all_to_all(const Tensor& send, const std::vector<int64_t>& send_rows,
                    const std::vector<int64_t>& recv_rows) override {
    const Shape shape = all_to_all_shape(*this, send, send_rows, recv_rows);
    Tensor out = empty(shape, send.dtype(), device_);
    const int64_t row = shape_numel(shape) / std::max<int64_t>(1, shape[0]);
    const size_t elem = dtype_size(send.dtype());
    const cuda::Stream& compute = begin();
    // One group of point-to-point calls: NCCL runs them as one all-to-all.
    nccl_check(ncclGroupStart(), "ncclGroupStart");
    int64_t so = 0, ro = 0;
    for (int r = 0; r < size_; ++r) {
      const int64_t s_n = send_rows[size_t(r)] * row, r_n = recv_rows[size_t(r)] * row;
      if (s_n > 0)
        nccl_check(ncclSend(static_cast<const char*>(send.raw()) + size_t(so) * elem, size_t(s_n),
                            nccl_type(send.dtype()), r, comm_, stream_.get()),
                   "ncclSend");
      if (r_n > 0)
        nccl_check(ncclRecv(static_cast<char*>(out.raw()) + size_t(ro) * elem, size_t(r_n), nccl_type(send.dtype()),
                            r, comm_, stream_.get()),
                   "ncclRecv");
      so += s_n, ro += r_n;
    }
    nccl_check(ncclGroupEnd(), "ncclGroupEnd");
    NcclWork(stream_, compute).wait();
    return out;
  }
  void barrier() override {
    // NCCL has no barrier: an all-reduce of one value, waited for on the host.
    Tensor one = zeros({1}, DType::f32, device_);
    all_reduce_sum(one);
    ExecutionContext::current(device_).synchronize();
  }

 private:
  // The collective's stream waits for everything the compute stream has been given so far (the
  // tensor's producers).
  const cuda::Stream& begin() {
    const cuda::Stream& compute = ExecutionContext::current(device_).compute_stream();
    cuda::Event ready;
    ready.record(compute.get());
    stream_.wait(ready);
    return compute;
  }

  Device device_;
  cuda::Stream stream_;
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_nccl_communicator(Communicator* host, Device device) {
  require_device(device, "the NCCL communicator's device");
  MTMAP_CHECK(device.is_cuda(), "NCCL works on GPU tensors; the device given is {}", device.str());
  return std::make_unique<NcclCommunicator>(host, device);
}

#else

std::unique_ptr<Communicator> make_nccl_communicator(Communicator* host, Device device) {
  (void)host;
  MTMAP_FAIL("data parallel training on {} needs NCCL, and this build of mtmap has none (it needs the CUDA backend "
             "and libnccl; CMake reports what it found)",
             device.str());
}

#endif

}  // namespace mtmap::dist
