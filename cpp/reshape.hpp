// Shape layers: Reshape, Permute, RepeatVector (Keras 3 names), and what ops.reshape,
// ops.expand_dims, ops.squeeze and ops.transpose add to a graph. The batch axis always stays
// first. None of them keeps a padding mask: the (B, T) mask does not follow the time axis
// through them (Keras 3: supports_masking = False; the Python layers warn as Keras does).
#pragma once
#include <array>

#include "layer.hpp"

namespace seqattn {

// (B, ...) -> (B, target...): the same elements in row-major order. `target` excludes the
// batch axis and may hold one -1, the size that keeps the element count.
class Reshape : public Layer {
 public:
  explicit Reshape(Shape target);
  std::string kind() const override { return "Reshape"; }
  const Shape& target_shape() const { return target_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  Shape target_;
};

// y = x with its axes reordered: output axis a is input axis perm[a]; perm is 0-based over
// every axis and perm[0] = 0 (the batch stays; the Python Permute takes Keras's 1-based dims).
class Permute : public Layer {
 public:
  static constexpr int kMaxRank = 8;
  explicit Permute(std::vector<int> perm);
  std::string kind() const override { return "Permute"; }
  const std::vector<int>& perm() const { return perm_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  // The input's element offset of every output row (all output axes but the last).
  Index input_offset(Index row) const;
  std::vector<int> perm_;
  // Set by forward: output dims, and the input stride along each output axis.
  std::array<Index, kMaxRank> dims_{}, strides_{};
};

// (B, C) -> (B, n, C): each sample's vector repeated n times.
class RepeatVector : public Layer {
 public:
  explicit RepeatVector(Index n);
  std::string kind() const override { return "RepeatVector"; }
  Index n() const { return n_; }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  Index n_;
};

}  // namespace seqattn
