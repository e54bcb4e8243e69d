// The geometry of a 1-D sliding window over time (Conv1D, MaxPooling1D, AveragePooling1D):
// output length and left padding for Keras's "valid", "same" and "causal" paddings.
#pragma once
#include <stdexcept>
#include <string>

#include "tensor.hpp"

namespace seqattn {

enum class Padding1D { Valid, Same, Causal };

inline Padding1D padding_from_name(const std::string& name) {
  if (name == "valid") return Padding1D::Valid;
  if (name == "same") return Padding1D::Same;
  if (name == "causal") return Padding1D::Causal;
  throw std::invalid_argument("padding must be 'valid', 'same' or 'causal', received '" + name + "'");
}

inline std::string padding_name(Padding1D p) {
  return p == Padding1D::Valid ? "valid" : p == Padding1D::Same ? "same" : "causal";
}

struct Window1D {
  Index size = 1, stride = 1, dilation = 1;
  Padding1D padding = Padding1D::Valid;

  // Steps one window covers, first to last tap.
  Index span() const { return dilation * (size - 1) + 1; }
  // Output steps for T input steps; 0 when a "valid" window does not fit (callers refuse it).
  Index out_len(Index T) const {
    if (padding == Padding1D::Valid) return T >= span() ? (T - span()) / stride + 1 : 0;
    return (T + stride - 1) / stride;  // ceil(T / stride), as TensorFlow's "SAME"
  }
  // Zeros before step 0. "same" splits the padding TensorFlow's way (the odd one on the
  // right); "causal" puts all of it on the left, so output t never reads a later input.
  Index pad_left(Index T) const {
    if (padding == Padding1D::Valid) return 0;
    if (padding == Padding1D::Causal) return dilation * (size - 1);
    const Index total = (out_len(T) - 1) * stride + span() - T;
    return total > 0 ? total / 2 : 0;
  }
};

}  // namespace seqattn
