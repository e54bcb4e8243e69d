// The one register-blocked k loop, shared by the GEMM's micro-kernel (gemm_impl.hpp) and the
// tiled attention's block products (flash_attention.cpp):
//
//   c[i][j] += Σ_{k0 <= k < K} a_at(i, k) · B[k*ldb + j*W : ... + W]     i < RB, j < NV
//
// An RB x NV block of vectors (W = Simd::kWidth floats each) lives in registers for the whole
// k loop; each k loads one row of B (NV vectors, rows ldb floats apart: the GEMM's packed
// panel or the attention's tiles in place) and broadcasts RB scalars of A. a_at(i, k) reads A
// in whatever layout the caller has (a packed panel, rows in place, any row and column
// strides: A·B and Aᵀ·B). k ascends; nothing else about the order is free.
//
// Where the sums start stays with the caller, because it is part of the arithmetic:
//   - the GEMM starts from the first product (first_products, then add_products from k = 1)
//     and adds C to the finished sum at the store; a zeroing loop cost a fifth of its time at
//     k = 32 (GCC turned it into `rep stos` of the arrays on the stack);
//   - the attention loads C (or zeros) into the block and adds term by term:
//     ((C + p0) + p1) + ...
// Forcing one start on both would change one of the two roundings. The attention's start and
// stores stay inline beside its row cascade: moving them in here changed GCC's register
// allocation of the 6 x 64 score block (benchmarks/NOTES.md).
//
// Header-only and in an anonymous namespace, like simd.hpp: the GEMM includes it once per
// instruction set, and every copy must keep its own vector width.
#pragma once

#include "kernels/simd.hpp"
#include "tensor.hpp"

namespace seqattn {
namespace kernels {
namespace {

// c[i][j] += a_at(i, k) · B[k*ldb + j*W ...] for k0 <= k < K, k ascending.
template <class Simd, int RB, int NV, class AAt>
__attribute__((always_inline)) inline void add_products(typename Simd::Vec (&c)[RB][NV],
                                                        const AAt& a_at, const float* B, Index ldb,
                                                        Index k0, Index K) {
  using Vec = typename Simd::Vec;
  constexpr int W = Simd::kWidth;
  for (Index k = k0; k < K; ++k) {
    Vec b[NV];
    for (int j = 0; j < NV; ++j) b[j] = Simd::load(B + k * ldb + j * W);
    for (int i = 0; i < RB; ++i) {
      const float a = a_at(i, k);
      for (int j = 0; j < NV; ++j) c[i][j] += a * b[j];
    }
  }
}

// c[i][j] = Σ_{k < K} a_at(i, k) · B[k*ldb + j*W ...], started from the k = 0 products, not
// from zero (0 + a·b rounds as a·b; only a -0 product would differ, becoming +0). K >= 1.
template <class Simd, int RB, int NV, class AAt>
inline void sum_products(typename Simd::Vec (&c)[RB][NV], const AAt& a_at, const float* B,
                         Index ldb, Index K) {
  using Vec = typename Simd::Vec;
  constexpr int W = Simd::kWidth;
  Vec b[NV];
  for (int j = 0; j < NV; ++j) b[j] = Simd::load(B + j * W);
  for (int i = 0; i < RB; ++i) {
    const float a = a_at(i, Index(0));
    for (int j = 0; j < NV; ++j) c[i][j] = a * b[j];
  }
  add_products<Simd>(c, a_at, B, ldb, 1, K);
}

}  // namespace
}  // namespace kernels
}  // namespace seqattn
