#include "engine/ops/copy.h"

#include <cstring>

#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/backend/backend.h"
#include "engine/core/device_support.h"
#include "engine/ops/checks.h"

namespace mtmap {

void copy_into(const Tensor& dst, const Tensor& src) {
  checks::same_device("copy_into", {&dst, &src});
  Tensor s = src.shape() == dst.shape() ? src : broadcast_to(src.detach(), dst.shape(), "copy_into");
  CopyParams p;
  p.n = dst.numel();
  p.src = s.indexer();
  p.dst = dst.indexer();
  if (p.n == 0) return;
  backend_of(dst.device()).copy(s.dtype(), dst.dtype(), p, s.raw(), dst.raw());
}

Tensor convert(const Tensor& t, DType dtype, bool force_copy) {
  if (!force_copy && dtype == t.dtype() && t.is_contiguous()) return t;
  Tensor out = empty(t.shape(), dtype, t.device());
  copy_into(out, t);
  if (autograd::needs_grad({&t}) && is_floating(dtype)) {
    DType in_dtype = t.dtype();
    autograd::record(dtype == t.dtype() ? "contiguous" : "to_dtype", {t}, out,
                     [in_dtype](const Tensor& g, const std::vector<bool>&) {
                       return std::vector<Tensor>{g.to(in_dtype)};
                     });
  }
  return out;
}

Tensor transfer(const Tensor& t, Device device) {
  if (device == t.device()) return t;
  require_device(device, "to(device)");
  Tensor src = t.contiguous();
  Tensor out = empty(t.shape(), t.dtype(), device);
  size_t bytes = t.nbytes();
  if (bytes > 0) {
    const Backend& from = backend_of(src.device());
    const Backend& to = backend_of(device);
    if (src.device().is_cpu())
      to.copy_from_host(out.raw(), src.raw(), bytes);
    else if (device.is_cpu())
      from.copy_to_host(out.raw(), src.raw(), bytes);
    else
      to.copy_from_peer(out.raw(), from, src.raw(), bytes);
  }
  if (autograd::needs_grad({&t})) {
    Device in_device = t.device();
    autograd::record("to_device", {t}, out, [in_device](const Tensor& g, const std::vector<bool>&) {
      return std::vector<Tensor>{g.to(in_device)};
    });
  }
  return out;
}

Tensor Tensor::to(Device d) const { return transfer(*this, d); }
Tensor Tensor::to(DType t) const { return t == dtype() ? *this : convert(*this, t, false); }
Tensor Tensor::contiguous() const { return is_contiguous() ? *this : convert(*this, dtype(), true); }

}  // namespace mtmap
