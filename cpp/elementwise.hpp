// Element-wise math on tensors, the C++ side of seqattn.ops and of `+ - * /` on symbolic
// tensors: a binary op with NumPy broadcasting, a unary op with a scalar parameter, a constant
// (ops.arange inside a traced layer) and a cast. Forward and backward side by side.
//
// Broadcasting follows NumPy: shapes are aligned on their last axes and an axis of size 1 (or
// a missing leading axis) repeats. A (T, C) position table added to a (B, T, C) batch is the
// case that matters: its gradient is the sum of dy over B, in a fixed order.
#pragma once
#include <array>

#include "layer.hpp"

namespace seqattn {

enum class BinaryKind { Add, Subtract, Multiply, Divide };

// out = a op b (broadcast). Output mask: the AND of the masks of the inputs that have the
// output's (B, T) leading axes, as the merge layers do.
class BinaryOp : public Layer {
 public:
  explicit BinaryOp(const std::string& op);
  std::string kind() const override { return "BinaryOp"; }
  std::string op_name() const;
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  static constexpr int kMaxRank = 8;

 private:
  BinaryKind op_;
  // Per input: its element stride along each output axis (0 where it repeats); set by
  // forward for the current shapes and reused by backward.
  std::array<std::array<Index, kMaxRank>, 2> strides_{};
  std::array<Index, kMaxRank> out_dims_{};
  int rank_ = 0;
  void set_strides(const Shape& a, const Shape& b, const Shape& out);
  // Offset of output row r (all axes but the last) in input k.
  Index row_offset(int k, Index r) const;
};

enum class UnaryKind { Negative, Exp, Log, Sqrt, Square, Abs, Affine, Reciprocal, Power };

// out = f(x) element by element; Affine: scale·x + shift, Reciprocal: scale / x,
// Power: x^exponent (the exponent in `scale`). The mask passes through.
class UnaryOp : public Layer {
 public:
  UnaryOp(const std::string& op, double scale, double shift);
  std::string kind() const override { return "UnaryOp"; }
  std::string op_name() const;
  double scale() const { return a_; }
  double shift() const { return b_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  UnaryKind op_;
  float a_, b_;
};

// A fixed tensor with no inputs (float values or int32 ids): positions from ops.arange inside
// a traced layer, read by an Embedding. No gradient, no mask.
class Constant : public Layer {
 public:
  explicit Constant(Tensor value) : value_(std::move(value)) {}
  std::string kind() const override { return "Constant"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs&, const LayerOutput&, const Tensor&,
                const std::vector<Tensor*>&, const Context&) override {}
  const Tensor& value() const { return value_; }

 private:
  Tensor value_;
};

}  // namespace seqattn
