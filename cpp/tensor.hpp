// Tensors, masks and parameters shared by every layer.
//
// Letters used for shapes everywhere in cpp/, python/ and tests/:
//   B batch, T query/time steps, S key/value steps, C channels (model width),
//   H heads, D per-head size (Dk for queries/keys, Dv for values), V vocabulary,
//   K classes, N = B*T rows when a (B, T, C) tensor is seen as an (N, C) matrix.
// All float tensors are float32, row-major, batch first.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace seqattn {

using Index = std::int64_t;
using Shape = std::vector<Index>;

// Row-major Eigen views over raw buffers: zero-copy, the buffer keeps its owner.
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatMap = Eigen::Map<RowMatrix>;
using ConstMatMap = Eigen::Map<const RowMatrix>;
using VecMap = Eigen::Map<Eigen::VectorXf>;
using ConstVecMap = Eigen::Map<const Eigen::VectorXf>;

inline Index shape_size(const Shape& s) {
  Index n = 1;
  for (Index d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s);  // "(2, 3, 4)"

enum class DType { Float32, Int32 };

// A dense tensor. Float tensors use `data`, integer (token id) tensors use `ids`.
// resize() keeps capacity, so a steady-state training step does not allocate.
struct Tensor {
  DType dtype = DType::Float32;
  Shape shape;
  std::vector<float> data;
  std::vector<std::int32_t> ids;

  Index size() const { return shape_size(shape); }
  Index dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  int rank() const { return static_cast<int>(shape.size()); }
  // Every resize reuses the capacity of `shape` and of the data: no heap allocation once a
  // tensor has held its largest size (the steady-state training step allocates nothing).
  void resize(const Shape& s) {
    shape = s;
    resize_data();
  }
  void resize(std::initializer_list<Index> s) {  // resize({B, T, C}): no temporary Shape
    shape.assign(s);
    resize_data();
  }
  // The shape of `like` with its last axis replaced by `last` (Dense: (..., Cin) -> (..., U)).
  void resize_last(const Shape& like, Index last) {
    shape = like;
    shape.back() = last;
    resize_data();
  }
  void resize_data() {
    if (dtype == DType::Float32) data.resize(size()); else ids.resize(size());
  }
  void zero() { std::fill(data.begin(), data.end(), 0.0f); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
};

// A padding mask over (B, T): 1 = real step (may attend / is kept), 0 = padding.
// Keras polarity. An empty mask means "no mask": every step is real.
struct Mask {
  Index B = 0, T = 0;
  std::vector<std::uint8_t> data;
  bool empty() const { return data.empty(); }
  void clear() { B = T = 0; data.clear(); }
  void assign(const Mask& other) { B = other.B; T = other.T; data = other.data; }
};

// A trainable weight and its gradient, stored in the Keras 3 shape (see REFERENCE.md).
struct Param {
  std::string name;
  Shape shape;
  std::vector<float> value;
  std::vector<float> grad;
  // Keras weight regularizer L1L2(l1, l2): the training loss gains l1·Σ|w| + l2·Σw² and the
  // gradient l1·sign(w) + 2·l2·w (Graph::regularize); zero for an unregularized weight.
  float l1 = 0.0f, l2 = 0.0f;
  // Refuses (std::invalid_argument) a shape this machine cannot hold, before allocating.
  Param(std::string n, Shape s);
  Index size() const { return static_cast<Index>(value.size()); }
};

}  // namespace seqattn
