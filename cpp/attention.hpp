// Multi-head attention (Keras 3 `MultiHeadAttention`), forward and backward side by side.
//
//   Q = query·Wq + bq                      (B, T, H, Dk)
//   K = key·Wk + bk                        (B, S, H, Dk)   key defaults to value
//   V = value·Wv + bv                      (B, S, H, Dv)
//   P = softmax_S(Q·Kᵀ / sqrt(Dk))         (B, H, T, S)    over allowed entries only
//   Pd = dropout(P)                        (B, H, T, S)    training only
//   O = Pd·V                               (B, T, H, Dv)
//   y = O·Wo + bo                          (B, T, Cout)
//
// Allowed (b, t, s) = query_mask[b, t] & value_mask[b, s] & key_mask[b, s]
//                     & attention_mask[b, t, s] & (use_causal_mask ? s <= t : 1)   (1 = attend).
// A row with no allowed entry gets an all-zero probability row (so y = bo there) and zero
// gradients, never NaN (Keras would give a uniform row instead).
//
// Two kernels compute the same thing:
//   - tiled ("flash", flash_attention.hpp), the default for training and inference: no (T, S)
//     matrix is kept; between forward and backward only O and the row log-sum-exp (B, H, T)
//     stay (with Q, K, V and the masks); backward recomputes score tiles and regenerates the
//     dropout keep decisions from the counter-based RNG (the same stream, so the same dropout).
//   - reference (materialising), when use_reference_kernel is set: P (B, H, T, S) and the keep
//     bytes are stored; plain Eigen products per (b, h). It is the oracle for the tiled one.
// attention_scores() (B, H, T, S) is computed on request from the cached Q, K and masks with
// the reference softmax (or is the reference forward's own P), so asking for the scores costs
// nothing when nobody asks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flash_attention.hpp"
#include "layer.hpp"
#include "tensor.hpp"

namespace seqattn {

class MultiHeadAttention : public Layer {
 public:
  // Params, Keras 3 order: query/kernel (C, H, Dk), query/bias (H, Dk), key/kernel (Ck, H, Dk),
  // key/bias (H, Dk), value/kernel (Cv, H, Dv), value/bias (H, Dv),
  // attention_output/kernel (H, Dv, Cout), attention_output/bias (Cout); no biases when
  // use_bias is false. Weights start at zero: the Python layer initialises them.
  // Throws std::invalid_argument for a non-positive size or a dropout outside [0, 1).
  MultiHeadAttention(Index query_dim /*C*/, Index value_dim_in /*Cv*/, Index key_dim_in /*Ck*/,
                     Index num_heads /*H*/, Index key_dim /*Dk*/, Index value_dim /*Dv*/,
                     float dropout, bool use_bias, Index output_dim /*Cout*/);

  std::string kind() const override { return "MultiHeadAttention"; }
  // in = {query (B, T, C), value (B, S, Cv), [key (B, S, Ck)], [attention_mask (B, T, S)]};
  // an empty Shape marks an absent key / attention_mask. Returns (B, T, Cout).
  Shape output_shape(const std::vector<Shape>& in) const override;
  // Padding masks must match their inputs: query mask (B, T), value and key masks (B, S).
  void check_values(const LayerInputs& in) const override;
  // in.x = {query, value, key or nullptr, attention_mask or nullptr};
  // in.mask = {query mask (B, T), value mask (B, S), key mask (B, S)}.
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  // dx = {dquery, dvalue, dkey or nullptr, nullptr}; dquery and dvalue may be the same tensor
  // (self-attention): everything is accumulated.
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  // Softmax probabilities of the last forward, before dropout.  (B, H, T, S)
  // Computed on the first request after a tiled forward (then kept until the next forward).
  const Tensor& attention_scores();

  // Bytes held between calls (caches, work buffers): O(T + S) per (b, h) with the tiled kernel,
  // plus the (B, T, S) attention-mask copy when one is given and P when scores were requested.
  std::size_t cache_bytes() const;

  void apply_call_options(const CallOptions& o) override { use_causal_mask = o.causal; }
  bool use_causal_mask = false;
  // Run the materialising reference kernel instead of the tiled one (tests, debugging).
  bool use_reference_kernel = false;

 private:
  AttentionProblem problem(bool dropped, std::uint64_t step) const;
  // Reference kernel: probabilities of head bh (T, S) into p, work (T*S + S) floats.
  void reference_probabilities(Index bh, float* p, float* work) const;
  void reference_forward(std::uint64_t step);
  void reference_backward();
  // A row of O that may attend to a non-finite score becomes NaN (see attention.cpp).
  void propagate_nonfinite();

  float* value_of(int i) { return i < 0 ? nullptr : params_[i].value.data(); }
  float* grad_of(int i) { return i < 0 ? nullptr : params_[i].grad.data(); }

  Index C_, Cv_, Ck_, H_, Dk_, Dv_, Cout_;
  float dropout_;
  bool use_bias_;
  // Indices into params_ (-1 = absent bias).
  int wq_ = -1, bq_ = -1, wk_ = -1, bk_ = -1, wv_ = -1, bv_ = -1, wo_ = -1, bo_ = -1;

  // Cache of the last forward (what backward needs).
  Index B_ = 0, T_ = 0, S_ = 0;
  Tensor Q_;                         // (B, T, H*Dk) head h = columns [h*Dk, (h+1)*Dk)
  Tensor K_;                         // (B, S, H*Dk)
  Tensor V_;                         // (B, S, H*Dv)
  Tensor O_;                         // (B, T, H*Dv) attention output before projection
  std::vector<std::uint8_t> qmask_;  // (B, T) query mask (empty: no mask)
  std::vector<float> kv_mask_;       // (B, S) value & key mask as 0/1 (empty: no mask)
  std::vector<std::uint8_t> attn_;   // (B, T, S) attention_mask != 0 (empty: none given)
  bool causal_ = false;              // use_causal_mask of the last forward
  std::uint64_t step_ = 0;           // ctx.step of the last forward (dropout stream)
  bool dropped_ = false;             // dropout was applied in the last forward
  bool reference_used_ = false;      // the last forward ran the reference kernel
  bool scores_ready_ = false;        // P_ holds the last forward's probabilities
  FlashAttention flash_;             // tiled kernel: lse (B, H, T), Kᵀ, Vᵀ, work tiles

  // Reference kernel only (empty after a tiled forward):
  Tensor P_;                         // (B, H, T, S) probabilities, before dropout
  std::vector<std::uint8_t> keep_;   // (B, H, T, S) dropout keep decisions (when dropped_)

  // Work buffers, reused across calls (no allocation in the steady state).
  std::vector<float> scratch_;       // reference, per thread: forward (T*S + S), backward (2*T*S)
  Tensor dO_;                        // (B, T, H*Dv)
  Tensor dQ_;                        // (B, T, H*Dk)
  Tensor dK_;                        // (B, S, H*Dk)
  Tensor dV_;                        // (B, S, H*Dv)
};

}  // namespace seqattn
