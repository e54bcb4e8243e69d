#include "conv1d.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "linalg.hpp"
#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kRowBlock = 64;         // rows per parallel block of the unfold and activation
constexpr Index kParallelMin = 32768;   // elements; smaller work stays on one thread
}  // namespace

Conv1D::Conv1D(Index input_dim, Index filters, Index kernel_size, Index strides,
               const std::string& padding, Index dilation_rate, const std::string& activation,
               bool use_bias_)
    : Cin(input_dim), F(filters), use_bias(use_bias_),
      activation_(activation_from_name(activation)) {
  if (input_dim <= 0 || filters <= 0 || kernel_size <= 0 || strides <= 0 || dilation_rate <= 0)
    throw std::invalid_argument("Conv1D: input_dim, filters, kernel_size, strides and "
                                "dilation_rate must be positive");
  // The span d·(K − 1) + 1 must fit an Index (the window arithmetic never overflows then).
  if (kernel_size - 1 > (std::numeric_limits<Index>::max() / 2) / dilation_rate)
    throw std::invalid_argument("Conv1D: dilation_rate * (kernel_size - 1) is too large "
                                "(kernel_size " + std::to_string(kernel_size) +
                                ", dilation_rate " + std::to_string(dilation_rate) + ")");
  window = Window1D{kernel_size, strides, dilation_rate, padding_from_name(padding)};
  params_.emplace_back("kernel", Shape{kernel_size, Cin, F});
  if (use_bias) params_.emplace_back("bias", Shape{F});
}

Shape Conv1D::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() != 3 || in[0][2] != Cin)
    throw std::invalid_argument(
        "Input 0 of layer '" + name + "' (Conv1D) is incompatible with the layer: expected "
        "shape (B, T, " + std::to_string(Cin) + "), received input with shape " +
        (in.empty() ? std::string("()") : shape_str(in[0])));
  const Index To = window.out_len(in[0][1]);
  if (To <= 0)
    throw std::invalid_argument(
        "Layer '" + name + "' (Conv1D): computed output size would be zero or negative: "
        "padding='valid' needs at least " + std::to_string(window.span()) + " time steps "
        "(kernel_size " + std::to_string(window.size) + ", dilation_rate " +
        std::to_string(window.dilation) + "), received input with shape " + shape_str(in[0]));
  return {in[0][0], To, F};
}

void Conv1D::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C)
  const Index B = x.dim(0), T = x.dim(1), C = Cin, K = window.size, KC = K * C;
  const Index To = window.out_len(T), pl = window.pad_left(T), N = B * To;
  const Index s = window.stride, d = window.dilation;
  cols_.resize({N, KC});
  const float* xp = x.ptr();
  float* cp = cols_.ptr();
  parallel_for_blocks(N, kRowBlock, N * KC >= kParallelMin, [=](Index r0, Index r1) {
    for (Index r = r0; r < r1; ++r) {
      const Index b = r / To, o = r % To;
      float* row = cp + r * KC;
      for (Index k = 0; k < K; ++k) {
        const Index t = o * s - pl + k * d;
        if (t < 0 || t >= T) std::fill(row + k * C, row + (k + 1) * C, 0.0f);
        else std::copy(xp + (b * T + t) * C, xp + (b * T + t + 1) * C, row + k * C);
      }
    }
  });
  out.y.resize({B, To, F});
  const float* bias = use_bias ? params_[1].value.data() : nullptr;
  if (activation_ == Activation::Linear || activation_ == Activation::Relu) {
    // Bias (and ReLU) fused into the product's store; ReLU's backward reads y, not z.
    linear_forward(out.y.ptr(), cp, params_[0].value.data(), bias, N, KC, F,
                   activation_ == Activation::Relu);
  } else {
    z_.resize({N, F});
    linear_forward(z_.ptr(), cp, params_[0].value.data(), bias, N, KC, F);
    parallel_for_blocks(N, kRowBlock, N * F >= kParallelMin, [&](Index r0, Index r1) {
      activation_forward(activation_, z_.ptr() + r0 * F, out.y.ptr() + r0 * F, r1 - r0, F);
    });
  }
  out.mask.clear();  // as Keras 3: Conv1D does not support masking (the mask is dropped)
}

void Conv1D::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                      const std::vector<Tensor*>& dx, const Context&) {
  const Tensor& x = *in.x[0];
  const Index B = x.dim(0), T = x.dim(1), C = Cin, K = window.size, KC = K * C;
  const Index To = window.out_len(T), pl = window.pad_left(T), N = B * To;
  const Index s = window.stride, d = window.dilation;
  // Inverts y = f(z): dz = f'(z) dy (as Dense).
  const float* dz = dy.ptr();
  if (activation_ != Activation::Linear) {
    dz_.resize({N, F});
    const float* z = activation_ == Activation::Relu ? out.y.ptr() : z_.ptr();
    parallel_for_blocks(N, kRowBlock, N * F >= kParallelMin, [&](Index r0, Index r1) {
      activation_backward(activation_, z + r0 * F, out.y.ptr() + r0 * F, dy.ptr() + r0 * F,
                          dz_.ptr() + r0 * F, r1 - r0, F);
    });
    dz = dz_.ptr();
  }
  // Inverts z = cols · W + b; dcols starts from zero because linear_backward accumulates.
  float* dcols = nullptr;
  if (dx[0]) {
    dcols_.resize({N, KC});
    dcols_.zero();
    dcols = dcols_.ptr();
  }
  linear_backward(dcols, params_[0].grad.data(), use_bias ? params_[1].grad.data() : nullptr,
                  dz, cols_.ptr(), params_[0].value.data(), N, KC, F);
  if (!dx[0]) return;
  // Inverts the unfold: each tap's gradient goes back to the input step it copied, padding
  // taps nowhere. One batch item per task, outputs and taps in ascending order: a fixed sum.
  float* g = dx[0]->ptr();
  parallel_for(B, N * KC >= kParallelMin, [=](Index b) {
    for (Index o = 0; o < To; ++o) {
      const float* row = dcols + (b * To + o) * KC;
      for (Index k = 0; k < K; ++k) {
        const Index t = o * s - pl + k * d;
        if (t < 0 || t >= T) continue;
        float* dst = g + (b * T + t) * C;
        const float* src = row + k * C;
        for (Index c = 0; c < C; ++c) dst[c] += src[c];
      }
    }
  });
}

}  // namespace seqattn
