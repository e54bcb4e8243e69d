// Merge layers: k >= 2 inputs of one shape combined element by element (Add, Subtract,
// Multiply, Average, Maximum, Minimum), and Concatenate along one non-batch axis.
//
// Element-wise mask (every Merge): the logical AND of the inputs' masks that exist; none -> no
// mask (Keras 2's rule; README says how Keras 3 differs). Values are never changed by a mask.
// Maximum/Minimum: NaN wins (as Reduce's max); the gradient of each element is split equally
// among the inputs that tie for the result (all NaN inputs when the result is NaN), as
// torch.maximum and Reduce do, so a tie never sends the whole gradient to one arbitrary input.
#pragma once
#include "layer.hpp"

namespace seqattn {

enum class MergeKind { Add, Subtract, Multiply, Average, Maximum, Minimum };

class Merge : public Layer {
 public:
  explicit Merge(const std::string& op);
  std::string kind() const override { return kind_name(); }
  std::string op_name() const;
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 protected:
  std::string kind_name() const;  // "Add", "Multiply", ... (the Keras class name)
  MergeKind op_;
};

// y = x_0 + x_1 + ... + x_{k-1}; its own class so that the fusion pass can find it
// (graph_fusion.cpp: Add read only by a LayerNormalization).
class Add : public Merge {
 public:
  Add() : Merge("add") {}
};

// y = the inputs joined along `axis` (not the batch; negative counts from the end; every
// other axis equal). Each input is seen as
// (outer, D_j, inner) around the axis; y is (outer, Σ D_j, inner).
// Mask (Keras 3 Concatenate.compute_mask, an input without a mask counting as all ones):
// axis 1 -> the masks joined along T; axis >= 2 -> the OR of the masks; no mask at all -> none.
class Concatenate : public Layer {
 public:
  explicit Concatenate(int axis);
  std::string kind() const override { return "Concatenate"; }
  int axis() const { return axis_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  int axis_for(std::size_t rank) const;  // axis_ counted from the end when negative
  int axis_;  // as given (Keras: -1 = the last axis of whatever rank arrives); never 0
  int axis_now_ = 1;  // set by forward: the resolved axis (>= 1)
  Index outer_ = 0, inner_ = 0, total_ = 0;  // set by forward; total_ = Σ D_j
};

}  // namespace seqattn
