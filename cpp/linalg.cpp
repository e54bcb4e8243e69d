#include "linalg.hpp"

#include <algorithm>

#include "parallel.hpp"

namespace seqattn {

namespace {
// Splits [0, n) into `parts` contiguous chunks; chunk p is [begin, end).
inline void chunk(Index n, int parts, int p, Index& begin, Index& end) {
  Index base = n / parts, rem = n % parts;
  begin = p * base + std::min<Index>(p, rem);
  end = begin + base + (p < rem ? 1 : 0);
}
// Enough work per thread to be worth waking it (about 64k multiply-adds).
inline int parts_for(Index rows, Index work_per_row) {
  Index want = std::max<Index>(1, rows * work_per_row / 65536);
  return static_cast<int>(std::min<Index>({want, rows, static_cast<Index>(num_threads())}));
}
}  // namespace

void linear_forward(float* Y, const float* X, const float* W, const float* b, Index N, Index K,
                    Index M) {
  ConstMatMap Wm(W, K, M);
  const int parts = parts_for(N, K * M);
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
  for (int p = 0; p < parts; ++p) {
    Index r0, r1;
    chunk(N, parts, p, r0, r1);
    if (r1 <= r0) continue;
    ConstMatMap Xp(X + r0 * K, r1 - r0, K);
    MatMap Yp(Y + r0 * M, r1 - r0, M);
    Yp.noalias() = Xp * Wm;
    if (b) Yp.rowwise() += ConstVecMap(b, M).transpose();
  }
}

void linear_backward(float* dX, float* dW, float* db, const float* dY, const float* X,
                     const float* W, Index N, Index K, Index M) {
  ConstMatMap dYm(dY, N, M), Xm(X, N, K), Wm(W, K, M);
  // dX (N, K) += dY · Wᵀ: rows of dX are disjoint per thread.
  if (dX) {
    const int parts = parts_for(N, K * M);
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int p = 0; p < parts; ++p) {
      Index r0, r1;
      chunk(N, parts, p, r0, r1);
      if (r1 <= r0) continue;
      MatMap dXp(dX + r0 * K, r1 - r0, K);
      dXp.noalias() += dYm.middleRows(r0, r1 - r0) * Wm.transpose();
    }
  }
  // dW (K, M) += Xᵀ · dY: each thread owns a block of dW's rows (inputs channels).
  {
    const int parts = parts_for(K, N * M);
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int p = 0; p < parts; ++p) {
      Index k0, k1;
      chunk(K, parts, p, k0, k1);
      if (k1 <= k0) continue;
      MatMap dWp(dW + k0 * M, k1 - k0, M);
      dWp.noalias() += Xm.middleCols(k0, k1 - k0).transpose() * dYm;
    }
  }
  // db (M) += column sums of dY.
  if (db) {
    VecMap dbv(db, M);
    dbv += dYm.colwise().sum().transpose();
  }
}

}  // namespace seqattn
