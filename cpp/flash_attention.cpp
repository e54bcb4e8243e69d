#include "flash_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "attention_math.hpp"
#include "kernels/microkernel.hpp"
#include "kernels/simd.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace seqattn {

using namespace attn_math;

namespace {

constexpr Index Br = kFlashBr, Bc = kFlashBc;
constexpr float kLowest = std::numeric_limits<float>::lowest();

// ---------------------------------------------------------------------------------------------
// Register-blocked block products, the only products in the tiled attention (the k loop is
// kernels/microkernel.hpp's, shared with the GEMM; the row cascade and stores are here):
//
//   C[i, 0:W] (+)= Σ_k A(i, k) · B[k, 0:W]     i < M, k < K;  A(i, k) = A[i*ar + k*ac]
//
// W (the row width: Bc for scores, Dk or Dv otherwise) is a compile-time multiple of the vector
// length, so a block of RB rows of C lives in RB·W/VL vector registers for the whole k loop
// (up to 24 accumulators with AVX-512: 6 rows x 64 columns); each k loads one row of B and
// broadcasts RB scalars of A.
// Strided A covers both A·B (ac = 1) and Aᵀ·B (ar = 1). GCC vector extensions, not intrinsics:
// the same code compiles for AVX-512, AVX2 or SSE; summation order is fixed (k ascending).
// Vectors (kernels/simd.hpp) of the native width, but at least 8 floats: the SSE2 build has
// always worked on pairs of registers here, and its tile widths and horizontal sums (whose
// order follows the width) stay as they were.
constexpr int VL = simd::kLanes < 8 ? 8 : simd::kLanes;
constexpr int kAccumulators = simd::kRegisters == 32 ? 24 : 8;  // of 32 zmm / 16 ymm registers
constexpr int kMaxRows = 12;  // rows of a register block (broadcasts per k)
using Simd = simd::Lanes<VL>;
using vf = Simd::Vec;

template <int NV, int RB>
inline void gemm_rows(float* C, Index ldc, const float* A, Index ar, Index ac, const float* B,
                      Index ldb, Index K, bool accumulate) {
  // kernels/microkernel.hpp: ((C + p0) + p1) ... or ((0 + p0) + p1) ..., k ascending
  vf c[RB][NV];
  auto a_at = [=](int i, Index k) __attribute__((always_inline)) { return A[i * ar + k * ac]; };
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < NV; ++j) c[i][j] = accumulate ? Simd::load(C + i * ldc + j * VL) : vf{};
  kernels::add_products<Simd>(c, a_at, B, ldb, 0, K);
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < NV; ++j) Simd::store(C + i * ldc + j * VL, c[i][j]);
}

// Rows [i, M) in blocks of R rows while they last, then the rest with R - 1, ... (the rest of
// M = 64 rows after blocks of 6 is one block of 4: no row is left to the one-row kernel).
template <int NV, int R>
void gemm_row_blocks(float* C, Index ldc, const float* A, Index ar, Index ac, const float* B,
                     Index ldb, Index i, Index M, Index K, bool accumulate) {
  for (; i + R <= M; i += R)
    gemm_rows<NV, R>(C + i * ldc, ldc, A + i * ar, ar, ac, B, ldb, K, accumulate);
  if constexpr (R > 1) gemm_row_blocks<NV, R - 1>(C, ldc, A, ar, ac, B, ldb, i, M, K, accumulate);
}

template <int NV>
void gemm_fixed(float* C, Index ldc, const float* A, Index ar, Index ac, const float* B, Index ldb,
                Index M, Index K, bool accumulate) {
  constexpr int RB = std::min(kMaxRows, std::max(1, kAccumulators / NV));
  gemm_row_blocks<NV, RB>(C, ldc, A, ar, ac, B, ldb, 0, M, K, accumulate);
}

// Any W (small or odd head sizes): plain loops, same summation order.
void gemm_any(float* C, Index ldc, const float* A, Index ar, Index ac, const float* B, Index ldb,
              Index M, Index K, Index W, bool accumulate) {
  for (Index i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (!accumulate) std::fill(c, c + W, 0.0f);
    for (Index k = 0; k < K; ++k) {
      const float a = A[i * ar + k * ac];
      const float* b = B + k * ldb;
      for (Index j = 0; j < W; ++j) c[j] += a * b[j];
    }
  }
}

void gemm(float* C, Index ldc, const float* A, Index ar, Index ac, const float* B, Index ldb,
          Index M, Index K, Index W, bool accumulate) {
  if (W % VL == 0) {
    switch (W / VL) {
      case 1: return gemm_fixed<1>(C, ldc, A, ar, ac, B, ldb, M, K, accumulate);
      case 2: return gemm_fixed<2>(C, ldc, A, ar, ac, B, ldb, M, K, accumulate);
      case 3: return gemm_fixed<3>(C, ldc, A, ar, ac, B, ldb, M, K, accumulate);
      case 4: return gemm_fixed<4>(C, ldc, A, ar, ac, B, ldb, M, K, accumulate);
      case 8: return gemm_fixed<8>(C, ldc, A, ar, ac, B, ldb, M, K, accumulate);
      default: break;
    }
  }
  gemm_any(C, ldc, A, ar, ac, B, ldb, M, K, W, accumulate);
}

// Tile-row element-wise steps in full-width vectors (GCC's auto-vectoriser prefers half-width
// vectors with -mtune=generic; these passes are what the tiled kernel adds to the products).
using vi = Simd::IVec;

// exp(x) for -87 <= x <= 0, lane by lane: attn_math's Cephes core on a vector.
inline vf vexp_nonpositive(vf x) {
  vf t;
  const vf y = exp_nonpositive_core(x, t);
  // y · 2^k: add k (the low mantissa bits of t) to y's exponent field
  return reinterpret_cast<vf>(reinterpret_cast<vi>(y) +
                              ((reinterpret_cast<vi>(t) - 0x4B400000) << 23));
}

// Horizontal sums and maxima: Simd::hsum and Simd::hmax, halving trees in a fixed order
// (log2(VL) dependent steps instead of a VL-long chain of scalar adds, which was a third of the
// forward's element-wise time per tile row: perf annotate, T=200).

// Lanes [0, n) of a vector set to 1, the others 0 (0 <= n <= VL): the last vector of a tile
// row whose valid columns end inside it (S = 200 ends 8 floats into a 16-float vector).
inline vf lanes_below(Index n) {
  vf v;
  for (int i = 0; i < VL; ++i) v[i] = i < n ? 1.0f : 0.0f;
  return v;
}

// The first w columns of a tile row (w: a multiple of VL, see tile_width) hold scaled scores
// (Q is scaled by 1/sqrt(Dk) before the product). Allowed entries: a[c] = 1 (a: the tile's
// mask row), or, without a mask, every column but the padding lanes of the last vector
// (tail: those lanes 0; nullptr: no padding). Disallowed entries are set to lowest; returns
// the row max. Without mask or padding the row is only read.
inline float row_max(float* x, const float* a, const vf* tail, Index w) {
  vf m = Simd::splat(kLowest);
  const Index full = (!a && tail) ? w - VL : w;
  for (Index c = 0; c < full; c += VL) {
    vf v = Simd::load(x + c);
    if (a) {
      const vf av = Simd::load(a + c);
      v = v * av + (1.0f - av) * kLowest;
      Simd::store(x + c, v);
    }
    m = Simd::max(m, v);
  }
  if (full < w) {
    const vf v = Simd::load(x + full) * *tail + (1.0f - *tail) * kLowest;
    Simd::store(x + full, v);
    m = Simd::max(m, v);
  }
  return Simd::hmax(m);
}

// x = exp(min(max(x - shift, -87), 0)) on allowed entries, 0 elsewhere (a, tail as in
// row_max); returns Σ x (fixed order). min(., 0): masked entries may lie above the shift.
inline float exp_row(float* x, const float* a, const vf* tail, float shift, Index w) {
  vf sum{};
  const Index full = (!a && tail) ? w - VL : w;
  for (Index c = 0; c < full; c += VL) {
    vf v = vexp_nonpositive(
        Simd::min(Simd::max(Simd::load(x + c) - shift, Simd::splat(-87.0f)), vf{}));
    if (a) v *= Simd::load(a + c);
    Simd::store(x + c, v);
    sum += v;
  }
  if (full < w) {
    const vf v = vexp_nonpositive(Simd::min(
                     Simd::max(Simd::load(x + full) - shift, Simd::splat(-87.0f)), vf{})) *
                 *tail;
    Simd::store(x + full, v);
    sum += v;
  }
  return Simd::hsum(sum);
}

// Columns of a key block's tiles that are computed: nc rounded up to whole vectors (the last
// block of S = 200 is 8 keys: 16 columns, not 64). Columns in [nc, w) are disallowed (the
// mask or the tail lanes); columns >= w are never read: the products after the softmax take nc
// keys.
inline Index tile_width(Index nc) { return (nc + VL - 1) / VL * VL; }

// ---------------------------------------------------------------------------------------------
// Shapes of one problem, shared by forward and backward.
struct Dims {
  Index B, T, S, H, Dk, Dv, HDk, HDv, Sp, nqb, nkb;
  explicit Dims(const AttentionProblem& p)
      : B(p.B), T(p.T), S(p.S), H(p.H), Dk(p.Dk), Dv(p.Dv), HDk(p.H * p.Dk), HDv(p.H * p.Dv),
        Sp((p.S + Bc - 1) / Bc * Bc), nqb((p.T + Br - 1) / Br), nkb((p.S + Bc - 1) / Bc) {}
};

// First query block that can see key block [s0, ...): causal skips blocks whose last row < s0.
inline Index query_block_begin(const AttentionProblem& p, Index s0) {
  return p.causal ? s0 / Br : 0;
}

// The 0/1 allowed entries of a tile (rows r0.., keys s0 .. s0+nc) in allow (nr, ld), zero in
// columns [nc, ld); or false when every entry of the tile's nc keys is allowed (no mask, not on
// the causal diagonal: the padding columns past nc are then the tail lanes' business). Forward
// and backward see the same allowed entries.
bool tile_mask(const AttentionProblem& p, const Dims& d, Index b, Index r0, Index nr, Index s0,
               Index nc, Index ld, float* allow) {
  const bool diagonal = p.causal && s0 + nc - 1 > r0;
  if (!p.qmask && !p.kv && !p.attn && !diagonal) return false;
  for (Index r = 0; r < nr; ++r) {
    const Index t = r0 + r;
    float* a = allow + r * ld;
    if (p.qmask && !p.qmask[b * d.T + t]) { std::fill(a, a + ld, 0.0f); continue; }
    if (p.kv) std::copy(p.kv + b * d.S + s0, p.kv + b * d.S + s0 + nc, a);
    else std::fill(a, a + nc, 1.0f);
    std::fill(a + nc, a + ld, 0.0f);
    if (p.attn) {
      const std::uint8_t* am = p.attn + (b * d.T + t) * d.S + s0;
      for (Index c = 0; c < nc; ++c) a[c] *= static_cast<float>(am[c]);
    }
    if (p.causal)
      for (Index c = std::max<Index>(0, t - s0 + 1); c < nc; ++c) a[c] = 0.0f;
  }
  return true;
}

// z[c] = keep / (1 - rate) for keys s0 + c of row (b, h, t): the dropout stream of the
// reference kernel, keep = uniform01(seed, step, flat (B, H, T, S) index) >= rate. As
// uniform01 = (h >> 40) · 2^-24 with both sides of the comparison exact, keep is the integer
// test (h >> 40) >= ceil(rate · 2^24): no int-to-float conversion in this hot loop (the tiled
// kernel draws each keep decision twice, in forward and backward).
inline void keep_factors(const AttentionProblem& p, const Dims& d, Index bh, Index t, Index s0,
                         Index nc, float* z) {
  const std::uint64_t base = static_cast<std::uint64_t>((bh * d.T + t) * d.S + s0);
  const float inv_keep = 1.0f / (1.0f - p.rate);
  const std::uint64_t threshold = static_cast<std::uint64_t>(std::ceil(p.rate * 16777216.0f));
  const std::uint64_t seed = p.seed, step = p.step;
  for (Index c = 0; c < nc; ++c) {
    const std::uint64_t i = base + static_cast<std::uint64_t>(c);
    const std::uint64_t h = splitmix64(seed ^ splitmix64(step ^ splitmix64(i)));
    z[c] = (h >> 40) >= threshold ? inv_keep : 0.0f;
  }
  std::fill(z + nc, z + tile_width(nc), 0.0f);
}

// Kᵀ panels of one head: panel kb (D, Bc) holds keys [kb*Bc, (kb+1)*Bc) of the head's (S, D)
// slice of X (B, S, H*D), zero-padded past S. Contiguous panels: the score kernel re-reads a
// panel for every block of query rows, and rows S floats apart would fight over the same L1 sets.
void transpose_head(const float* X, Index b, Index h, const Dims& d, Index D, float* M) {
  const Index HD = d.H * D;
  for (Index kb = 0; kb < d.nkb; ++kb) {
    const Index s0 = kb * Bc, nc = std::min(Bc, d.S - s0);
    float* panel = M + kb * D * Bc;
    for (Index c = 0; c < nc; ++c) {
      const float* x = X + (b * d.S + s0 + c) * HD + h * D;
      for (Index k = 0; k < D; ++k) panel[k * Bc + c] = x[k];
    }
    for (Index k = 0; k < D; ++k) std::fill(panel + k * Bc + nc, panel + (k + 1) * Bc, 0.0f);
  }
}

// Copies n rows of D floats, row stride ld, into a contiguous (n, D) block.
inline void copy_rows(const float* X, Index ld, Index n, Index D, float* out) {
  for (Index i = 0; i < n; ++i) std::copy(X + i * ld, X + i * ld + D, out + i * D);
}
// n rows of D floats times `scale`, row strides ld and ld_out (Q times 1/sqrt(Dk): the scores
// come out of the product scaled).
inline void copy_rows_scaled(const float* X, Index ld, Index n, Index D, float scale, float* out,
                             Index ld_out) {
  for (Index i = 0; i < n; ++i)
    for (Index k = 0; k < D; ++k) out[i * ld_out + k] = X[i * ld + k] * scale;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
void FlashAttention::forward(const AttentionProblem& p, float* O) {
  const Dims d(p);
  const Index B = d.B, T = d.T, H = d.H, Dk = d.Dk, Dv = d.Dv, HDk = d.HDk, HDv = d.HDv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dk));
  lse_.resize(B * H * T);
  // Key blocks of KW = min(S rounded up to a vector, kFlashForwardKeys) keys: S <= 256 is one
  // block per row, a plain softmax with no running-max rescaling; longer rows pay the
  // horizontal max and sum, exp(m_old - m_new) and the rescale of acc once per 256 keys
  // rather than per 64 (at d = 32 that per-block work cost more than the products; at
  // d = 64, T = 4096, 256-key blocks measured 6% faster than 64). The scores tile is at most
  // (Br, kFlashForwardKeys): nothing of size (T, S) is kept.
  const Index KW = std::min(tile_width(d.S), kFlashForwardKeys);

  // Work space: Kᵀ in key-block panels (B, H, S/Bc, Dk, Bc) and V per head, contiguous
  // (B, H, S, Dv) (the kernels re-read a block of each for every block of query rows; rows H*D
  // floats apart would fight over L1 sets and defeat the prefetcher), then per thread:
  // scores/probabilities (Br, KW), allowed (Br, KW), keep factors (KW), O accumulator (Br, Dv),
  // scaled Q block (Br, Dk), running max m and sum l (Br).
  const Index kt_size = padded(B * H * Dk * d.Sp), v_size = padded(B * H * d.S * Dv);
  const Index per_thread = padded(2 * Br * KW + KW + Br * Dv + Br * Dk + 2 * Br);
  scratch_.resize(static_cast<std::size_t>(kt_size + v_size + num_threads() * per_thread));
  float* ktpack = scratch_.data();
  float* vpack = ktpack + kt_size;

  // Kᵀ in key-block panels (Dk, Bc) and V per head (S, Dv).
  parallel_for(B * H, worth_threads(B * H * T * d.S * (Dk + Dv)), [&](Index bh) {
    const Index b = bh / H, h = bh % H;
    transpose_head(p.K, b, h, d, Dk, ktpack + bh * Dk * d.Sp);
    copy_rows(p.V + b * d.S * HDv + h * Dv, HDv, d.S, Dv, vpack + bh * d.S * Dv);
  });

  parallel_for(B * H * d.nqb, worth_threads(B * H * T * d.S * (Dk + Dv)), [&](Index task) {
    const Index bh = task / d.nqb, qb = task % d.nqb, b = bh / H, h = bh % H;
    const Index r0 = qb * Br, nr = std::min(Br, T - r0);
    float* work = scratch_.data() + kt_size + v_size + thread_id() * per_thread;
    float* sc = work;                 // (Br, KW)
    float* allow = sc + Br * KW;      // (Br, KW)
    float* z = allow + Br * KW;       // (KW)
    float* acc = z + KW;              // (Br, Dv)
    float* qblk = acc + Br * Dv;      // (Br, Dk)
    float* m = qblk + Br * Dk;        // (Br)
    float* l = m + Br;                // (Br)
    std::fill(acc, acc + nr * Dv, 0.0f);
    std::fill(m, m + nr, kLowest);
    std::fill(l, l + nr, 0.0f);
    // Q block (nr, Dk) / sqrt(Dk), contiguous: it is re-read for every key panel
    copy_rows_scaled(p.Q + (b * T + r0) * HDk + h * Dk, HDk, nr, Dk, scale, qblk, Dk);
    const float* kt = ktpack + bh * Dk * d.Sp;            // nkb panels (Dk, Bc)
    // keys a row of this block can see: causal stops at the block's last row
    const Index visible = p.causal ? std::min(d.S, r0 + nr) : d.S;

    for (Index s0 = 0; s0 < visible; s0 += KW) {
      const Index nc = std::min(KW, visible - s0), w = tile_width(nc);
      // scores = (Q / sqrt(Dk))·Kᵀ   (nr, w), panel by panel; padding columns give 0
      for (Index c0 = 0; c0 < nc; c0 += Bc)
        gemm(sc + c0, KW, qblk, Dk, 1, kt + (s0 + c0) / Bc * Dk * Bc, Bc, nr, Dk,
             tile_width(std::min(Bc, nc - c0)), false);
      const bool masked = tile_mask(p, d, b, r0, nr, s0, nc, KW, allow);
      const vf tail_lanes = lanes_below(nc - (w - VL));
      const vf* tail = nc < w ? &tail_lanes : nullptr;

      // Online softmax per row: x = scaled scores (disallowed: lowest), m' = max(m, max x),
      // p = exp(x - m') (disallowed: 0), l = l·exp(m - m') + Σ p, acc = acc·exp(m - m').
      for (Index r = 0; r < nr; ++r) {
        float* x = sc + r * KW;
        const float* a = masked ? allow + r * KW : nullptr;
        const float mt = row_max(x, a, tail, w);
        const float m_old = m[r], m_new = std::max(m_old, mt);
        if (m_new == kLowest) { std::fill(x, x + w, 0.0f); continue; }  // nothing allowed yet
        const float psum = exp_row(x, a, tail, m_new, w);
        if (m_old == kLowest) {  // first block with an allowed entry: acc and l are still 0
          l[r] = psum;
        } else {
          const float alpha = std::exp(m_old - m_new);
          l[r] = l[r] * alpha + psum;
          if (alpha != 1.0f) for (Index j = 0; j < Dv; ++j) acc[r * Dv + j] *= alpha;
        }
        m[r] = m_new;
        // Pd = p · keep / (1 - rate): l sums p before dropout, as the reference's softmax does
        if (p.dropped) {
          keep_factors(p, d, bh, r0 + r, s0, nc, z);
          for (Index c = 0; c < w; ++c) x[c] *= z[c];
        }
      }
      // acc += Pd·V   (nr, nc)·(nc, Dv)
      gemm(acc, Dv, sc, KW, 1, vpack + (bh * d.S + s0) * Dv, Dv, nr, nc, Dv, true);
    }

    // O = acc / l, lse = m + log(l); a row with nothing allowed: O = 0 (lse unused: its P
    // is masked to 0 in backward).
    float* lse = lse_.data() + bh * T + r0;
    for (Index r = 0; r < nr; ++r) {
      float* o = O + (b * T + r0 + r) * HDv + h * Dv;
      if (l[r] > 0.0f) {
        const float inv = 1.0f / l[r];
        for (Index j = 0; j < Dv; ++j) o[j] = acc[r * Dv + j] * inv;
        lse[r] = m[r] + std::log(l[r]);
      } else {
        std::fill(o, o + Dv, 0.0f);
        lse[r] = 0.0f;
      }
    }
  });
}

void FlashAttention::backward(const AttentionProblem& p, const float* O, const float* dO,
                              float* dQ, float* dK, float* dV) {
  const Dims d(p);
  const Index B = d.B, T = d.T, S = d.S, H = d.H, Dk = d.Dk, Dv = d.Dv, HDk = d.HDk,
              HDv = d.HDv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dk));
  // Work tiles per thread: P (Br, Bc), dP (Br, Bc), Pd (Br, Bc), allowed (Br, Bc), keep
  // factors (Bc), dK and dV accumulators (Bc, Dk) and (Bc, Dv), Vᵀ panel (Dv, Bc), K block
  // (Bc, Dk), the head's Q (T, Dk), dO (T, Dv), dQ accumulator (T, Dk), Kᵀ panels (Dk, Sp),
  // Dt (T). Contiguous copies of strided rows: the inner loop streams Q and dO block by block,
  // and the prefetcher follows. Kᵀ is rebuilt rather than kept from forward (cheap, O(S·Dk)).
  const Index per_thread = padded(4 * Br * Bc + Bc + 2 * Bc * Dk + 2 * Bc * Dv + 2 * T * Dk +
                                  T * Dv + Dk * d.Sp + T);
  scratch_.resize(static_cast<std::size_t>(num_threads()) * per_thread);

  // One task per (b, h): it owns the (b, h) slices of dQ, dK, dV, so writes are disjoint and
  // every sum runs in one fixed order (key blocks outer, query blocks inner).
  parallel_for(B * H, worth_threads(B * H * T * d.S * (Dk + Dv)), [&](Index bh) {
    const Index b = bh / H, h = bh % H;
    float* work = scratch_.data() + thread_id() * per_thread;
    float* P = work;               // (Br, Bc)
    float* dP = P + Br * Bc;       // (Br, Bc)
    float* Pd = dP + Br * Bc;      // (Br, Bc)
    float* allow = Pd + Br * Bc;   // (Br, Bc)
    float* z = allow + Br * Bc;    // (Bc)
    float* dKa = z + Bc;           // (Bc, Dk)
    float* dVa = dKa + Bc * Dk;    // (Bc, Dv)
    float* vt = dVa + Bc * Dv;     // (Dv, Bc)
    float* kblk = vt + Dv * Bc;    // (Bc, Dk)
    float* qpack = kblk + Bc * Dk; // (T, Dk)
    float* dopack = qpack + T * Dk;  // (T, Dv)
    float* dqpack = dopack + T * Dv;  // (T, Dk) dQ accumulator
    float* kt = dqpack + T * Dk;   // (S/Bc, Dk, Bc)
    float* Dt = kt + Dk * d.Sp;    // (T)
    transpose_head(p.K, b, h, d, Dk, kt);
    const float* lse = lse_.data() + bh * T;
    const float* Qh = p.Q + b * T * HDk + h * Dk;    // (T, Dk), row stride H*Dk
    const float* Kh = p.K + b * S * HDk + h * Dk;    // (S, Dk)
    const float* dOh = dO + b * T * HDv + h * Dv;    // (T, Dv)
    float* dQh = dQ + b * T * HDk + h * Dk;          // (T, Dk)
    float* dKh = dK + b * S * HDk + h * Dk;          // (S, Dk)
    float* dVh = dV + b * S * HDv + h * Dv;          // (S, Dv)

    copy_rows_scaled(Qh, HDk, T, Dk, scale, qpack, Dk);  // Q / sqrt(Dk), as in forward
    copy_rows(dOh, HDv, T, Dv, dopack);
    // Dt = rowsum(dO * O)   (T)
    for (Index t = 0; t < T; ++t) Dt[t] = dot_fixed(dopack + t * Dv, O + (b * T + t) * HDv + h * Dv, Dv);
    std::fill(dqpack, dqpack + T * Dk, 0.0f);

    for (Index kb = 0; kb < d.nkb; ++kb) {
      const Index s0 = kb * Bc, nc = std::min(Bc, S - s0), w = tile_width(nc);
      std::fill(dKa, dKa + Bc * Dk, 0.0f);
      std::fill(dVa, dVa + Bc * Dv, 0.0f);
      for (Index k = 0; k < Dv; ++k) {  // Vᵀ panel (Dv, Bc), zero past S
        for (Index c = 0; c < nc; ++c) vt[k * Bc + c] = p.V[(b * S + s0 + c) * HDv + h * Dv + k];
        std::fill(vt + k * Bc + nc, vt + (k + 1) * Bc, 0.0f);
      }
      copy_rows(Kh + s0 * HDk, HDk, nc, Dk, kblk);
      for (Index qb = query_block_begin(p, s0); qb < d.nqb; ++qb) {
        const Index r0 = qb * Br, nr = std::min(Br, T - r0);
        const float* Qb = qpack + r0 * Dk;    // (nr, Dk)
        const float* dOb = dopack + r0 * Dv;  // (nr, Dv)
        // forward: scores = (Q / sqrt(Dk))·Kᵀ; P = exp(scores - lse) over the allowed entries
        gemm(P, Bc, Qb, Dk, 1, kt + kb * Dk * Bc, Bc, nr, Dk, w, false);
        const bool masked = tile_mask(p, d, b, r0, nr, s0, nc, Bc, allow);
        const vf tail_lanes = lanes_below(nc - (w - VL));
        const vf* tail = nc < w ? &tail_lanes : nullptr;
        for (Index r = 0; r < nr; ++r)
          exp_row(P + r * Bc, masked ? allow + r * Bc : nullptr, tail, lse[r0 + r], w);
        // O = Pd·V  ->  dPd = dO·Vᵀ   (nr, Bc)
        gemm(dP, Bc, dOb, Dv, 1, vt, Bc, nr, Dv, w, false);
        // Pd = P·z, z = keep / (1 - rate)  ->  dP = dPd·z (the same keep decisions, regenerated)
        const float* pd = P;
        if (p.dropped) {
          for (Index r = 0; r < nr; ++r) {
            keep_factors(p, d, bh, r0 + r, s0, nc, z);
            for (Index c = 0; c < w; ++c) {
              Pd[r * Bc + c] = P[r * Bc + c] * z[c];
              dP[r * Bc + c] *= z[c];
            }
          }
          pd = Pd;
        }
        // O = Pd·V  ->  dV += Pdᵀ·dO   (nc, nr)·(nr, Dv)
        gemm(dVa, Dv, pd, 1, Bc, dOb, Dv, nc, nr, Dv, true);
        // P = softmax(scores)  ->  dscores = P * (dP - Dt)   (in dP)
        for (Index r = 0; r < nr; ++r) {
          const float dt = Dt[r0 + r];
          float* ds = dP + r * Bc;
          const float* pr = P + r * Bc;
          for (Index c = 0; c < w; c += VL)
            Simd::store(ds + c, Simd::load(pr + c) * (Simd::load(ds + c) - dt));
        }
        // scores = (Q / sqrt(Dk))·Kᵀ  ->  dQ += dS·K (nr, nc)·(nc, Dk) (times 1/sqrt(Dk) when
        // stored), dK += dSᵀ·(Q / sqrt(Dk)) (nc, nr)·(nr, Dk)
        gemm(dqpack + r0 * Dk, Dk, dP, Bc, 1, kblk, Dk, nr, nc, Dk, true);
        gemm(dKa, Dk, dP, 1, Bc, Qb, Dk, nc, nr, Dk, true);
      }
      for (Index c = 0; c < nc; ++c) {
        std::copy(dKa + c * Dk, dKa + (c + 1) * Dk, dKh + (s0 + c) * HDk);
        std::copy(dVa + c * Dv, dVa + (c + 1) * Dv, dVh + (s0 + c) * HDv);
      }
    }
    copy_rows_scaled(dqpack, Dk, T, Dk, scale, dQh, HDk);
  });
}

std::size_t FlashAttention::bytes() const {
  return sizeof(float) * (lse_.capacity() + scratch_.capacity());
}

}  // namespace seqattn
