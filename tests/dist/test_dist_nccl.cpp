// NCCL on the GPUs of this process (one rank per GPU needs one process per GPU; a single process
// holds a group of one): the collectives against the CPU's answer, and a MoCo step through a
// 1-rank NCCL group (buckets, its stream and events) equal to the step with no communicator.
// Skipped (77) without a GPU; run for real by tools/device-check.sh.
#include <catch2/catch.hpp>

#include "cortex/sheet.h"
#include "engine/dist/nccl_communicator.h"
#include "engine/ops/elementwise.h"
#include "engine/random/generator.h"
#include "tests/training/training_fixtures.h"
#include "training/initial_model.h"
#include "training/moco.h"

using namespace mtmap;

namespace {
std::vector<double> values(const Tensor& t) { return t.to(Device::cpu()).to(DType::f64).contiguous().to_vector<double>(); }
}  // namespace

TEST_CASE("nccl: a group of one sums, gathers, broadcasts and exchanges rows exactly", "[dist][nccl][cuda]") {
  const Device gpu = Device::parse("cuda:0");
  std::unique_ptr<dist::Communicator> nccl = dist::make_nccl_communicator(nullptr, gpu);
  REQUIRE(nccl->size() == 1);
  CHECK(nccl->device() == gpu);
  for (DType t : {DType::f32, DType::f64, DType::bf16, DType::i64}) {
    INFO(dtype_name(t));
    Generator g(3);
    const Tensor host = randn({7, 5}, g, DType::f32).to(t);
    Tensor d = host.to(gpu);
    nccl->all_reduce_sum(d);
    CHECK(values(d) == values(host));
    CHECK(values(nccl->all_gather(host.to(gpu))) == values(host));
    Tensor b = host.to(gpu);
    nccl->broadcast(b, 0);
    CHECK(values(b) == values(host));
    CHECK(values(nccl->all_to_all(host.to(gpu), {7}, {7})) == values(host));
  }
  // Several all-reduces in flight, waited for out of order, then used by the compute stream.
  Tensor a = full({1 << 20}, 1.5, DType::f32, gpu), c = full({3}, 2.0, DType::f64, gpu);
  auto wa = nccl->all_reduce_sum_async(a);
  auto wc = nccl->all_reduce_sum_async(c);
  wc->wait();
  wa->wait();
  CHECK(values(mul(a, 2.0))[12345] == 3.0);
  CHECK_THROWS_WITH(nccl->all_reduce_sum(zeros({2})), Catch::Contains("cpu") && Catch::Contains("cuda:0"));
}

TEST_CASE("nccl: a MoCo step through a 1-rank NCCL group equals the step with no communicator",
          "[dist][nccl][cuda]") {
  const Device gpu = Device::parse("cuda:0");
  training::TrainConfig c = test::smoke_config();
  c.training.tf32 = false;
  std::unique_ptr<dist::Communicator> nccl = dist::make_nccl_communicator(nullptr, gpu);
  Generator data(9);
  const int64_t N = c.training.batch_size;
  const Tensor xq = randn({N, 3, c.model.frames, c.model.size, c.model.size}, data);
  const Tensor xk = randn({N, 3, c.model.frames, c.model.size, c.model.size}, data);
  auto step = [&](dist::Communicator* comm) {
    training::InitialModel m = training::init_model(c.model, 3, c.sheets.blocks);
    Generator queue_gen(4), windows(8), hoods(5);
    training::MocoTrainer t(m.net, c.training, gpu, queue_gen, comm);
    std::vector<training::SpatialTerm> terms;
    for (const auto& s : m.sheets)
      terms.push_back({s.block, c.alpha(s.block), s.positions.to(gpu),
                       cortex::neighbourhoods(s.positions, s.neighbourhood_mm, hoods, c.sheets.neighbourhoods)});
    const double loss = t.step(xq, xk, terms, windows, 0.05, 1).loss;
    return std::make_pair(loss, values(t.query_params().params()));
  };
  const auto [plain_loss, plain] = step(nullptr);
  const auto [nccl_loss, through] = step(nccl.get());
  CHECK(nccl_loss == plain_loss);
  CHECK(through == plain);
}
