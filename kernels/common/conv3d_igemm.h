#pragma once
// The implicit-GEMM coordinate maps of the CUDA conv3d kernels, as plain host/device functions so
// the CPU test suite (tests/test_conv3d_igemm.cpp) checks them against the direct loops.
//
// Every tensor is channels-last here: x (N, D, H, W, C), dy / y (N, Z, P, Q, K), and the weights
// as fprop reads them (K, T, R, S, C) or as dgrad reads them (C, T, R, S, K). The three operators
// are one row-major GEMM C[M][Ngemm] = Σ_kr A[m][kr] · B[n][kr] (both operands indexed row, then
// reduction index), whose C lands, unpermuted, in a channels-last output:
//   fprop: m = (n,z,p,q), n = k, kr = (t,r,s,c)  → y  (N,Z,P,Q,K)
//   dgrad: m = (n,d,h,w), n = c, kr = (t,r,s,k)  → dx (N,D,H,W,C)
//   wgrad: m = k, n = (t,r,s,c), kr = (n,z,p,q)  → dw (K,T,R,S,C)
// The channel is the fastest index of each reduction (fprop, dgrad) or column (wgrad), so eight
// consecutive reduction indices (or columns) are eight consecutive elements in memory whenever the
// channel count is a multiple of 8: that is the kernels' vector condition (conv3d_igemm_vector).
//
// Each operand is read through prep(row) (the per-row part, computed once per thread and kept for
// the whole reduction) and offset(prep, kr): the element offset, or -1 where the element is zero
// (padding, a dgrad tap that hits no output, or a row / reduction index past the GEMM's edge).
// Indices are 32-bit: the launchers refuse tensors of 2^31 elements or more.
#include <algorithm>
#include <cstdint>

#include "kernels/common/conv3d_problem.h"
#include "kernels/common/fast_divmod.h"
#include "kernels/common/host_device.h"

namespace mtmap {

// One stride phase of a strided dgrad (make_igemm_dgrad_phase_geom): the input positions
// d = od + sd·d' (d' < Dp), and the taps that reach them, t = td + i·sd (i < Tp), each reading
// output z = d' + ed − i; the same per axis (h, w).
struct IgemmPhase {
  int od = 0, oh = 0, ow = 0;
  int Dp = 0, Hp = 0, Wp = 0;
  int td = 0, th = 0, tw = 0;
  int Tp = 0, Rp = 0, Sp = 0;
  int ed = 0, eh = 0, ew = 0;
};

// The divisors of the maps' index arithmetic, as multiply-and-shift (fast_divmod.h): the
// reduction index's channel, tap and phase-tap extents, wgrad's (n, z, p, q), the strides, and
// a stride phase's row extents and the GEMM's width (for the phase rows' output positions).
struct IgemmDivisors {
  FastDivmod C, K, S, R, Q, P, Z, sd, sh, sw, SC, Sp, Rp, Dp, Hp, Wp, Ngemm;
};

// The problem in 32-bit integers (the GPU's integer division is much cheaper at 32 bits).
struct IgemmGeom {
  int N, C, D, H, W, K, T, R, S;
  int pd, ph, pw, sd, sh, sw, dd, dh, dw;
  int Z, P, Q;
  int M, Ngemm, Kred;  // the GEMM of the operator this geometry was made for
  int SC = 0;          // stem kernel only: one filter row's S·C taps, rounded up to a multiple of 8
  IgemmPhase phase{};  // stride-phase dgrad only
  IgemmDivisors div{};  // set by the make_* functions from the fields above (igemm_set_divisors)
};

inline void igemm_set_divisors(IgemmGeom& g) {
  IgemmDivisors& v = g.div;
  v.C = FastDivmod(g.C), v.K = FastDivmod(g.K), v.S = FastDivmod(g.S), v.R = FastDivmod(g.R);
  v.Q = FastDivmod(g.Q), v.P = FastDivmod(g.P), v.Z = FastDivmod(g.Z);
  v.sd = FastDivmod(g.sd), v.sh = FastDivmod(g.sh), v.sw = FastDivmod(g.sw);
  // Extents that are 0 where they do not apply (SC, a phase's) become divisors of 1 (FastDivmod).
  v.SC = FastDivmod(g.SC), v.Sp = FastDivmod(g.phase.Sp), v.Rp = FastDivmod(g.phase.Rp);
  v.Dp = FastDivmod(g.phase.Dp), v.Hp = FastDivmod(g.phase.Hp), v.Wp = FastDivmod(g.phase.Wp);
  v.Ngemm = FastDivmod(g.Ngemm);
}

// Largest element count any operand or output may have (offsets are int).
inline constexpr int64_t kIgemmMaxElements = int64_t(1) << 31;

inline bool igemm_fits(const Conv3dProblem& p) {
  auto ok = [](int64_t v) { return v >= 0 && v < kIgemmMaxElements; };
  return ok(p.input_elements()) && ok(p.output_elements()) && ok(p.weight_elements()) &&
         ok(p.N * p.D * p.H * p.W * p.K) && ok(p.output_positions() * p.C);
}

inline IgemmGeom make_igemm_geom(const Conv3dProblem& p, ConvOperator op) {
  GemmShape s = p.gemm_view(op);
  IgemmGeom g{int(p.N),        int(p.C),        int(p.D),        int(p.H),     int(p.W),     int(p.K),
              int(p.T),        int(p.R),        int(p.S),        int(p.pad_d), int(p.pad_h), int(p.pad_w),
              int(p.stride_d), int(p.stride_h), int(p.stride_w), int(p.dil_d), int(p.dil_h), int(p.dil_w),
              int(p.Z),        int(p.P),        int(p.Q),        int(s.m),     int(s.n),     int(s.k)};
  igemm_set_divisors(g);
  return g;
}

// Whether the 8-element vector loads apply: the channel counts the chunks run along are multiples
// of 8 (then a chunk never straddles a filter tap, a row or the GEMM's reduction edge).
MTMAP_HD inline bool conv3d_igemm_vector(ConvOperator op, int C, int K) {
  switch (op) {
    case ConvOperator::fprop:
      return C % 8 == 0;
    case ConvOperator::dgrad:
      return K % 8 == 0;
    case ConvOperator::wgrad:
      return C % 8 == 0 && K % 8 == 0;
  }
  return false;
}

// fprop. A = x (N,D,H,W,C): row m = (n,z,p,q), kr = ((t·R + r)·S + s)·C + c.
struct IgemmFpropA {
  struct Prep {
    int base, d0, h0, w0;  // base: offset of sample n; d0 = z·sd − pd, ...
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int m) { return m < g.M ? prep_valid(g, m) : Prep{0, 0, 0, 0, false}; }
  // Output position m = (n, z, p, q) of fprop (also wgrad's reduction index): its sample's
  // input offset and the input position of filter tap (0, 0, 0).
  MTMAP_HD static Prep prep_valid(const IgemmGeom& g, int m) {
    int q, p, z, n, rest;
    g.div.Q.divmod(m, rest, q);
    g.div.P.divmod(rest, rest, p);
    g.div.Z.divmod(rest, n, z);
    return {n * g.D * g.H * g.W * g.C, z * g.sd - g.pd, p * g.sh - g.ph, q * g.sw - g.pw, true};
  }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    if (!pr.valid || kr >= g.Kred) return -1;
    int c, trs, s, tr, r, t;
    g.div.C.divmod(kr, trs, c);
    g.div.S.divmod(trs, tr, s);
    g.div.R.divmod(tr, t, r);
    int d = pr.d0 + t * g.dd, h = pr.h0 + r * g.dh, w = pr.w0 + s * g.dw;
    if (d < 0 || d >= g.D || h < 0 || h >= g.H || w < 0 || w >= g.W) return -1;
    return pr.base + ((d * g.H + h) * g.W + w) * g.C + c;
  }
};

// fprop. B = w (K,T,R,S,C) read as [k][kr]: the reduction index is the offset within a filter.
struct IgemmFpropB {
  struct Prep {
    int base;
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int n) { return {n * g.Kred, n < g.Ngemm}; }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    return pr.valid && kr < g.Kred ? pr.base + kr : -1;
  }
};

// dgrad. A = dy (N,Z,P,Q,K): row m = (n,d,h,w), kr = ((t·R + r)·S + s)·K + k. Tap t of input d
// reads output z = (d + pd − t·dd) / sd when that division is exact and z is in range.
struct IgemmDgradA {
  struct Prep {
    int base, d1, h1, w1;  // d1 = d + pd, ...
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int m) {
    if (m >= g.M) return {0, 0, 0, 0, false};
    int w = m % g.W, rest = m / g.W;
    int h = rest % g.H;
    rest /= g.H;
    int d = rest % g.D, n = rest / g.D;
    return {n * g.Z * g.P * g.Q * g.K, d + g.pd, h + g.ph, w + g.pw, true};
  }
  // One axis: the output index tap `tap` reaches from padded input position `i1`, or -1.
  MTMAP_HD static int source(int i1, int tap, int dil, const FastDivmod& stride, int extent) {
    int num = i1 - tap * dil;
    if (num < 0) return -1;
    int o, rem;
    stride.divmod(num, o, rem);
    return rem == 0 && o < extent ? o : -1;
  }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    if (!pr.valid || kr >= g.Kred) return -1;
    int k, trs, s, tr, r, t;
    g.div.K.divmod(kr, trs, k);
    g.div.S.divmod(trs, tr, s);
    g.div.R.divmod(tr, t, r);
    int z = source(pr.d1, t, g.dd, g.div.sd, g.Z);
    int p = source(pr.h1, r, g.dh, g.div.sh, g.P);
    int q = source(pr.w1, s, g.dw, g.div.sw, g.Q);
    if (z < 0 || p < 0 || q < 0) return -1;
    return pr.base + ((z * g.P + p) * g.Q + q) * g.K + k;
  }
};

// dgrad. B = w as (C,T,R,S,K) read as [c][kr]: the same reduction order as IgemmDgradA.
struct IgemmDgradB {
  struct Prep {
    int base;
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int c) { return {c * g.Kred, c < g.Ngemm}; }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    return pr.valid && kr < g.Kred ? pr.base + kr : -1;
  }
};

// wgrad. A = dy (N,Z,P,Q,K) read as [k][l], l = (n,z,p,q): the row (output channel) is the
// fastest index in memory, so this operand's vector chunks run along rows.
struct IgemmWgradA {
  struct Prep {
    int k;
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int k) { return {k, k < g.M}; }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int l) {
    return pr.valid && l < g.Kred ? l * g.K + pr.k : -1;
  }
};

// wgrad. B = x (N,D,H,W,C) read as [j][l], j = ((t·R + r)·S + s)·C + c: channel fastest, so
// chunks run along rows (j) here too.
struct IgemmWgradB {
  struct Prep {
    int c, dt, hr, ws;  // c and the tap's displacement t·dd, r·dh, s·dw
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int j) {
    if (j >= g.Ngemm) return {0, 0, 0, 0, false};
    int c, trs, s, tr, r, t;
    g.div.C.divmod(j, trs, c);
    g.div.S.divmod(trs, tr, s);
    g.div.R.divmod(tr, t, r);
    return {c, t * g.dd, r * g.dh, s * g.dw, true};
  }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int l) {
    if (!pr.valid || l >= g.Kred) return -1;
    const IgemmFpropA::Prep a = IgemmFpropA::prep_valid(g, l);  // l is an fprop row (n, z, p, q)
    int d = a.d0 + pr.dt, h = a.h0 + pr.hr, w = a.w0 + pr.ws;
    if (d < 0 || d >= g.D || h < 0 || h >= g.H || w < 0 || w >= g.W) return -1;
    return a.base + ((d * g.H + h) * g.W + w) * g.C + pr.c;
  }
};

// The stem kernel (a few input channels, a wide filter: the 3-channel 3×7×7 stem). Padding C to 8
// would multiply its reduction by 8/3; instead one filter row's S·C taps (s, c), which are S·C
// consecutive elements of a channels-last input row when the width dilation is 1, form the fastest
// part of the reduction index, rounded up to SC (a multiple of 8) with zero weights beyond S·C:
//   fprop: kr = (t·R + r)·SC + j, j = s·C + c;  w as (K, T, R, SC);  Kred = T·R·SC
//   wgrad: n  = (t·R + r)·SC + j;              dw as (K, T, R, SC); Ngemm = T·R·SC
// The stem operands are read element by element (their rows start at arbitrary alignments), but
// offsets() walks a chunk's 8 taps incrementally: one division set per chunk, not per element.
struct IgemmGatherMap {};  // maps whose chunks the kernel reads through offsets()

inline IgemmGeom make_igemm_stem_geom(const Conv3dProblem& p, ConvOperator op) {
  IgemmGeom g = make_igemm_geom(p, op);
  g.SC = int((p.S * p.C + 7) / 8 * 8);
  if (op == ConvOperator::fprop) g.Kred = int(p.T * p.R) * g.SC;
  if (op == ConvOperator::wgrad) g.Ngemm = int(p.T * p.R) * g.SC;
  igemm_set_divisors(g);
  return g;
}

// Offsets of 8 consecutive stem reduction indices (or wgrad rows) t0 .. t0+7, t0 a multiple of 8
// (so one filter row (t, r)), for the input position (d0, h0, w0) of filter tap (0, 0, 0) in the
// sample at `base`; -1 for zeros (padding, taps past S·C, an invalid row). The taps (s, c) are
// walked without a division per step.
MTMAP_HD inline void stem_offsets(const IgemmGeom& g, bool valid, int base, int d0, int h0, int w0, int t0,
                                  int (&off)[8]) {
  int tr, j0, t, r, s, c;
  g.div.SC.divmod(t0, tr, j0);
  g.div.R.divmod(tr, t, r);
  const int d = d0 + t * g.dd, h = h0 + r * g.dh;
  const bool row_ok = valid && d >= 0 && d < g.D && h >= 0 && h < g.H;
  const int row_base = base + (d * g.H + h) * g.W * g.C;
  g.div.C.divmod(j0, s, c);
  for (int e = 0; e < 8; ++e) {
    const int w = w0 + s * g.dw;
    off[e] = row_ok && s < g.S && w >= 0 && w < g.W ? row_base + w * g.C + c : -1;
    if (++c == g.C) c = 0, ++s;
  }
}

// stem fprop. A = x (N,D,H,W,C): row m = (n,z,p,q) as IgemmFpropA; kr as above.
struct IgemmStemFpropA : IgemmGatherMap {
  using Prep = IgemmFpropA::Prep;
  MTMAP_HD static Prep prep(const IgemmGeom& g, int m) { return IgemmFpropA::prep(g, m); }
  // Offsets of reduction indices kr0 .. kr0+7 (kr0 a multiple of 8, so one filter row), -1 for zeros.
  MTMAP_HD static void offsets(const IgemmGeom& g, const Prep& pr, int /*row*/, int kr0, int (&off)[8]) {
    stem_offsets(g, pr.valid && kr0 < g.Kred, pr.base, pr.d0, pr.h0, pr.w0, kr0, off);
  }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    int off[8];
    offsets(g, pr, 0, kr / 8 * 8, off);
    return off[kr % 8];
  }
};

// stem wgrad. B = x read as [n][l], n = (t,r,j) as above, l = (n,z,p,q): chunks run along n.
struct IgemmStemWgradB : IgemmGatherMap {
  struct Prep {
    int l_base, d, h, w;  // the input position of reduction index l at tap (0,0,0); l_base its sample
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int l) {
    if (l >= g.Kred) return {0, 0, 0, 0, false};
    IgemmFpropA::Prep a = IgemmFpropA::prep_valid(g, l);  // l is an fprop row (n, z, p, q)
    return {a.base, a.d0, a.h0, a.w0, true};
  }
  // Offsets of rows n0 .. n0+7 (n0 a multiple of 8) at reduction index l.
  MTMAP_HD static void offsets(const IgemmGeom& g, const Prep& pr, int n0, int /*l*/, int (&off)[8]) {
    stem_offsets(g, pr.valid && n0 < g.Ngemm, pr.l_base, pr.d, pr.h, pr.w, n0, off);
  }
};

// Stride-phase dgrad. With stride s > 1 (dilation 1), input position d receives only the taps
// t ≡ d + pd (mod s): the general dgrad map walks all T taps and finds most of them hit no
// output (7/8 of a 3×3×3 stride-2 layer's reduction is predicated zeros, all of a 1×1×1 stride-2
// layer's for 7 positions in 8). Split into the s_d·s_h·s_w phases of d mod s, each phase is a
// dense stride-1 GEMM over its own taps only:
//   m = (n, d', h', w') over (Dp, Hp, Wp), n = c, kr = ((i·Rp + j)·Sp + l)·K + k
// and its C rows land at the phase's positions of dx (IgemmDgradPhase::out_row). A phase no tap
// reaches (Kred = 0) writes zeros.
inline bool igemm_dgrad_uses_phases(const Conv3dProblem& p) {
  return (p.stride_d > 1 || p.stride_h > 1 || p.stride_w > 1) && p.dil_d == 1 && p.dil_h == 1 && p.dil_w == 1;
}

// Phase (od, oh, ow), each below its axis' stride, of the dgrad of p (igemm_dgrad_uses_phases).
inline IgemmGeom make_igemm_dgrad_phase_geom(const Conv3dProblem& p, int od, int oh, int ow) {
  IgemmGeom g = make_igemm_geom(p, ConvOperator::dgrad);
  // One axis: positions o + s·i' below `extent`; first tap ≡ o + pad (mod s) and the taps from it.
  auto axis = [](int o, int extent, int stride, int pad, int taps, int& n_pos, int& first, int& n_taps, int& e) {
    n_pos = o < extent ? (extent - o + stride - 1) / stride : 0;
    first = (o + pad) % stride;
    n_taps = first < taps ? (taps - first + stride - 1) / stride : 0;
    e = (o + pad - first) / stride;
  };
  IgemmPhase& f = g.phase;
  f.od = od, f.oh = oh, f.ow = ow;
  axis(od, g.D, g.sd, g.pd, g.T, f.Dp, f.td, f.Tp, f.ed);
  axis(oh, g.H, g.sh, g.ph, g.R, f.Hp, f.th, f.Rp, f.eh);
  axis(ow, g.W, g.sw, g.pw, g.S, f.Wp, f.tw, f.Sp, f.ew);
  g.M = g.N * f.Dp * f.Hp * f.Wp;
  g.Kred = f.Tp * f.Rp * f.Sp * g.K;
  igemm_set_divisors(g);
  return g;
}

// A phase GEMM row m as (n, d', h', w') and a reduction index kr as the phase's tap (i, j, l) and
// output channel k.
struct IgemmPhaseRow {
  int n, d, h, w;
};
MTMAP_HD inline IgemmPhaseRow igemm_phase_row(const IgemmGeom& g, int m) {
  IgemmPhaseRow r;
  int rest;
  g.div.Wp.divmod(m, rest, r.w);
  g.div.Hp.divmod(rest, rest, r.h);
  g.div.Dp.divmod(rest, r.n, r.d);
  return r;
}
struct IgemmPhaseTap {
  int i, j, l, k;
};
MTMAP_HD inline IgemmPhaseTap igemm_phase_tap(const IgemmGeom& g, int kr) {
  int k, tap, l, ij, j, i;
  g.div.K.divmod(kr, tap, k);
  g.div.Sp.divmod(tap, ij, l);
  g.div.Rp.divmod(ij, i, j);
  return {i, j, l, k};
}

// Phase dgrad. A = dy (N,Z,P,Q,K): row m = (n, d', h', w'), kr = (i, j, l, k).
struct IgemmDgradPhaseA {
  struct Prep {
    int base, z0, p0, q0;  // base: offset of sample n; z0 = d' + ed, ... (the output of tap i = 0)
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int m) {
    if (m >= g.M) return {0, 0, 0, 0, false};
    const IgemmPhase& f = g.phase;
    const IgemmPhaseRow r = igemm_phase_row(g, m);
    return {r.n * g.Z * g.P * g.Q * g.K, r.d + f.ed, r.h + f.eh, r.w + f.ew, true};
  }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    if (!pr.valid || kr >= g.Kred) return -1;
    const IgemmPhaseTap tp = igemm_phase_tap(g, kr);
    int z = pr.z0 - tp.i, p = pr.p0 - tp.j, q = pr.q0 - tp.l;
    if (z < 0 || z >= g.Z || p < 0 || p >= g.P || q < 0 || q >= g.Q) return -1;
    return pr.base + ((z * g.P + p) * g.Q + q) * g.K + tp.k;
  }
};

// Phase dgrad. B = w as (C,T,R,S,K) read as [c][kr]: the phase's taps of filter c.
struct IgemmDgradPhaseB {
  struct Prep {
    int base;
    bool valid;
  };
  MTMAP_HD static Prep prep(const IgemmGeom& g, int c) { return {c * g.T * g.R * g.S * g.K, c < g.Ngemm}; }
  MTMAP_HD static int offset(const IgemmGeom& g, const Prep& pr, int kr) {
    if (!pr.valid || kr >= g.Kred) return -1;
    const IgemmPhase& f = g.phase;
    const IgemmPhaseTap tp = igemm_phase_tap(g, kr);
    int t = f.td + tp.i * g.sd, r = f.th + tp.j * g.sh, s = f.tw + tp.l * g.sw;
    return pr.base + ((t * g.R + r) * g.S + s) * g.K + tp.k;
  }
};

// The operand pairs, and which way each operand's 8-element vector chunks run: along the
// reduction (kr .. kr+7 of one row) or along the rows (rows .. rows+7 at one kr).
struct IgemmFprop {
  using A = IgemmFpropA;
  using B = IgemmFpropB;
  static constexpr ConvOperator op = ConvOperator::fprop;
  static constexpr bool a_along_k = true, b_along_k = true;
};
struct IgemmDgrad {
  using A = IgemmDgradA;
  using B = IgemmDgradB;
  static constexpr ConvOperator op = ConvOperator::dgrad;
  static constexpr bool a_along_k = true, b_along_k = true;
};
struct IgemmWgrad {
  using A = IgemmWgradA;
  using B = IgemmWgradB;
  static constexpr ConvOperator op = ConvOperator::wgrad;
  static constexpr bool a_along_k = false, b_along_k = false;
};
// Its C rows are not dx's rows: out_row gives the dx position (n, d, h, w) of GEMM row m.
struct IgemmDgradPhase {
  using A = IgemmDgradPhaseA;
  using B = IgemmDgradPhaseB;
  static constexpr ConvOperator op = ConvOperator::dgrad;
  static constexpr bool a_along_k = true, b_along_k = true;
  MTMAP_HD static int out_row(const IgemmGeom& g, int m) {
    const IgemmPhase& f = g.phase;
    const IgemmPhaseRow r = igemm_phase_row(g, m);
    return ((r.n * g.D + f.od + r.d * g.sd) * g.H + f.oh + r.h * g.sh) * g.W + f.ow + r.w * g.sw;
  }
};
// The stem pairs: the weights (fprop B) and dy (wgrad A) read as in the general kernels; those
// are the operands the plan's vector flag applies to (the gather maps ignore it).
struct IgemmStemFprop {
  using A = IgemmStemFpropA;
  using B = IgemmFpropB;
  static constexpr ConvOperator op = ConvOperator::fprop;
  static constexpr bool a_along_k = true, b_along_k = true;
};
struct IgemmStemWgrad {
  using A = IgemmWgradA;
  using B = IgemmStemWgradB;
  static constexpr ConvOperator op = ConvOperator::wgrad;
  static constexpr bool a_along_k = false, b_along_k = false;
};

// The row of the output tensor that GEMM row m lands in: m itself, but for operators whose rows
// are a subset of the output's (IgemmDgradPhase).
template <class Op>
inline constexpr bool igemm_remaps_rows = requires(const IgemmGeom& g, int m) { Op::out_row(g, m); };

template <class Op>
MTMAP_HD inline int igemm_out_row(const IgemmGeom& g, int m) {
  if constexpr (igemm_remaps_rows<Op>)
    return Op::out_row(g, m);
  else
    return m;
}

namespace igemm {

inline constexpr int kBK = 32;  // reduction step of one CTA tile

// Tile shapes (BM × BN): a square tile by default; half ones when a GEMM side is ≤ 64 (fprop /
// dgrad of the 64-channel layers, wgrad's K = 64 rows), so no tile is half empty.
enum class Tile : uint8_t { t128x128, t128x64, t64x128 };

inline constexpr int kChunk = 8;  // elements per vector chunk (16 bytes of bf16)

// Which chunk of a ROWS × kBK operand tile the i-th load of thread `tid` (of `threads`) reads:
// its first row and first reduction index within the tile. Along the reduction, four chunks
// cover a row and neighbouring threads take neighbouring chunks of one row; along the rows,
// ROWS/8 chunks cover a reduction index and neighbouring threads take neighbouring rows. Either
// way a warp's loads are contiguous runs of memory, and each thread keeps its rows for the whole
// reduction (so their prep is computed once).
struct ChunkPos {
  int row, kk;
};
MTMAP_HD inline ChunkPos chunk_pos(int tid, int i, int threads, int rows, bool along_k) {
  int id = tid + i * threads;
  if (along_k) return {id / (kBK / kChunk), (id % (kBK / kChunk)) * kChunk};
  return {(id % (rows / kChunk)) * kChunk, id / (rows / kChunk)};
}

inline int tile_m(Tile t) { return t == Tile::t64x128 ? 64 : 128; }
inline int tile_n(Tile t) { return t == Tile::t128x64 ? 64 : 128; }

struct Plan {
  Tile tile;
  int splits;             // gridDim.z; fp32 partials and a fixed-order reduction pass when > 1
  int k_tiles_per_split;  // every split gets this many reduction tiles, the last one the rest
  bool vector;            // conv3d_igemm_vector (the launcher also requires 16-byte alignment)
  bool async_copy = true; // the cp.async multi-stage kernel where it applies (vector operands, general maps)
};

// The split-K plan depends on the problem alone, not on the GPU: the workspace size is known
// before a device is asked, and a result is the same bits on every GPU. It aims at 264 CTAs,
// two per SM of an H100 / H200 (132 SMs; ptxas 13.0 on sm_90 gives the cp.async kernels, which
// take every vector problem, ≤ 128 registers a thread, so two CTAs per SM; the register-staged
// 128×128 TF32 and bf16 wgrad kernels take ~160–167: one CTA).
inline constexpr int64_t kTargetCtas = 264;
inline constexpr int kMinTilesPerSplit = 8, kMaxSplits = 64;

inline Plan make_plan(ConvOperator op, const IgemmGeom& g) {
  Plan plan{};
  plan.tile = g.Ngemm <= 64 ? Tile::t128x64 : g.M <= 64 ? Tile::t64x128 : Tile::t128x128;
  plan.vector = conv3d_igemm_vector(op, g.C, g.K);
  int64_t tiles = int64_t((g.M + tile_m(plan.tile) - 1) / tile_m(plan.tile)) *
                  ((g.Ngemm + tile_n(plan.tile) - 1) / tile_n(plan.tile));
  int k_tiles = (g.Kred + kBK - 1) / kBK;
  // Split the reduction until kTargetCtas CTAs are busy, keeping at least kMinTilesPerSplit
  // reduction tiles per split so the partial sums' extra traffic stays small next to the GEMM's.
  int64_t want = (kTargetCtas + tiles - 1) / tiles;
  int64_t most = std::max(1, k_tiles / kMinTilesPerSplit);
  int splits = int(std::clamp<int64_t>(std::min(want, most), 1, kMaxSplits));
  plan.k_tiles_per_split = std::max(1, (k_tiles + splits - 1) / splits);
  plan.splits = std::max(1, (k_tiles + plan.k_tiles_per_split - 1) / plan.k_tiles_per_split);
  return plan;
}

// The stem kernel's plan: as make_plan, with the vector flag for the operand read in chunks of
// the general maps: the (K, T, R, SC) weights of fprop (SC keeps every row a multiple of 8),
// wgrad's dy when K is a multiple of 8.
inline Plan make_stem_plan(ConvOperator op, const IgemmGeom& g) {
  Plan plan = make_plan(op, g);
  plan.vector = op == ConvOperator::fprop || (op == ConvOperator::wgrad && g.K % 8 == 0);
  return plan;
}

}  // namespace igemm

}  // namespace mtmap
