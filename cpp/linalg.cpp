#include "linalg.hpp"

#include <algorithm>

#include "parallel.hpp"

namespace seqattn {

namespace {
// Work is cut into blocks whose size does NOT depend on the thread count: Eigen picks its
// kernels and summation order from the block shape, so fixed blocks give bit-identical
// results for 1, 2 or more threads. Threads then take whole blocks.
constexpr Index kRowBlock = 128;  // rows of X / Y per block
constexpr Index kColBlock = 16;   // rows of dW (input channels) per block

inline Index blocks(Index n, Index block) { return (n + block - 1) / block; }
}  // namespace

void linear_forward(float* Y, const float* X, const float* W, const float* b, Index N, Index K,
                    Index M) {
  ConstMatMap Wm(W, K, M);
  const Index nb = blocks(N, kRowBlock);
  SEQATTN_PARALLEL_FOR_IF(nb > 1 && N * K * M > 65536)
  for (Index blk = 0; blk < nb; ++blk) {
    const Index r0 = blk * kRowBlock, rows = std::min(kRowBlock, N - r0);
    ConstMatMap Xp(X + r0 * K, rows, K);
    MatMap Yp(Y + r0 * M, rows, M);
    Yp.noalias() = Xp * Wm;
    if (b) Yp.rowwise() += ConstVecMap(b, M).transpose();
  }
}

void linear_backward(float* dX, float* dW, float* db, const float* dY, const float* X,
                     const float* W, Index N, Index K, Index M) {
  ConstMatMap dYm(dY, N, M), Xm(X, N, K), Wm(W, K, M);
  // dX (N, K) += dY · Wᵀ: blocks of rows, disjoint per thread.
  if (dX) {
    const Index nb = blocks(N, kRowBlock);
    SEQATTN_PARALLEL_FOR_IF(nb > 1 && N * K * M > 65536)
    for (Index blk = 0; blk < nb; ++blk) {
      const Index r0 = blk * kRowBlock, rows = std::min(kRowBlock, N - r0);
      MatMap dXp(dX + r0 * K, rows, K);
      dXp.noalias() += dYm.middleRows(r0, rows) * Wm.transpose();
    }
  }
  // dW (K, M) += Xᵀ · dY: blocks of dW's rows (input channels), each a sum over all N.
  {
    const Index nb = blocks(K, kColBlock);
    SEQATTN_PARALLEL_FOR_IF(nb > 1 && N * K * M > 65536)
    for (Index blk = 0; blk < nb; ++blk) {
      const Index k0 = blk * kColBlock, cols = std::min(kColBlock, K - k0);
      MatMap dWp(dW + k0 * M, cols, M);
      dWp.noalias() += Xm.middleCols(k0, cols).transpose() * dYm;
    }
  }
  // db (M) += Σ_n dY[n]: a plain loop in row order (Eigen's reductions round differently
  // with memory alignment).
  if (db) {
    for (Index n = 0; n < N; ++n) {
      const float* row = dY + n * M;
      for (Index m = 0; m < M; ++m) db[m] += row[m];
    }
  }
}

}  // namespace seqattn
