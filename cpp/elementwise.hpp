// Element-wise math on tensors, the C++ side of seqattn.ops and of `+ - * /` on symbolic
// tensors: a binary op with NumPy broadcasting, a unary op with a scalar parameter, a constant
// (ops.arange inside a traced layer) and a cast. Forward and backward side by side.
//
// Broadcasting follows NumPy: shapes are aligned on their last axes and an axis of size 1 (or
// a missing leading axis) repeats. A (T, C) position table added to a (B, T, C) batch is the
// case that matters: its gradient is the sum of dy over B, in a fixed order.
#pragma once
#include <array>
#include <initializer_list>

#include "layer.hpp"

namespace seqattn {

// NumPy broadcasting of up to three inputs onto one output shape: each input's element
// stride along every output axis (0 where it repeats). Work is done per output row (all axes
// but the last), so an input's offset is computed once per row.
struct Broadcast {
  static constexpr int kMaxRank = 8;
  static constexpr int kMaxInputs = 3;
  int rank = 0;
  std::array<Index, kMaxRank> dims{};
  std::array<std::array<Index, kMaxRank>, kMaxInputs> strides{};
  // The broadcast shape of `in`; false when they do not broadcast.
  // (initializer lists: a step calls these with no heap allocation)
  static bool shape(std::initializer_list<const Shape*> in, Shape& out);
  void set(std::initializer_list<const Shape*> in, const Shape& out);
  Index width() const { return dims[rank - 1]; }
  Index inner(int k) const { return strides[k][rank - 1]; }
  Index offset(int k, Index row) const {
    Index off = 0;
    for (int i = rank - 2; i >= 0; --i) {
      off += (row % dims[i]) * strides[k][i];
      row /= dims[i];
    }
    return off;
  }
};

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


 private:
  BinaryKind op_;
  Broadcast bc_;  // set by forward for the current shapes, reused by backward
};

// out = cond ? x : y element by element (Keras ops.where), broadcast; cond is float (non-zero
// = true) and gets no gradient; x gets dy where cond holds, y elsewhere. The unselected
// branch never leaks into the output (a NaN there stays out). Mask: x's, if aligned.
class Where : public Layer {
 public:
  std::string kind() const override { return "Where"; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  Broadcast bc_;
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
