#include "losses/spatial_loss.h"

#include "engine/autograd/node.h"
#include "engine/backend/backend.h"
#include "engine/ops/checks.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/index.h"
#include "engine/ops/reduce.h"

namespace mtmap::losses {

SpatialLossForm parse_spatial_loss_form(const std::string& name) {
  if (name == "relative") return SpatialLossForm::relative;
  if (name == "absolute") return SpatialLossForm::absolute;
  MTMAP_FAIL("spatial loss form '{}': expected 'relative' or 'absolute'", name);
}

Tensor inverse_distance(const Tensor& positions) {
  MTMAP_CHECK(positions.ndim() == 2 && positions.size(1) == 2, "inverse_distance: positions {} must be (M, 2)",
              shape_str(positions.shape()));
  MTMAP_CHECK(!positions.requires_grad(), "inverse_distance: positions {} require grad; positions are fixed constants",
              shape_str(positions.shape()));
  Tensor diff = sub(positions.unsqueeze(1), positions.unsqueeze(0));  // (M, M, 2)
  Tensor d = sqrt(sum(mul(diff, diff), {2}));
  return rdiv(1.0, add(d, 1.0));
}

Tensor spatial_loss(const Tensor& x_in, const Tensor& target_in, SpatialLossForm form) {
  MTMAP_CHECK(x_in.ndim() == 2 && x_in.size(0) >= 2 && x_in.size(1) >= 3,
              "spatial_loss: responses {} must be (B, M) with B >= 2 samples and M >= 3 units",
              shape_str(x_in.shape()));
  const int64_t B = x_in.size(0), M = x_in.size(1);
  MTMAP_CHECK(target_in.shape() == Shape({M, M}), "spatial_loss: target {} must be (M, M) = [{}, {}] for responses {}",
              shape_str(target_in.shape()), M, M, shape_str(x_in.shape()));
  MTMAP_CHECK(!target_in.requires_grad(),
              "spatial_loss: target {} requires grad; the loss is differentiable in the responses only",
              shape_str(target_in.shape()));
  MTMAP_CHECK(x_in.dtype() == DType::f32 || x_in.dtype() == DType::f64, "spatial_loss: dtype {} (f32 or f64)",
              dtype_name(x_in.dtype()));
  checks::same_dtype("spatial_loss", x_in, target_in);
  checks::same_device("spatial_loss", {&x_in, &target_in});
  Tensor x = x_in.detach().contiguous(), target = target_in.detach().contiguous();
  SpatialLossParams p{B, M, M, form};
  const Device dev = x.device();
  const DType t = x.dtype();
  Tensor loss = empty({}, t, dev);
  backend_of(dev).spatial_loss_forward(t, p, x.raw(), target.raw(), loss.raw());
  if (autograd::needs_grad({&x_in}))
    autograd::record("spatial_loss", {x_in, target_in}, loss,
                     [x, target, p](const Tensor& g_in, const std::vector<bool>&) {
                       Tensor dx = empty(x.shape(), x.dtype(), x.device());
                       Tensor g = g_in.to(x.dtype()).contiguous();
                       backend_of(x.device()).spatial_loss_backward(x.dtype(), p, x.raw(), target.raw(), g.raw(), dx.raw());
                       return std::vector<Tensor>{dx, Tensor()};
                     });
  return loss;
}

Tensor unit_responses(const Tensor& block) {
  MTMAP_CHECK(block.ndim() == 5, "unit_responses: block output {} must be (N, C, T, H, W)", shape_str(block.shape()));
  const int64_t N = block.size(0), U = block.size(1) * block.size(3) * block.size(4);
  return mean(block, {2}).reshape({N, U});
}

Tensor block_spatial_loss(const Tensor& block, const Tensor& window, const Tensor& positions, SpatialLossForm form) {
  MTMAP_CHECK(block.ndim() == 5, "block_spatial_loss: block output {} must be (N, C, T, H, W)",
              shape_str(block.shape()));
  const int64_t U = block.size(1) * block.size(3) * block.size(4);
  MTMAP_CHECK(window.ndim() == 1 && window.dtype() == DType::i64,
              "block_spatial_loss: window {} ({}) must be a 1-D i64 tensor of unit indices", shape_str(window.shape()),
              dtype_name(window.dtype()));
  MTMAP_CHECK(positions.shape() == Shape({U, 2}),
              "block_spatial_loss: positions {} must be (U, 2) = [{}, 2] for block output {}",
              shape_str(positions.shape()), U, shape_str(block.shape()));
  Tensor x = index_select(unit_responses(block), 1, window);  // (N, M)
  Tensor target = inverse_distance(index_select(positions, 0, window).to(x.dtype()));
  return spatial_loss(x, target, form);
}

}  // namespace mtmap::losses
