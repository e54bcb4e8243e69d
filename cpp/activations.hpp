// Elementwise and row-wise activations: forward y = f(z) and backward dz = f'(z) * dy, side
// by side. Rows are the last axis (softmax normalises over it).
#pragma once
#include <string>
#include <vector>

#include "tensor.hpp"

namespace seqattn {

enum class Activation { Linear, Relu, Gelu, Tanh, Sigmoid, Softmax };

// Throws std::invalid_argument listing the valid names.
Activation activation_from_name(const std::string& name);
const std::vector<std::string>& activation_names();
std::string activation_name(Activation a);

// y (rows, cols) = f(z); may run in place (y == z) for every activation.
void activation_forward(Activation a, const float* z, float* y, Index rows, Index cols);
// dz (rows, cols) = f'(z) · dy, using whichever of z and y is cheaper. Overwrites dz.
void activation_backward(Activation a, const float* z, const float* y, const float* dy, float* dz,
                         Index rows, Index cols);

}  // namespace seqattn
