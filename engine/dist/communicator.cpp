#include "engine/dist/communicator.h"

#include <cstring>

#include "engine/core/error.h"

namespace mtmap::dist {

void check_collective_tensor(const Communicator& comm, const Tensor& t, const char* op) {
  MTMAP_CHECK(t.defined(), "{} {}: an undefined tensor", comm.name(), op);
  MTMAP_CHECK(t.device() == comm.device(), "{} {}: the tensor is on {} but this communicator works on {}",
              comm.name(), op, t.device().str(), comm.device().str());
  MTMAP_CHECK(t.is_contiguous(), "{} {}: the tensor {} is not contiguous", comm.name(), op, t.str());
}

Shape all_to_all_shape(const Communicator& comm, const Tensor& send, const std::vector<int64_t>& send_rows,
                       const std::vector<int64_t>& recv_rows) {
  check_collective_tensor(comm, send, "all-to-all");
  MTMAP_CHECK(send.ndim() >= 1, "{} all-to-all of a scalar", comm.name());
  MTMAP_CHECK(int(send_rows.size()) == comm.size() && int(recv_rows.size()) == comm.size(),
              "{} all-to-all: {} send and {} receive counts for {} ranks", comm.name(), send_rows.size(),
              recv_rows.size(), comm.size());
  int64_t sent = 0, received = 0;
  for (int r = 0; r < comm.size(); ++r) {
    MTMAP_CHECK(send_rows[size_t(r)] >= 0 && recv_rows[size_t(r)] >= 0, "{} all-to-all: a negative row count",
                comm.name());
    sent += send_rows[size_t(r)];
    received += recv_rows[size_t(r)];
  }
  MTMAP_CHECK(sent == send.size(0), "{} all-to-all: the counts send {} rows of a tensor of {}", comm.name(), sent,
              send.size(0));
  Shape shape = send.shape();
  shape[0] = received;
  return shape;
}

Tensor host_collective(Communicator& comm, const Tensor& host, const std::function<void(const Tensor&)>& collective) {
  if (comm.device().is_cpu()) {
    collective(host);
    return host;
  }
  const Tensor d = host.to(comm.device());
  collective(d);
  return d.to(Device::cpu());
}

std::string broadcast_string(Communicator& comm, const std::string& value, int root) {
  // Strings travel through the communicator's device as bytes: a length, then the bytes.
  auto bcast = [&](const Tensor& t) { comm.broadcast(t, root); };
  const Tensor len = host_collective(comm, full({1}, double(value.size()), DType::i64), bcast);
  const int64_t n = len.data<int64_t>()[0];
  if (n == 0) return "";
  Tensor bytes = zeros({n}, DType::u8);
  if (comm.rank() == root) std::memcpy(bytes.data<uint8_t>(), value.data(), size_t(n));
  bytes = host_collective(comm, bytes, bcast);
  return std::string(reinterpret_cast<const char*>(bytes.data<uint8_t>()), size_t(n));
}

std::string root_decides(Communicator* comm, const std::function<std::string()>& decide) {
  if (!comm || comm->size() == 1) return decide();
  std::string value, error;
  if (comm->rank() == 0) {
    try {
      value = decide();
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = broadcast_string(*comm, error, 0);
  if (!error.empty()) throw Error(error);
  return broadcast_string(*comm, value, 0);
}

void require_same(Communicator& comm, const std::string& what, const std::string& value) {
  const std::string first = broadcast_string(comm, value, 0);
  // One flag per rank, summed: every rank learns which ranks differ, so all throw alike.
  Tensor flags = zeros({comm.size()}, DType::i64);
  flags.data<int64_t>()[comm.rank()] = first == value ? 0 : 1;
  flags = host_collective(comm, flags, [&](const Tensor& t) { comm.all_reduce_sum(t); });
  std::vector<int> differ;
  for (int r = 0; r < comm.size(); ++r)
    if (flags.data<int64_t>()[r] != 0) differ.push_back(r);
  if (differ.empty()) return;
  MTMAP_FAIL("the ranks disagree on {}: rank{} {} differ{} from rank 0's '{}'{}", what, differ.size() > 1 ? "s" : "",
             fmt::join(differ, ", "), differ.size() > 1 ? "" : "s", first,
             first == value ? "" : fmt::format(" (this rank, {}, has '{}')", comm.rank(), value));
}

}  // namespace mtmap::dist
