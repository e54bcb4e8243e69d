// Tiled ("flash") attention core: softmax(Q·Kᵀ / sqrt(Dk)) · V over allowed entries, with
// dropout on the probabilities, forward and backward side by side, never holding a (T, S)
// matrix beyond one tile of Br rows per thread.
//
//   forward:  per (b, h, query block of Br rows), with Q scaled by 1/sqrt(Dk) first: key
//             blocks of kFlashForwardKeys (one block when S <= 256: a plain softmax per row)
//             with an online softmax (FlashAttention-2): running row max
//             m, running sum l, unnormalised O accumulator rescaled by exp(m_old - m_new). At
//             the end O = acc / l and the log-sum-exp lse = m + log(l) is the only per-row
//             statistic kept.                                                   (B, H, T)
//   backward: per (b, h), outer loop over key blocks (dK, dV tiles accumulate in registers /
//             L1), inner loop over query blocks: recompute the scores from the scaled Q,
//             P = exp(x - lse), the dropout keep decisions from the counter-based RNG, then
//             dV += Pdᵀ·dO, dP = (dO·Vᵀ) * z, dS = P * (dP - Dt),
//             dQ += dS·K (times 1/sqrt(Dk) when stored), dK += dSᵀ·(Q / sqrt(Dk)), with
//             Dt = rowsum(dO * O) (holds with dropout too: Σ_s P z dO·V_s = dO·O).
//
// Masks are exactly those of MultiHeadAttention (see attention.hpp): allowed(b, t, s) =
// qmask[b, t] & kv[b, s] & attn[b, t, s] & (causal ? s <= t : 1). Tiles wholly above the
// causal diagonal are skipped; a row with no allowed entry gets O = 0, zero gradients.
//
// Determinism: every task (forward: (b, h, query block); backward: (b, h)) writes disjoint
// memory and sums in a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor.hpp"

namespace seqattn {

// Tile sizes: a (Br, Bc) score tile is 16 KiB and, with the Q, K, V, dO blocks of one tile,
// stays in L2 (L1 for Dk = 32); Bc = 64 = four 16-float vectors, the width of the score
// micro-kernel.
// Measured: 64 x 64 beat 32 x 64, 64 x 32, 32 x 32 and 128 x 64 (Dk = 64, T = 2048).
constexpr Index kFlashBr = 64;  // query rows per tile
constexpr Index kFlashBc = 64;  // keys per tile (a multiple of the vector length)
// Forward only: keys per block of the online softmax (S <= 256: one block, a plain softmax);
// fewer blocks, fewer per-row rescales (see forward).
constexpr Index kFlashForwardKeys = 256;

// What one attention call sees. Heads are column slices: Q (B, T, H*Dk) head h = columns
// [h*Dk, (h+1)*Dk), likewise K (B, S, H*Dk), V (B, S, H*Dv).
struct AttentionProblem {
  Index B = 0, T = 0, S = 0, H = 0, Dk = 0, Dv = 0;
  const float* Q = nullptr;             // (B, T, H*Dk)
  const float* K = nullptr;             // (B, S, H*Dk)
  const float* V = nullptr;             // (B, S, H*Dv)
  const std::uint8_t* qmask = nullptr;  // (B, T) 1 = real query, or nullptr (all real)
  const float* kv = nullptr;            // (B, S) 0/1 value & key mask, or nullptr
  const std::uint8_t* attn = nullptr;   // (B, T, S) 1 = may attend, or nullptr
  bool causal = false;                  // s <= t
  bool dropped = false;                 // dropout on the probabilities (training)
  float rate = 0.0f;                    // keep = uniform01(seed, step, flat (B,H,T,S)) >= rate
  std::uint64_t seed = 0, step = 0;
};

class FlashAttention {
 public:
  // O (B, T, H*Dv) = attention(p); keeps the row log-sum-exp lse (B, H, T) for backward.
  void forward(const AttentionProblem& p, float* O);
  // From dO (B, T, H*Dv) and the forward's O: overwrites dQ (B, T, H*Dk), dK (B, S, H*Dk),
  // dV (B, S, H*Dv). `p` must describe the same call as the last forward.
  void backward(const AttentionProblem& p, const float* O, const float* dO, float* dQ, float* dK,
                float* dV);
  // Bytes held between calls (all O(T + S) per (b, h)).
  std::size_t bytes() const;

 private:
  std::vector<float> lse_;      // (B, H, T) log-sum-exp of the scaled scores of each row
  // Work space, sized once per shape and shared by forward and backward (nothing in it is
  // kept from one to the other): forward Kᵀ panels and V per head (B, H, S, Dk + Dv) + tiles;
  // backward per thread: the head's Q, dO, dQ, Kᵀ (T or S, D) + tiles.
  std::vector<float> scratch_;
};

}  // namespace seqattn
