// End-to-end parity with PyTorch: tools/torch_reference.py builds the same tiny 3D ResNet, and this
// test loads its weights, then compares the forward pass (every block output, features,
// embedding), the loss, every gradient, the running statistics, three SGD steps' losses and the
// weights after them; finally PyTorch loads mtmap's checkpoint strictly. float64 to 1e-10
// (relative to each tensor's largest value), float32 to 1e-4; after three SGD steps 1e-7 and 1e-3. Skipped (exit 77) where PyTorch is
// not installed.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "tests/model/parity_error.h"
#include "engine/nn/flat_parameters.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/optim/sgd.h"
#include "formats/safetensors.h"
#include "models/resnet3d.h"

using namespace mtmap;

namespace {

struct Reference {
  std::string dir;
  int status = 0;  // the script's exit status
};

Reference make_reference(const std::string& dtype, const std::string& stem) {
  Reference r;
  r.dir = (std::filesystem::temp_directory_path() / fmt::format("mtmap_torch_{}_{}_{}", ::getpid(), dtype, stem)).string();
  std::filesystem::create_directories(r.dir);
  std::string cmd = fmt::format("{} {}/tools/torch_reference.py {} --dtype {} --stem {}", MTMAP_TORCH_PYTHON, MTMAP_SOURCE_DIR,
                                r.dir, dtype, stem);
  int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
  return r;
}

using test::relative_error;

void expect_close(const std::string& what, const Tensor& ours, const Tensor& ref, double tol) {
  INFO(what << ": ours " << ours.str() << " reference " << ref.str());
  REQUIRE(ours.shape() == ref.shape());
  double err = relative_error(ours, ref);
  INFO("relative error " << err << " (tolerance " << tol << ")");
  CHECK(err <= tol);
}

// tol: forward, loss and gradients. sgd_tol: the losses and weights after SGD steps, where the
// summation-order differences of the first gradients (~1e-12 in float64) are amplified by the
// updates through batch norm over few values per channel.
void run_parity(const std::string& dtype_name_, const std::string& stem, double tol, double sgd_tol) {
  Reference ref = make_reference(dtype_name_, stem);
  if (ref.status == 77) throw std::runtime_error("skip");
  REQUIRE(ref.status == 0);
  formats::SafetensorsFile file = formats::load_safetensors(ref.dir + "/reference.safetensors");
  DType dtype = dtype_name_ == "f64" ? DType::f64 : DType::f32;

  models::ResNet3dConfig c;
  c.stem = stem == "r3d" ? models::Stem::r3d : models::Stem::hara;
  c.width = 4;
  c.projection_dim = 16;
  c.dtype = dtype;
  Generator g(1);
  models::ResNet3d net(c, g);
  formats::load_module(ref.dir + "/weights.safetensors", net);  // PyTorch → mtmap
  nn::FlatParameters flat(net);

  Tensor x = file.at("input").detach();
  x.set_requires_grad(true);
  Tensor proj = file.at("projection"), fproj = file.at("feature_projection");
  auto loss_of = [&](const models::ResNet3dOutput& o) {
    return add(sum(mul(o.embedding, proj)), mul(sum(mul(o.features, fproj)), 0.1));
  };
  models::ResNet3dOutput out = net.forward(x, net.block_names());
  for (const std::string& b : net.block_names()) expect_close("block " + b, out.blocks.at(b), file.at("block." + b), tol);
  expect_close("features", out.features, file.at("features"), tol);
  expect_close("embedding", out.embedding, file.at("embedding"), tol);
  Tensor loss = loss_of(out);
  expect_close("loss", loss.reshape({1}), file.at("loss"), tol);
  loss.backward();
  expect_close("grad.input", x.grad(), file.at("grad.input"), tol);
  for (const nn::NamedTensor& p : net.named_parameters())
    expect_close("grad." + p.name, p.tensor.grad(), file.at("grad." + p.name), tol);
  for (const nn::NamedTensor& b : net.named_buffers())
    expect_close("buffer." + b.name, b.tensor.to(DType::f64), file.at("buffer." + b.name).to(DType::f64), tol);

  optim::Sgd sgd(flat, {0.9, 1e-4});
  std::vector<double> expected = file.at("sgd_losses").to_vector<double>();
  for (size_t step = 0; step < expected.size(); ++step) {
    sgd.step(0.02);
    flat.zero_grad();
    Tensor l = loss_of(net.forward(x.detach()));
    INFO("SGD step " << step);
    CHECK(std::fabs(l.item() - expected[step]) <= sgd_tol * std::max(1.0, std::fabs(expected[step])));
    l.backward();
  }
  double worst_after = 0;
  for (const nn::NamedTensor& p : net.named_parameters()) {
    expect_close("after SGD " + p.name, p.tensor, file.at("after." + p.name), sgd_tol);
    worst_after = std::max(worst_after, relative_error(p.tensor, file.at("after." + p.name)));
  }
  // The margin, for the log: a case whose error sits near its tolerance depends on the machine's
  // summation order (another CPU's BLAS kernels) and must be made better posed, not loosened.
  fmt::print("parity {} {}: weights after {} SGD steps within {:.2e} of PyTorch's (tolerance {:.0e})\n", dtype_name_,
             stem, expected.size(), worst_after, sgd_tol);

  // mtmap → PyTorch: our checkpoint loads into the PyTorch model with strict names and shapes.
  std::string ours = ref.dir + "/mtmap.safetensors";
  formats::save_module(ours, net);
  // MTMAP_PARITY_KEEP=DIR keeps the weights after the SGD steps, to compare two builds bit for bit
  // (a refactor of the engine must not change a CPU result).
  if (const char* keep = std::getenv("MTMAP_PARITY_KEEP"))
    std::filesystem::copy_file(ours, fmt::format("{}/{}_{}.safetensors", keep, dtype_name_, stem),
                               std::filesystem::copy_options::overwrite_existing);
  std::string cmd = fmt::format("{} {}/tools/torch_reference.py --check-load {} --stem {}", MTMAP_TORCH_PYTHON,
                                MTMAP_SOURCE_DIR, ours, stem);
  CHECK(std::system(cmd.c_str()) == 0);
  std::filesystem::remove_all(ref.dir);
}

}  // namespace

TEST_CASE("PyTorch parity f64 r3d stem", "[torch]") { run_parity("f64", "r3d", 1e-10, 1e-7); }
TEST_CASE("PyTorch parity f64 Hara stem", "[torch]") { run_parity("f64", "hara", 1e-10, 1e-7); }
TEST_CASE("PyTorch parity f32 r3d stem", "[torch]") { run_parity("f32", "r3d", 1e-4, 1e-3); }
