// Position encodings (keras-hub semantics): both RETURN the encoding of an input (B, T, C),
// broadcast over the batch, for the caller to add (Add()([x, positions])). The output does
// not depend on the input's values, so the input gets no gradient. The input's padding mask
// passes through, so it survives the Add (keras-hub computes no mask here).
#pragma once
#include "layer.hpp"

namespace seqattn {

// y[b, t] = W[t] for t < T <= sequence_length; weights `embeddings` (Tmax, C).
class PositionEmbedding : public Layer {
 public:
  PositionEmbedding(Index sequence_length, Index channels);
  std::string kind() const override { return "PositionEmbedding"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Index Tmax, C;
};

// y[b, t, i] = sin(t · w_i) for even i, cos(t · w_i) for odd i,
//   w_i = max_wavelength ^ (-2 · (i / 2) / C)   (integer i / 2); no weights.
class SinePositionEncoding : public Layer {
 public:
  explicit SinePositionEncoding(double max_wavelength);
  std::string kind() const override { return "SinePositionEncoding"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  double max_wavelength;

 private:
  Tensor table_;  // (T, C) the encoding, recomputed only when T or C change
};

}  // namespace seqattn
