// Small numeric helpers shared by the attention kernels (reference and tiled): a vectorisable
// exp for non-positive arguments and sums in a fixed order (thread-count independent rounding).
#pragma once

#include <cstdint>
#include <cstring>

#include "parallel.hpp"
#include "tensor.hpp"

namespace seqattn {
namespace attn_math {

// Cephes expf for -87 <= x <= 0 (a score minus its row maximum, clamped by the caller):
// exp(x) = 2^k · poly(r), x = k·ln2 + r; relative error < 1e-7 (1.5 ulp). Plain arithmetic on
// F = float or a GCC float vector (the tiled kernel's), so one copy of the constants serves
// both; the -87 clamp keeps results normal floats (no denormals). Returns poly(r) and sets t,
// whose low mantissa bits hold k: the caller adds k to the result's exponent field.
template <class F>
inline F exp_nonpositive_core(F x, F& t) {
  t = x * 1.44269504088896341f + 12582912.0f;  // 1.5·2^23 + round(x / ln 2)
  const F k = t - 12582912.0f;
  const F r = x - k * 0.693359375f + k * 2.12194440e-4f;
  const F z = r * r;
  F y = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
          4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f;
  return y * z + r + 1.0f;
}

// p[i] = exp(p[i]) for -87 <= p[i] <= 0. Scalar code the compiler vectorises at any SIMD
// level (Eigen's exp is slow on SSE2, which has no packed floor).
inline void exp_nonpositive(float* p, Index n) {
  for (Index i = 0; i < n; ++i) {
    float t;
    float y = exp_nonpositive_core(p[i], t);
    std::int32_t tb;  // y · 2^k: add k (the low mantissa bits of t) to y's exponent field
    std::uint32_t yb;
    std::memcpy(&tb, &t, 4);
    std::memcpy(&yb, &y, 4);
    yb += static_cast<std::uint32_t>(tb - 0x4B400000) << 23;
    std::memcpy(&y, &yb, 4);
    p[i] = y;
  }
}

// Sums in a fixed order (8 interleaved partial sums), whatever the alignment of x: per-thread
// work space sits at different addresses for different thread counts, and Eigen's vectorised
// reductions peel a pointer-dependent number of leading elements, which would change rounding.
inline float sum_fixed(const float* x, Index n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}
inline float dot_fixed(const float* x, const float* y, Index n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j] * y[i + j];
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

// Per-thread work space of n floats, rounded up to whole 64-byte lines.
inline Index padded(Index n) { return (n + 15) / 16 * 16; }

}  // namespace attn_math
}  // namespace seqattn
