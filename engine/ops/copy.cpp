#include "engine/ops/copy.h"

#include <cstring>

#include "engine/autograd/node.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/cpu_kernels.h"

#ifdef MTMAP_WITH_CUDA
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/context.h"
#include "kernels/cuda/cuda_kernels.h"
#endif

namespace mtmap {

void copy_into(const Tensor& dst, const Tensor& src) {
  detail::check_same_device("copy_into", {&dst, &src});
  Tensor s = src.shape() == dst.shape() ? src : broadcast_to(src.detach(), dst.shape(), "copy_into");
  CopyParams p;
  p.n = dst.numel();
  p.src = s.indexer();
  p.dst = dst.indexer();
  if (p.n == 0) return;
  if (dst.device().is_cpu())
    cpu::copy(s.dtype(), dst.dtype(), p, s.raw(), dst.raw());
  else
    MTMAP_ON_CUDA("copy_into", cuda::copy(s.dtype(), dst.dtype(), p, s.raw(), dst.raw(),
                                          detail::stream_of(dst.device())));
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
#ifdef MTMAP_WITH_CUDA
  if (bytes > 0) {
    if (src.device().is_cpu()) {
      auto& ctx = cuda::context(device.index);
      CUDA_CHECK(cudaMemcpyAsync(out.raw(), src.raw(), bytes, cudaMemcpyHostToDevice, ctx.stream()));
      ctx.synchronize();  // the host buffer may be freed as soon as we return
    } else if (device.is_cpu()) {
      auto& ctx = cuda::context(src.device().index);
      CUDA_CHECK(cudaMemcpyAsync(out.raw(), src.raw(), bytes, cudaMemcpyDeviceToHost, ctx.stream()));
      ctx.synchronize();
    } else {
      auto& from = cuda::context(src.device().index);
      auto& to = cuda::context(device.index);
      from.synchronize();
      CUDA_CHECK(cudaMemcpyPeerAsync(out.raw(), device.index, src.raw(), src.device().index, bytes, to.stream()));
      to.synchronize();
    }
  }
#else
  (void)bytes;
  detail::no_cuda_build("to(device)");
#endif
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
