// The GEMM implementation, included by one translation unit per instruction set
// (gemm_avx512.cpp and gemm_avx2.cpp with their own -m flags, gemm.cpp with the target's);
// gemm.cpp picks one at run time. Everything here has internal linkage (an anonymous namespace), so the
// copies compiled for different instruction sets never mix at link time.
//
// Micro-kernel geometry: an MR x NR tile of C lives in 2*MR vector registers (NR = 2 vectors).
// AVX-512 has 32 registers: 24 accumulators + 2 B vectors + 1 broadcast. AVX2 and SSE2 have
// 16: 12 accumulators + 3.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "kernels/microkernel.hpp"
#include "kernels/simd.hpp"
#include "parallel.hpp"

namespace seqattn {
namespace {

// One register of this translation unit's instruction set (kernels/simd.hpp: 16, 8 or 4
// floats), and its tile height: AVX-512 has 32 registers, AVX2 and SSE2 16.
using Simd = simd::Native;
using Vec = Simd::Vec;
constexpr int kLanes = Simd::kWidth;
constexpr int MR = simd::kRegisters == 32 ? 12 : 6;
constexpr const char* kIsa = simd::kIsa;
std::string kernel_name() { return std::string(kIsa) + " " + std::to_string(MR) + "x" + std::to_string(2 * kLanes); }
constexpr int NR = 2 * kLanes;
// Cache blocking: an A micro-panel (MR x KC, 12 KiB on AVX-512) stays in L1 while it sweeps
// the B panels of one task (KC x NCT, 256 KiB) in L2. Fixed sizes: the summation order of
// every element is k ascending in KC blocks whatever the shapes and thread count.
constexpr Index KC = 256;
constexpr Index MC = MR * 16;  // at most this many rows of A packed per task
constexpr Index NCT = NR * 8;  // columns of C per task

// Grow-only, 64-byte aligned scratch (no allocation once the largest shape has been seen).
struct Buffer {
  std::vector<float> storage;
  float* get(Index n) {
    if (static_cast<Index>(storage.size()) < n + 16) storage.resize(n + 16);
    const auto addr = reinterpret_cast<std::uintptr_t>(storage.data());
    return storage.data() + ((64 - addr % 64) % 64) / sizeof(float);
  }
};
// Per calling thread: two Python threads may train two models at once.
thread_local Buffer t_packed_a, t_packed_b;

// Packs A[i0 : i0+mc, p0 : p0+kc] as MR-row micro-panels: dst[(r*kc + p)*MR + i], rows past
// the end of A are zero.
void pack_a(float* dst, const MatView& A, Index m, Index i0, Index mc, Index p0, Index kc) {
  for (Index r = 0; r < mc; r += MR) {
    float* d = dst + r * kc;
    const Index rows = std::min<Index>(MR, m - i0 - r);
    for (Index p = 0; p < kc; ++p, d += MR) {
      const float* src = A.data + (i0 + r) * A.row_stride + (p0 + p) * A.col_stride;
      Index i = 0;
      for (; i < rows; ++i) d[i] = src[i * A.row_stride];
      for (; i < MR; ++i) d[i] = 0.0f;
    }
  }
}

// Packs B[p0 : p0+kc, j0 : j0+NR] as one micro-panel: dst[p*NR + j], columns past the end of
// B are zero.
void pack_b_panel(float* dst, const MatView& B, Index n, Index j0, Index p0, Index kc) {
  const Index cols = std::min<Index>(NR, n - j0);
  for (Index p = 0; p < kc; ++p, dst += NR) {
    const float* src = B.data + (p0 + p) * B.row_stride + j0 * B.col_stride;
    if (cols == NR && B.col_stride == 1) {
      std::memcpy(dst, src, NR * sizeof(float));
      continue;
    }
    Index j = 0;
    for (; j < cols; ++j) dst[j] = src[j * B.col_stride];
    for (; j < NR; ++j) dst[j] = 0.0f;
  }
}

// C[0:mr, 0:nr] (ldc) = or += the MR x NR product of the A panel a and the packed B panel b
// (kc x NR). A panel: packed (kDirectA false: kc x MR, a[p*MR + i]) or, kDirectA, rows of a
// row-major A read in place (a[i*lda + p]; rows past mr re-read row mr-1, never stored).
// overwrite: C = product + bias (bias: nr entries or nullptr); else C += product.
// relu: then C = max(C, 0) (the last k block of a Dense layer with ReLU).
template <bool kDirectA>
inline void micro_kernel(Index kc, const float* a, Index lda, const float* b, float* c, Index ldc,
                         int mr, int nr, bool overwrite, const float* bias, bool relu) {
  // The accumulators start from the first k's products, not from zero
  // (kernels/microkernel.hpp, sum_products): a zeroing loop became two `rep stos` of the
  // arrays on the stack (GCC's loop distribution), a fifth of the kernel's time at kc = 32.
  // acc[i][0], acc[i][1]: row i's 2 vectors.
  Vec acc[MR][2];
  const float* row[MR];  // kDirectA: the MR rows of A
  for (int i = 0; i < MR; ++i) row[i] = a + std::min(i, mr - 1) * lda;
  auto a_at = [&](int i, Index p) { return kDirectA ? row[i][p] : a[p * MR + i]; };
  kernels::sum_products<Simd>(acc, a_at, b, NR, kc);
  if (mr == MR && nr == NR) {
    Vec bias0 = Vec{}, bias1 = Vec{};
    if (overwrite && bias) { bias0 = Simd::load(bias); bias1 = Simd::load(bias + kLanes); }
    const Vec zero = Vec{};
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      Vec r0 = overwrite ? acc[i][0] + bias0 : Simd::load(ci) + acc[i][0];
      Vec r1 = overwrite ? acc[i][1] + bias1 : Simd::load(ci + kLanes) + acc[i][1];
      if (relu) {
        r0 = r0 < zero ? zero : r0;  // NaN stays NaN, as in Keras and PyTorch
        r1 = r1 < zero ? zero : r1;
      }
      Simd::store(ci, r0);
      Simd::store(ci + kLanes, r1);
    }
    return;
  }
  // Edge tile: the same sums, stored element by element.
  float tile[MR * NR];
  for (int i = 0; i < MR; ++i) {
    Simd::store(tile + i * NR, acc[i][0]);
    Simd::store(tile + i * NR + kLanes, acc[i][1]);
  }
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      float& cij = c[i * ldc + j];
      cij = overwrite ? tile[i * NR + j] + (bias ? bias[j] : 0.0f) : cij + tile[i * NR + j];
      if (relu && cij < 0.0f) cij = 0.0f;
    }
}

thread_local Buffer t_partials;

// One thread, no split: the whole product in the order described above.
void gemm_serial(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc,
                 bool accumulate, const float* bias, bool relu, bool allow_threads);

// Split-k for products with too few tiles of C to share (dW of a narrow layer: C is 32 x 64
// while k = B*T = 6400). k is cut into kParts fixed ranges (a function of k only), each
// range's product goes to its own partial buffer on whichever thread, then
// C (+)= ((P0 + P1) + P2) + ... in range order: the same sums for any thread count.
constexpr Index kSplitMinK = 2048;   // each range keeps at least 1024 of the depth
constexpr Index kMaxParts = 8;

void gemm_impl(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc,
               bool accumulate, const float* bias, bool relu) {
  const Index tiles = ((m + MC - 1) / MC) * ((n + NCT - 1) / NCT);
  if (tiles > 1 || k < kSplitMinK || m <= 0 || n <= 0) {  // never depends on the thread count
    gemm_serial(m, n, k, A, B, C, ldc, accumulate, bias, relu, true);
    return;
  }
  const Index parts = std::min(kMaxParts, k / (kSplitMinK / 2));
  float* partial = t_partials.get(parts * m * n);
  parallel_for(parts, worth_threads(m * n * k), [&](Index q) {
    const Index p0 = k * q / parts, p1 = k * (q + 1) / parts;
    const MatView Aq{A.data + p0 * A.col_stride, A.row_stride, A.col_stride};
    const MatView Bq{B.data + p0 * B.row_stride, B.row_stride, B.col_stride};
    gemm_serial(m, n, p1 - p0, Aq, Bq, partial + q * m * n, n, false, nullptr, false, false);
  });
  parallel_for(m, m * n >= 16384, [&](Index i) {
    float* c = C + i * ldc;
    for (Index j = 0; j < n; ++j) {
      float s = partial[i * n + j];
      for (Index q = 1; q < parts; ++q) s += partial[(q * m + i) * n + j];
      float v = accumulate ? c[j] + s : s + (bias ? bias[j] : 0.0f);
      if (relu && v < 0.0f) v = 0.0f;
      c[j] = v;
    }
  });
}

void gemm_serial(Index m, Index n, Index k, MatView A, MatView B, float* C, Index ldc,
                 bool accumulate, const float* bias, bool relu, bool allow_threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j) {
        float& c = C[i * ldc + j];
        if (!accumulate) c = bias ? bias[j] : 0.0f;
        if (relu && c < 0.0f) c = 0.0f;
      }
    return;
  }
  const Index kc_max = std::min(k, KC);
  const Index n_panels = (n + NR - 1) / NR;
  // Row blocks of equal size (a multiple of MR, at most MC): m = 256 gives 2 x 128 rather
  // than 192 + 64, which left one thread idle for a third of dW's time. Depends on m only, so
  // the thread count still never changes a result (blocking never splits k).
  const Index m_blocks = (m + MC - 1) / MC;
  const Index mcb = std::min(MC, ((m + m_blocks - 1) / m_blocks + MR - 1) / MR * MR);
  const Index n_blocks = (n + NCT - 1) / NCT;
  const Index tasks = m_blocks * n_blocks;
  // Waking the team costs more than a small product gains (parallel.hpp, worth_threads).
  const int threads =
      (allow_threads && tasks > 1 && worth_threads(m * n * k)) ? num_threads() : 1;
  float* packed_b = t_packed_b.get(n_panels * NR * kc_max);
  // A read in place rather than packed when one k block covers it (k <= KC) and it is
  // row-major: packing cost half as long as the products at k = 32 (perf, the small model's
  // projections); measured 81 -> 116 GFLOP/s at k = 32, 182 -> 200 at k = 256. Rows 4 KiB
  // apart would all land in the same L1 sets (measured slower at k = 1024), so those are
  // still packed.
  const bool direct_a = A.col_stride == 1 && k <= KC && (A.row_stride * 4) % 4096 != 0;
  float* packed_a = t_packed_a.get(static_cast<Index>(threads) * MC * kc_max);

  // One team (parallel.hpp): with threads > 1 one OpenMP region whose loops are shared out
  // between its threads, else plain loops (never a serialised region, and never an orphaned
  // `omp for` when gemm_serial runs inside another parallel loop: split-k).
  parallel_region(threads, [&](const Team& team) {
    // (a split-k part runs on a worker in a team of one: its own thread_local buffer, slot 0)
    float* my_a = packed_a + team.id() * MC * kc_max;
    for (Index p0 = 0; p0 < k; p0 += KC) {
      const Index kc = std::min(KC, k - p0);
      const bool overwrite = !accumulate && p0 == 0;
      const bool last = p0 + KC >= k;
      // every panel is packed before any task reads it (the barrier after the loop)
      team.for_each(n_panels,
                    [&](Index q) { pack_b_panel(packed_b + q * NR * kc, B, n, q * NR, p0, kc); });
      team.for_each(tasks, [&](Index t) {
        const Index i0 = (t / n_blocks) * mcb, j0 = (t % n_blocks) * NCT;
        if (i0 >= m) return;
        const Index mc = std::min(mcb, m - i0), nc = std::min(NCT, n - j0);
        if (!direct_a) pack_a(my_a, A, m, i0, mc, p0, kc);
        for (Index ir = 0; ir < mc; ir += MR) {
          const int mr = static_cast<int>(std::min<Index>(MR, mc - ir));
          for (Index jr = 0; jr < nc; jr += NR) {
            float* c = C + (i0 + ir) * ldc + j0 + jr;
            const float* pb = packed_b + (j0 + jr) * kc;
            const int nr = static_cast<int>(std::min<Index>(NR, nc - jr));
            const float* bj = bias ? bias + j0 + jr : nullptr;
            if (direct_a)
              micro_kernel<true>(kc, A.data + (i0 + ir) * A.row_stride + p0, A.row_stride, pb, c,
                                 ldc, mr, nr, overwrite, bj, relu && last);
            else
              micro_kernel<false>(kc, my_a + ir * kc, MR, pb, c, ldc, mr, nr, overwrite, bj,
                                  relu && last);
          }
        }
      });
      // (the next k block repacks B after the barrier)
    }
  });
}

}  // namespace
}  // namespace seqattn
