// Dense products shared by layers (Dense, the attention projections), on gemm() (gemm.hpp):
// threads take disjoint tiles of the output; results do not depend on the thread count.
#pragma once
#include "tensor.hpp"

namespace seqattn {

// Y (N, M) = X (N, K) · W (K, M) + b (M); b may be nullptr. Overwrites Y.
// relu: Y = max(Y, 0) in the same pass (Dense with ReLU: bias and activation fused).
void linear_forward(float* Y, const float* X, const float* W, const float* b,
                    Index N, Index K, Index M, bool relu = false);

// Inverts linear_forward, accumulating:
//   dX (N, K) += dY · Wᵀ   (skipped when dX is nullptr)
//   dW (K, M) += Xᵀ · dY
//   db (M)    += Σ_n dY[n] (skipped when db is nullptr)
void linear_backward(float* dX, float* dW, float* db, const float* dY, const float* X,
                     const float* W, Index N, Index K, Index M);

}  // namespace seqattn
