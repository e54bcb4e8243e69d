#include "dense.hpp"

#include <stdexcept>

#include "linalg.hpp"
#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kRowBlock = 64;         // rows per parallel block of the activation
constexpr Index kParallelMin = 32768;   // elements; smaller outputs stay on one thread
}  // namespace

Dense::Dense(Index input_dim, Index units, const std::string& activation, bool use_bias_)
    : Cin(input_dim), U(units), use_bias(use_bias_), activation_(activation_from_name(activation)) {
  params_.emplace_back("kernel", Shape{Cin, U});
  if (use_bias) params_.emplace_back("bias", Shape{U});
}

Shape Dense::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() < 2 || in[0].back() != Cin)
    throw std::invalid_argument(
        "Input 0 of layer '" + name + "' is incompatible with the layer: expected axis -1 of "
        "input shape to have value " + std::to_string(Cin) + ", but received input with shape " +
        (in.empty() ? std::string("()") : shape_str(in[0])));
  Shape out = in[0];
  out.back() = U;
  return out;
}

void Dense::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (N, Cin)
  const Index N = x.size() / Cin;
  out.y.resize_last(x.shape, U);  // (N, U)
  const float* b = use_bias ? params_[1].value.data() : nullptr;
  if (activation_ == Activation::Linear || activation_ == Activation::Relu) {
    // Bias (and ReLU) fused into the product's store; ReLU's backward reads y, not z.
    linear_forward(out.y.ptr(), x.ptr(), params_[0].value.data(), b, N, Cin, U,
                   activation_ == Activation::Relu);
  } else {
    z_.resize({N, U});
    linear_forward(z_.ptr(), x.ptr(), params_[0].value.data(), b, N, Cin, U);
    parallel_for_blocks(N, kRowBlock, N * U >= kParallelMin, [&](Index r0, Index r1) {
      activation_forward(activation_, z_.ptr() + r0 * U, out.y.ptr() + r0 * U, r1 - r0, U);
    });
  }
  if (const Mask* m = in.mask_of(0); m && x.rank() == 3) out.mask.assign(*m); else out.mask.clear();
}

void Dense::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                     const std::vector<Tensor*>& dx, const Context&) {
  if (activation_ == Activation::Linear) {
    backward_from_logits(in, dy, dx);
    return;
  }
  // Inverts y = f(z): dz = f'(z) dy.
  const Index N = in.x[0]->size() / Cin;
  dz_.resize({N, U});
  // ReLU: z > 0 exactly where y > 0, and z was not kept.
  const float* z = activation_ == Activation::Relu ? out.y.ptr() : z_.ptr();
  parallel_for_blocks(N, kRowBlock, N * U >= kParallelMin, [&](Index r0, Index r1) {
    activation_backward(activation_, z + r0 * U, out.y.ptr() + r0 * U, dy.ptr() + r0 * U,
                        dz_.ptr() + r0 * U, r1 - r0, U);
  });
  backward_from_logits(in, dz_, dx);
}

void Dense::backward_from_logits(const LayerInputs& in, const Tensor& dz,
                                 const std::vector<Tensor*>& dx) {
  // Inverts z = x · W + b.
  const Tensor& x = *in.x[0];
  const Index N = x.size() / Cin;
  linear_backward(dx[0] ? dx[0]->ptr() : nullptr, params_[0].grad.data(),
                  use_bias ? params_[1].grad.data() : nullptr, dz.ptr(), x.ptr(),
                  params_[0].value.data(), N, Cin, U);
}

}  // namespace seqattn
