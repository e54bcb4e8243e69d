// Conv1D: y = f(conv(x, W) + b) on (B, T, C) channels-last input -> (B, To, F).
// The convolution is an unfold (im2col) of each output step's receptive field into a row of
// `cols_` (B·To, K·C), then one product with the kernel seen as a (K·C, F) matrix on the
// shared GEMM (linalg.hpp): the same arithmetic and threading rules as Dense.
#pragma once
#include "activations.hpp"
#include "layer.hpp"
#include "window1d.hpp"

namespace seqattn {

class Conv1D : public Layer {
 public:
  Conv1D(Index input_dim, Index filters, Index kernel_size, Index strides,
         const std::string& padding, Index dilation_rate, const std::string& activation,
         bool use_bias);
  std::string kind() const override { return "Conv1D"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Index Cin, F;
  Window1D window;
  bool use_bias;

 private:
  Activation activation_;
  Tensor cols_;   // (B·To, K·C) the unfolded input; zeros where a tap falls in the padding
  Tensor dcols_;  // (B·To, K·C) its gradient, folded back into dx
  Tensor z_;      // (B·To, F) pre-activation, kept when the activation is neither linear nor ReLU
  Tensor dz_;     // (B·To, F) gradient of the pre-activation
};

}  // namespace seqattn
