// Out-of-range indices on the GPU are errors, as on the CPU: the index kernels record the first
// bad index they meet in their context's device-side record, and the context reports it at its
// next synchronisation point (engine/cuda/index_errors.h) as an mtmap::Error naming the op, the
// index, its position and the bound in the CPU check's words; after the report the context works
// on. Skipped (exit 77) without a GPU; run on the emulator in the EMU build.
#include <unistd.h>

#include <cstdio>
#include <functional>

#include <fmt/format.h>

#include "engine/context/execution_context.h"
#include "engine/core/error.h"
#include "engine/ops/index.h"
#include "tests/cuda/cuda_test_util.h"

namespace mtmap::test {
namespace {

Tensor on_gpu(const std::vector<int64_t>& v, const Shape& s) { return from_vector(v, s, DType::i64).to(gpu()); }

std::string cpu_words(const char* op, int64_t value, int64_t position, int64_t bound) {
  return fmt::format("{}: index {} at position {} is out of range [0, {})", op, value, position, bound);
}

// `run` enqueues the op and reaches a synchronisation point (its result copied to the host, or
// synchronize()); it must throw the error naming (op, value, position, bound), found on cuda:0
// by a kernel launched before the throwing call.
void check_reported(const std::function<void()>& run, const char* op, int64_t value, int64_t position,
                    int64_t bound) {
  const std::string want = cpu_words(op, value, position, bound);
  INFO("expecting: " << want);
  try {
    run();
    FAIL("no error");
  } catch (const Error& e) {
    const std::string got = e.what();
    CHECK_THAT(got, Catch::Contains(want));
#ifndef MTMAP_TEST_GPU_IS_CPU
    CHECK_THAT(got, Catch::Contains("found on cuda:0 by a kernel launched earlier"));
#endif
  }
}

// Synchronises cuda:0's current context once `result` has been computed (an empty result is
// never copied back to the host, so reading it is no synchronisation point).
void sync_after(const Tensor& /*result*/) { ExecutionContext::current(gpu()).synchronize(); }

// The good indices of the cases below, and the four ops on them against the CPU's, bit for bit.
void check_good_indices_match_cpu() {
  Generator gen(71);
  Tensor x = randn({4, 10}, gen, DType::f64), src = randn({4, 5}, gen, DType::f64);
  Tensor idx = from_vector<int64_t>({0, 2, 9, 9, 1}, {5});
  Tensor gidx = random_index({4, 5}, gen, 10);
  check_equal(index_select(x, 1, idx), index_select(x.to(gpu()), 1, idx.to(gpu())), "index_select");
  check_equal(index_add(x, 1, idx, src), index_add(x.to(gpu()), 1, idx.to(gpu()), src.to(gpu())), "index_add");
  check_equal(gather(x, 1, gidx), gather(x.to(gpu()), 1, gidx.to(gpu())), "gather");
  check_equal(scatter_add(x, 1, gidx, src), scatter_add(x.to(gpu()), 1, gidx.to(gpu()), src.to(gpu())),
              "scatter_add");
}

TEST_CASE("cuda index ops: a negative or too large index is an error naming op, index, position and bound",
          "[cuda][index][errors]") {
  Generator gen(70);
  for (DType t : float_types()) {
    Tensor x = random_input({4, 10}, gen, t).to(gpu());
    Tensor src = random_input({4, 5}, gen, t).to(gpu());
    for (int64_t bad : {int64_t(-1), int64_t(-1000), int64_t(10), int64_t(17)}) {
      INFO(dtype_name(t) << ", bad index " << bad);
      // 1-D index of index_select / index_add: the bad one at position 3.
      Tensor idx = on_gpu({0, 2, 9, bad, 1}, {5});
      check_reported([&] { index_select(x, 1, idx).to(Device::cpu()); }, "index_select", bad, 3, 10);
      check_reported([&] { index_add(x, 1, idx, src).to(Device::cpu()); }, "index_add", bad, 3, 10);
      // (4, 5) index of gather / scatter_add: the bad one at [2, 3], flat position 13.
      std::vector<int64_t> g(20, 4);
      g[13] = bad;
      Tensor gidx = on_gpu(g, {4, 5});
      check_reported([&] { gather(x, 1, gidx).to(Device::cpu()); }, "gather", bad, 13, 10);
      check_reported([&] { scatter_add(x, 1, gidx, src).to(Device::cpu()); }, "scatter_add", bad, 13, 10);
    }
  }
  check_good_indices_match_cpu();  // each report cleared the record: the context works on
}

TEST_CASE("cuda index ops: a bad index in a many-block launch on another axis is reported once",
          "[cuda][index][errors]") {
  // 300 × 20 outputs over several blocks and grid-stride steps: every thread meeting the bad
  // index tries to record it, and all of them saw the same position.
  Tensor x = zeros({300, 20}, DType::f32, gpu());
  Tensor idx = on_gpu({5, 299, 300, 0}, {4});
  check_reported([&] { index_select(x, 0, idx).to(Device::cpu()); }, "index_select", 300, 2, 300);
  check_reported([&] { index_add(x, 0, idx, ones({4, 20}, DType::f32, gpu())).to(Device::cpu()); }, "index_add",
                 300, 2, 300);
  std::vector<int64_t> g(size_t(7 * 20), 299);
  g[size_t(5 * 20 + 11)] = -3;  // gather / scatter_add on axis 0: index (7, 20), position 111
  Tensor gidx = on_gpu(g, {7, 20});
  check_reported([&] { gather(x, 0, gidx).to(Device::cpu()); }, "gather", -3, 111, 300);
  check_reported([&] { scatter_add(x, 0, gidx, ones({7, 20}, DType::f32, gpu())).to(Device::cpu()); },
                 "scatter_add", -3, 111, 300);
}

TEST_CASE("cuda index ops: of many bad indices in one launch the lowest-positioned is reported, as on the CPU",
          "[cuda][index][errors]") {
  // Bad indices scattered over many blocks, met by threads in whatever order the device (or the
  // emulator's schedule) runs them: the report names the lowest position, the CPU check's.
  Tensor x = zeros({4, 10}, DType::f32, gpu());
  std::vector<int64_t> g(size_t(4 * 1000), 7);
  for (size_t at = 1003; at < g.size(); at += 7) g[at] = -int64_t(at);  // each bad value names its position
  g[3999] = 10;
  Tensor gidx = on_gpu(g, {4, 1000});
  Tensor wide = zeros({4, 10}, DType::f32, gpu());
  check_reported([&] { gather(x, 1, gidx).to(Device::cpu()); }, "gather", -1003, 1003, 10);
  check_reported([&] { scatter_add(wide, 1, gidx, ones({4, 1000}, DType::f32, gpu())).to(Device::cpu()); },
                 "scatter_add", -1003, 1003, 10);
  // index_select: the threads of every output meet the bad indices at positions 2 and 3.
  Tensor rows = zeros({3000, 2}, DType::f32, gpu());
  Tensor idx = on_gpu({5, 2999, 3000, -1, 0}, {5});
  check_reported([&] { index_select(rows, 0, idx).to(Device::cpu()); }, "index_select", 3000, 2, 3000);
  check_reported([&] { index_add(rows, 0, idx, ones({5, 2}, DType::f32, gpu())).to(Device::cpu()); }, "index_add",
                 3000, 2, 3000);
}

TEST_CASE("cuda index ops: the indices of an op with nothing to compute are checked too", "[cuda][index][errors]") {
  // The CPU check reads every index whatever the shapes; so do the device's kernels (a check-only
  // launch when there are no outputs). An empty result is not copied back, so synchronise.
  Tensor idx = on_gpu({3, 10}, {2});
  Tensor none = zeros({0, 10}, DType::f32, gpu()), flat = zeros({3, 10, 0}, DType::f32, gpu());
  Tensor flat_src = zeros({3, 2, 0}, DType::f32, gpu());
  // An empty indexed axis: every index is out of [0, 0) (one index each, so one is reported).
  Tensor empty_axis = zeros({1, 0}, DType::f32, gpu()), one = ones({1, 1}, DType::f32, gpu());
  Tensor zero = on_gpu({0}, {1}), zero2d = on_gpu({0}, {1, 1});
  check_reported([&] { sync_after(index_select(none, 1, idx)); }, "index_select", 10, 1, 10);
  check_reported([&] { sync_after(index_add(flat, 1, idx, flat_src)); }, "index_add", 10, 1, 10);
  check_reported([&] { sync_after(index_add(empty_axis, 1, zero, one)); }, "index_add", 0, 0, 0);
  check_reported([&] { sync_after(scatter_add(empty_axis, 1, zero2d, one)); }, "scatter_add", 0, 0, 0);
  check_good_indices_match_cpu();
}

#ifndef MTMAP_TEST_GPU_IS_CPU  // the CPU throws in the op itself
TEST_CASE("cuda index ops: the error is reported at the next synchronisation, once, then the context works",
          "[cuda][index][errors]") {
  ExecutionContext& ctx = ExecutionContext::current(gpu());
  Tensor x = ones({4, 10}, DType::f64, gpu());
  // Enqueuing does not synchronise, so the op itself returns; the synchronisation reports.
  Tensor y;
  REQUIRE_NOTHROW(y = gather(x.narrow(0, 0, 1), 1, on_gpu({0, 1, 12, -2}, {1, 4})));
  check_reported([&] { ctx.synchronize(); }, "gather", 12, 2, 10);
  CHECK_NOTHROW(ctx.synchronize());  // reported once, and the record was reset
  // Within a launch the lowest-positioned bad index is kept (12 at 2, not -2 at 3); across
  // launches the first launch's, until it is reported: the later kernel's is dropped. (The
  // indices go to the GPU first: a copy from the host is a synchronisation point too.)
  Tensor first = on_gpu({4}, {1}), second = on_gpu({-7}, {1});
  REQUIRE_NOTHROW(index_select(x, 0, first));
  REQUIRE_NOTHROW(index_select(x, 1, second));
  check_reported([&] { y.to(Device::cpu()); }, "index_select", 4, 0, 4);
  CHECK_NOTHROW(ctx.synchronize());
  check_good_indices_match_cpu();
}

TEST_CASE("cuda index ops: a bad index is reported by the context that ran the kernel", "[cuda][index][errors]") {
  ExecutionContext own(gpu());
  {
    ExecutionContext::Use use(own);
    Tensor x = ones({3, 2}, DType::f32, gpu());
    REQUIRE_NOTHROW(index_select(x, 0, on_gpu({3}, {1})));
  }
  CHECK_NOTHROW(ExecutionContext::default_for(gpu()).synchronize());  // not the default context's
  check_reported([&] { own.synchronize(); }, "index_select", 3, 0, 3);
  CHECK_NOTHROW(own.synchronize());
}

// Runs `f` with stderr redirected to a temporary file; returns what was written there.
std::string stderr_of(const std::function<void()>& f) {
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  std::fflush(stderr);
  const int saved = dup(fileno(stderr));
  dup2(fileno(capture), fileno(stderr));
  f();
  std::fflush(stderr);
  dup2(saved, fileno(stderr));
  close(saved);
  std::rewind(capture);
  std::string text;
  for (int c; (c = std::fgetc(capture)) != EOF;) text += char(c);
  std::fclose(capture);
  return text;
}

TEST_CASE("cuda index ops: a context destroyed before reporting its bad index prints it", "[cuda][index][errors]") {
  std::string printed = stderr_of([] {
    ExecutionContext own(gpu());
    ExecutionContext::Use use(own);
    Tensor x = ones({3, 2}, DType::f32, gpu());
    Tensor y = gather(x, 1, on_gpu({0, 1, 1}, {3, 1}));
  });
  CHECK(printed.empty());  // good indices: nothing to report
  printed = stderr_of([] {
    ExecutionContext own(gpu());
    {
      ExecutionContext::Use use(own);
      Tensor x = ones({3, 2}, DType::f32, gpu());
      Tensor y = gather(x, 1, on_gpu({0, 1, 2}, {3, 1}));  // 2 is out of [0, 2) at position 2
    }
  });
  CHECK_THAT(printed, Catch::Contains(cpu_words("gather", 2, 2, 2)) && Catch::Contains("found on cuda:0") &&
                          Catch::Contains("destroyed"));
}
#endif

}  // namespace
}  // namespace mtmap::test
