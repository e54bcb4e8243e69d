// Windowed pooling over time: MaxPooling1D and AveragePooling1D, (B, T, C) -> (B, To, C),
// with Keras's "valid" and "same" paddings (window1d.hpp). Padded positions never take part:
// a max ignores them and an average divides by the real positions in its window (as
// TensorFlow/Keras). Masks are dropped, as Keras 3 (these layers do not support masking).
#pragma once
#include "layer.hpp"
#include "window1d.hpp"

namespace seqattn {

class Pooling1D : public Layer {
 public:
  enum class Mode { Max, Average };
  Pooling1D(Mode mode, Index pool_size, Index strides, const std::string& padding);
  std::string kind() const override {
    return mode_ == Mode::Max ? "MaxPooling1D" : "AveragePooling1D";
  }
  Shape output_shape(const std::vector<Shape>& in) const override;
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  Window1D window;

 private:
  Mode mode_;
  std::vector<Index> argmax_;     // (B, To, C) max: the input step that won
  std::vector<float> inv_count_;  // (To,) average: 1 / real positions in the window
};

// The two Keras classes (bindings.cpp binds each under its own name).
class MaxPooling1D : public Pooling1D {
 public:
  MaxPooling1D(Index pool_size, Index strides, const std::string& padding)
      : Pooling1D(Mode::Max, pool_size, strides, padding) {}
};

class AveragePooling1D : public Pooling1D {
 public:
  AveragePooling1D(Index pool_size, Index strides, const std::string& padding)
      : Pooling1D(Mode::Average, pool_size, strides, padding) {}
};

}  // namespace seqattn
