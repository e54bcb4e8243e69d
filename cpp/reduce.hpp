// Reduce: sum, mean or max over one axis (Keras ops.sum / ops.mean / ops.max with an axis),
// keepdims or not. The input is seen as (outer, D, inner) around the reduced axis of size D.
//
// Sums run over D in ascending order (fixed rounding at any thread count). max propagates NaN
// and splits its gradient equally among the positions that tie for the maximum (as TF, JAX
// and torch.amax do). Masks: kept when the reduced axis is past (B, T), dropped otherwise.
#pragma once
#include "layer.hpp"

namespace seqattn {

enum class ReduceKind { Sum, Mean, Max };

class Reduce : public Layer {
 public:
  Reduce(const std::string& op, int axis, bool keepdims);
  std::string kind() const override { return "Reduce"; }
  std::string op_name() const;
  int axis() const { return axis_; }
  bool keepdims() const { return keepdims_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  ReduceKind op_;
  int axis_;  // >= 1: the batch axis is never reduced
  bool keepdims_;
  Index outer_ = 0, D_ = 0, inner_ = 0;  // set by forward
};

}  // namespace seqattn
