// The implicit-GEMM coordinate maps of the CUDA conv3d kernels (kernels/common/conv3d_igemm.h),
// checked on the CPU: the part of the tensor-core path a machine without a GPU can verify.
//  - Each operator's GEMM, assembled element by element through prep/offset exactly as the kernel
//    reads its operands (over whole tiles: rows up to the next multiple of 128, reduction indices
//    up to the next multiple of 32, so the edge predicates are exercised), equals the float64
//    direct loops after the channels-last result is put back in NCDHW / KCTRS.
//  - Where the vector condition holds, every 8-element chunk the kernel reads with one load is
//    8 consecutive elements (or 8 zeros): the assumption behind the 16-byte loads.
//  - Every offset stays inside its tensor.
//  - The split-K plan covers the reduction exactly, with no empty split.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops/conv3d.h"
#include "kernels/common/conv3d_igemm.h"
#include "tests/test_support.h"

using namespace mtmap;

namespace {

struct Case {
  const char* name;
  Shape x, w;  // (N,C,D,H,W), (K,C,T,R,S)
  std::array<int64_t, 3> stride, pad, dil;
};

std::vector<Case> cases() {
  return {
      {"3x3x3_c8_k8", {2, 8, 4, 5, 6}, {8, 8, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      {"3x3x3_stride2_c16_k24", {1, 16, 5, 7, 6}, {24, 16, 3, 3, 3}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}},
      {"1x1x1_downsample_c8_k16", {2, 8, 5, 5, 4}, {16, 8, 1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}},
      {"stem_3x7x7_c3", {1, 3, 3, 9, 8}, {8, 3, 3, 7, 7}, {1, 2, 2}, {1, 3, 3}, {1, 1, 1}},
      {"stem_padded_c8", {1, 8, 3, 9, 8}, {8, 8, 3, 7, 7}, {1, 2, 2}, {1, 3, 3}, {1, 1, 1}},
      {"odd_c5_k3", {1, 5, 4, 5, 3}, {3, 5, 2, 3, 2}, {1, 1, 1}, {1, 0, 1}, {1, 1, 1}},
      {"dilated_asym_c8_k8", {1, 8, 5, 6, 7}, {8, 8, 2, 3, 2}, {1, 2, 1}, {0, 2, 1}, {2, 1, 3}},
      {"stride3_pad2_c16_k8", {1, 16, 7, 8, 9}, {8, 16, 3, 3, 3}, {3, 2, 3}, {2, 2, 2}, {1, 2, 1}},
      {"k_not_8_c8_k12", {2, 8, 3, 4, 4}, {12, 8, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},
      // Stride phases: one tap per phase (T = stride), taps 2/2/1 (S = 5, stride 3), and a depth
      // of 1 with stride 2 (phase d = 1 has no positions).
      {"stride3_phases_c8_k16", {1, 8, 7, 8, 10}, {16, 8, 3, 2, 5}, {3, 2, 3}, {1, 0, 2}, {1, 1, 1}},
      {"depth1_stride2_c8_k8", {2, 8, 1, 4, 5}, {8, 8, 1, 3, 3}, {2, 2, 2}, {0, 1, 1}, {1, 1, 1}},
  };
}

Conv3dProblem problem_of(const Case& c) {
  Conv3dOptions o;
  o.stride = c.stride, o.padding = c.pad, o.dilation = c.dil;
  return conv3d_problem(c.x, c.w, o);
}

// [B][C][X] → [B][X][C] and back, on the host.
std::vector<double> to_last(const std::vector<double>& v, int64_t B, int64_t C, int64_t X) {
  std::vector<double> out(v.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t x = 0; x < X; ++x) out[size_t((b * X + x) * C + c)] = v[size_t((b * C + c) * X + x)];
  return out;
}
std::vector<double> to_first(const std::vector<double>& v, int64_t B, int64_t C, int64_t X) {
  std::vector<double> out(v.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t x = 0; x < X; ++x) out[size_t((b * C + c) * X + x)] = v[size_t((b * X + x) * C + c)];
  return out;
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// C[m][n] = Σ_kr A(m, kr) · B(n, kr) read through the maps over whole tiles, with the checks on
// offsets and vector chunks along the way.
template <class Op>
std::vector<double> gemm_through_maps(const IgemmGeom& g, const std::vector<double>& a, const std::vector<double>& b) {
  using MA = typename Op::A;
  using MB = typename Op::B;
  const int m_pad = int(round_up(g.M, 128)), n_pad = int(round_up(g.Ngemm, 128)), k_pad = int(round_up(g.Kred, 32));
  std::vector<typename MA::Prep> pa(static_cast<size_t>(m_pad));
  std::vector<typename MB::Prep> pb(static_cast<size_t>(n_pad));
  for (int m = 0; m < m_pad; ++m) pa[size_t(m)] = MA::prep(g, m);
  for (int n = 0; n < n_pad; ++n) pb[size_t(n)] = MB::prep(g, n);
  // Operands as dense [row][kr] matrices, including the tile padding (which must read as zero).
  auto dense = [&](auto& preps, int rows, const std::vector<double>& t, auto offset, const char* which) {
    std::vector<double> d(size_t(rows) * size_t(k_pad), 0.0);
    int64_t bad_range = 0;
    for (int r = 0; r < rows; ++r)
      for (int k = 0; k < k_pad; ++k) {
        int off = offset(g, preps[size_t(r)], k);
        if (off < -1 || off >= int64_t(t.size())) ++bad_range;
        if (off >= 0) d[size_t(r) * size_t(k_pad) + size_t(k)] = t[size_t(off)];
      }
    INFO(which << ": offsets outside the tensor");
    CHECK(bad_range == 0);
    return d;
  };
  std::vector<double> da = dense(pa, m_pad, a, MA::offset, "A");
  std::vector<double> db = dense(pb, n_pad, b, MB::offset, "B");
  for (int m = g.M; m < m_pad; ++m)
    for (int k = 0; k < k_pad; ++k) REQUIRE(MA::offset(g, pa[size_t(m)], k) == -1);
  for (int m = 0; m < m_pad; ++m)
    for (int k = g.Kred; k < k_pad; ++k) REQUIRE(MA::offset(g, pa[size_t(m)], k) == -1);

  // The vector assumption: a chunk's first offset, plus e, is element e (or all are zero).
  if (conv3d_igemm_vector(Op::op, g.C, g.K)) {
    int64_t bad = 0;
    auto check = [&](auto& preps, int rows, auto offset, bool along_k, auto prep) {
      for (int r = 0; r < rows; r += along_k ? 1 : 8)
        for (int k = 0; k < k_pad; k += along_k ? 8 : 1) {
          int first = offset(g, preps[size_t(r)], k);
          for (int e = 0; e < 8; ++e) {
            int off = along_k ? offset(g, preps[size_t(r)], k + e) : offset(g, prep(g, r + e), k);
            if (off != (first < 0 ? -1 : first + e)) ++bad;
          }
        }
    };
    check(pa, m_pad, MA::offset, Op::a_along_k, MA::prep);
    check(pb, n_pad, MB::offset, Op::b_along_k, MB::prep);
    INFO("chunks that are not 8 consecutive elements");
    CHECK(bad == 0);
  }

  std::vector<double> c(size_t(g.M) * size_t(g.Ngemm), 0.0);
  for (int m = 0; m < g.M; ++m)
    for (int n = 0; n < g.Ngemm; ++n) {
      double s = 0;
      for (int k = 0; k < k_pad; ++k)
        s += da[size_t(m) * size_t(k_pad) + size_t(k)] * db[size_t(n) * size_t(k_pad) + size_t(k)];
      c[size_t(m) * size_t(g.Ngemm) + size_t(n)] = s;
    }
  return c;
}

void check_same(const std::vector<double>& want, const std::vector<double>& got, const std::string& what) {
  INFO(what);
  REQUIRE(want.size() == got.size());
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (std::abs(want[i] - got[i]) > 1e-10 * (1 + std::abs(want[i]))) ++bad;
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("conv3d implicit-GEMM maps reproduce the direct loops for all three operators", "[conv3d][igemm]") {
  uint64_t seed = 900;
  for (const Case& c : cases()) {
    INFO(c.name);
    Conv3dProblem p = problem_of(c);
    Generator gen(++seed);
    Tensor x = randn(c.x, gen, DType::f64), w = randn(c.w, gen, DType::f64);
    Tensor dy = randn({p.N, p.K, p.Z, p.P, p.Q}, gen, DType::f64);
    Conv3dOptions ref;
    ref.stride = c.stride, ref.padding = c.pad, ref.dilation = c.dil, ref.cpu_algo = CpuConvAlgo::reference;
    const int64_t dhw = p.D * p.H * p.W, zpq = p.Z * p.P * p.Q, trs = p.filter_volume();
    std::vector<double> x_cl = to_last(x.to_vector<double>(), p.N, p.C, dhw);
    std::vector<double> w_cl = to_last(w.to_vector<double>(), p.K, p.C, trs);      // (K,T,R,S,C)
    std::vector<double> w_dg = to_last(w.to_vector<double>(), 1, p.K, p.C * trs);  // (C,T,R,S,K)
    std::vector<double> dy_cl = to_last(dy.to_vector<double>(), p.N, p.K, zpq);

    std::vector<double> y = gemm_through_maps<IgemmFprop>(make_igemm_geom(p, ConvOperator::fprop), x_cl, w_cl);
    check_same(conv3d(x, w, ref).to_vector<double>(), to_first(y, p.N, p.K, zpq), "fprop");
    std::vector<double> dx = gemm_through_maps<IgemmDgrad>(make_igemm_geom(p, ConvOperator::dgrad), dy_cl, w_dg);
    check_same(conv3d_dgrad(dy, w, p, ref).to_vector<double>(), to_first(dx, p.N, p.C, dhw), "dgrad");
    std::vector<double> dw = gemm_through_maps<IgemmWgrad>(make_igemm_geom(p, ConvOperator::wgrad), dy_cl, x_cl);
    check_same(conv3d_wgrad(x, dy, p, ref).to_vector<double>(), to_first(dw, p.K, p.C, trs), "wgrad");
  }
}

// Strided dgrad as stride phases: every dx position is one phase's row exactly once, and the
// phases' GEMMs together are the direct loops' dgrad.
TEST_CASE("conv3d implicit-GEMM stride-phase dgrad reproduces the direct loops", "[conv3d][igemm]") {
  uint64_t seed = 950;
  int strided = 0;
  for (const Case& c : cases()) {
    Conv3dProblem p = problem_of(c);
    if (!igemm_dgrad_uses_phases(p)) continue;
    ++strided;
    INFO(c.name);
    Generator gen(++seed);
    Tensor w = randn(c.w, gen, DType::f64), dy = randn({p.N, p.K, p.Z, p.P, p.Q}, gen, DType::f64);
    Conv3dOptions ref;
    ref.stride = c.stride, ref.padding = c.pad, ref.dilation = c.dil, ref.cpu_algo = CpuConvAlgo::reference;
    const int64_t dhw = p.D * p.H * p.W, zpq = p.Z * p.P * p.Q, trs = p.filter_volume();
    std::vector<double> w_dg = to_last(w.to_vector<double>(), 1, p.K, p.C * trs);  // (C,T,R,S,K)
    std::vector<double> dy_cl = to_last(dy.to_vector<double>(), p.N, p.K, zpq);
    std::vector<double> dx(size_t(p.N * dhw * p.C), 0.0);
    std::vector<int> cover(size_t(p.N * dhw), 0);
    int64_t taps = 0;
    for (int od = 0; od < p.stride_d; ++od)
      for (int oh = 0; oh < p.stride_h; ++oh)
        for (int ow = 0; ow < p.stride_w; ++ow) {
          IgemmGeom g = make_igemm_dgrad_phase_geom(p, od, oh, ow);
          taps += int64_t(g.phase.Tp) * g.phase.Rp * g.phase.Sp;
          if (g.M == 0) continue;
          std::vector<double> part = gemm_through_maps<IgemmDgradPhase>(g, dy_cl, w_dg);
          for (int m = 0; m < g.M; ++m) {
            int row = igemm_out_row<IgemmDgradPhase>(g, m);
            REQUIRE(row >= 0);
            REQUIRE(row < p.N * dhw);
            ++cover[size_t(row)];
            for (int64_t ch = 0; ch < p.C; ++ch) dx[size_t(row * p.C + ch)] = part[size_t(m * p.C + ch)];
          }
        }
    CHECK(std::count(cover.begin(), cover.end(), 1) == int64_t(cover.size()));
    CHECK(taps == trs);  // each tap belongs to exactly one phase
    check_same(conv3d_dgrad(dy, w, p, ref).to_vector<double>(), to_first(dx, p.N, p.C, dhw), "phase dgrad");
  }
  CHECK(strided >= 5);
}

TEST_CASE("conv3d implicit-GEMM vector condition follows the channel counts", "[conv3d][igemm]") {
  CHECK(conv3d_igemm_vector(ConvOperator::fprop, 8, 3));
  CHECK_FALSE(conv3d_igemm_vector(ConvOperator::fprop, 3, 64));
  CHECK(conv3d_igemm_vector(ConvOperator::dgrad, 3, 64));
  CHECK_FALSE(conv3d_igemm_vector(ConvOperator::dgrad, 64, 12));
  CHECK(conv3d_igemm_vector(ConvOperator::wgrad, 16, 64));
  CHECK_FALSE(conv3d_igemm_vector(ConvOperator::wgrad, 16, 12));
  CHECK_FALSE(conv3d_igemm_vector(ConvOperator::wgrad, 3, 64));
}

TEST_CASE("conv3d split-K plans cover the reduction exactly", "[conv3d][igemm]") {
  // The r3d-18 layers at 16×112×112 (batches 1, 8, 32) and small odd problems.
  struct L {
    int64_t C, K, D, HW, t, rs, sd, shw, pad_t, pad_rs;
  };
  std::vector<L> layers = {{3, 64, 16, 112, 3, 7, 1, 2, 1, 3},  {64, 64, 16, 56, 3, 3, 1, 1, 1, 1},
                           {64, 128, 16, 56, 3, 3, 2, 2, 1, 1}, {64, 128, 16, 56, 1, 1, 2, 2, 0, 0},
                           {128, 128, 8, 28, 3, 3, 1, 1, 1, 1}, {128, 256, 8, 28, 3, 3, 2, 2, 1, 1},
                           {256, 256, 4, 14, 3, 3, 1, 1, 1, 1}, {256, 512, 4, 14, 3, 3, 2, 2, 1, 1},
                           {512, 512, 2, 7, 3, 3, 1, 1, 1, 1},  {5, 3, 3, 5, 2, 3, 1, 1, 0, 1}};
  for (int64_t batch : {1, 8, 32})
    for (const L& l : layers)
      for (ConvOperator op : {ConvOperator::fprop, ConvOperator::dgrad, ConvOperator::wgrad}) {
        Conv3dProblem p;
        p.N = batch, p.C = l.C, p.K = l.K, p.D = l.D, p.H = l.HW, p.W = l.HW;
        p.T = l.t, p.R = l.rs, p.S = l.rs;
        p.stride_d = l.sd, p.stride_h = p.stride_w = l.shw;
        p.pad_d = l.pad_t, p.pad_h = p.pad_w = l.pad_rs;
        p.compute_output();
        IgemmGeom g = make_igemm_geom(p, op);
        igemm::Plan plan = igemm::make_plan(op, g);
        int k_tiles = (g.Kred + igemm::kBK - 1) / igemm::kBK;
        INFO("C " << l.C << " K " << l.K << " batch " << batch << " op " << int(op));
        CHECK(plan.splits >= 1);
        CHECK(plan.splits <= igemm::kMaxSplits);
        CHECK(int64_t(plan.splits) * plan.k_tiles_per_split >= k_tiles);     // everything covered
        CHECK(int64_t(plan.splits - 1) * plan.k_tiles_per_split < k_tiles);  // no empty split
        if (plan.splits > 1) CHECK(plan.k_tiles_per_split >= igemm::kMinTilesPerSplit);
        CHECK((g.Ngemm <= 64) == (plan.tile == igemm::Tile::t128x64));
        CHECK(plan.vector == conv3d_igemm_vector(op, g.C, g.K));
      }
}

TEST_CASE("conv3d implicit-GEMM size limit: 2^31 elements", "[conv3d][igemm]") {
  Conv3dProblem p;
  p.N = 32, p.C = 64, p.K = 64, p.D = 16, p.H = 112, p.W = 112, p.T = p.R = p.S = 3;
  p.pad_d = p.pad_h = p.pad_w = 1;
  p.compute_output();
  CHECK(igemm_fits(p));  // the largest r3d-18 activation at batch 32: 411M elements
  p.N = 256;             // 3.3G elements
  CHECK_FALSE(igemm_fits(p));
}

TEST_CASE("conv3d implicit-GEMM tile loads cover each tile element exactly once", "[conv3d][igemm]") {
  // The kernel's CTA: 256 threads; operand tiles of 64 or 128 rows × kBK, chunks along either axis.
  constexpr int kThreads = 256;
  for (int rows : {64, 128})
    for (bool along_k : {true, false}) {
      INFO("rows " << rows << (along_k ? ", chunks along k" : ", chunks along rows"));
      const int per_thread = rows * igemm::kBK / igemm::kChunk / kThreads;
      REQUIRE(per_thread * igemm::kChunk * kThreads == rows * igemm::kBK);
      std::vector<int> hits(size_t(rows) * igemm::kBK, 0);
      int64_t outside = 0;
      for (int tid = 0; tid < kThreads; ++tid)
        for (int i = 0; i < per_thread; ++i) {
          igemm::ChunkPos c = igemm::chunk_pos(tid, i, kThreads, rows, along_k);
          for (int e = 0; e < igemm::kChunk; ++e) {
            int r = c.row + (along_k ? 0 : e), k = c.kk + (along_k ? e : 0);
            if (r < 0 || r >= rows || k < 0 || k >= igemm::kBK)
              ++outside;
            else
              ++hits[size_t(r) * igemm::kBK + size_t(k)];
          }
          if (along_k)
            CHECK(c.kk % igemm::kChunk == 0);  // 16-byte aligned shared-memory stores
          else
            CHECK(c.row % igemm::kChunk == 0);  // vector chunks start on 8-row boundaries
        }
      CHECK(outside == 0);
      CHECK(std::count(hits.begin(), hits.end(), 1) == int64_t(hits.size()));
    }
}
