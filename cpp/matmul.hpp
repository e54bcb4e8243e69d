// MatMul: Keras ops.matmul on symbolic tensors, the products a custom attention layer writes.
//
//   c[i] = a[i] · b[i]     a (..., M, K), b (..., K, N) -> c (..., M, N)
//
// The leading (batch) axes of a and b are equal, or one side is a plain matrix (rank 2)
// shared by every batch item: x (B, T, C) · W (C, N), or a (T, T) table applied to every
// sample. Each product runs on the GEMM (gemm.hpp: fixed summation order, any thread count);
// the gradient of a shared matrix is summed over the batch in order. Mask: a's (B, T) mask
// passes through when a is (B, T, K).
#pragma once
#include "layer.hpp"

namespace seqattn {

class MatMul : public Layer {
 public:
  std::string kind() const override { return "MatMul"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;
};

}  // namespace seqattn
