#include "linalg.hpp"

#include "gemm.hpp"

namespace seqattn {

void linear_forward(float* Y, const float* X, const float* W, const float* b, Index N, Index K,
                    Index M, bool relu) {
  gemm(N, M, K, {X, K, 1}, {W, M, 1}, Y, M, /*accumulate=*/false, b, relu);
}

void linear_backward(float* dX, float* dW, float* db, const float* dY, const float* X,
                     const float* W, Index N, Index K, Index M) {
  // dX (N, K) += dY (N, M) · Wᵀ (M, K)
  if (dX) gemm(N, K, M, {dY, M, 1}, {W, 1, M}, dX, K, /*accumulate=*/true);
  // dW (K, M) += Xᵀ (K, N) · dY (N, M)
  gemm(K, M, N, {X, 1, K}, {dY, M, 1}, dW, M, /*accumulate=*/true);
  // db (M) += Σ_n dY[n]: a plain loop in row order (a fixed summation order).
  if (db) {
    for (Index n = 0; n < N; ++n) {
      const float* row = dY + n * M;
      for (Index m = 0; m < M; ++m) db[m] += row[m];
    }
  }
}

}  // namespace seqattn
