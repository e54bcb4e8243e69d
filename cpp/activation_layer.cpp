#include "activation_layer.hpp"

#include <algorithm>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
// Rows are cut into fixed blocks; rows are independent (softmax normalises within a row), so
// the result never depends on which thread takes a block.
constexpr Index kRowBlock = 64;
constexpr Index kParallelMin = 32768;  // elements; smaller tensors stay on one thread
}  // namespace

ActivationLayer::ActivationLayer(const std::string& activation)
    : activation_(activation_from_name(activation)) {}

Shape ActivationLayer::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() < 2)
    throw std::invalid_argument("Input 0 of layer '" + name + "' (Activation) is incompatible "
                                "with the layer: expected shape (B, ..., C), received input with "
                                "shape " + (in.empty() ? std::string("()") : shape_str(in[0])));
  return in[0];
}

void ActivationLayer::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (N, C)
  const Index C = x.dim(-1), N = x.size() / C;
  out.y.resize(x.shape);
  const Index nb = (N + kRowBlock - 1) / kRowBlock;
  parallel_for(nb, nb > 1 && N * C >= kParallelMin, [&](Index blk) {
    const Index r0 = blk * kRowBlock, rows = std::min(kRowBlock, N - r0);
    activation_forward(activation_, x.ptr() + r0 * C, out.y.ptr() + r0 * C, rows, C);
  });
  if (const Mask* m = in.mask_of(0)) out.mask.assign(*m); else out.mask.clear();
}

void ActivationLayer::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                               const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Tensor& x = *in.x[0];
  const Index C = x.dim(-1), N = x.size() / C;
  dz_.resize({N, C});
  float* d = dx[0]->ptr();
  const Index nb = (N + kRowBlock - 1) / kRowBlock;
  parallel_for(nb, nb > 1 && N * C >= kParallelMin, [&](Index blk) {
    const Index r0 = blk * kRowBlock, rows = std::min(kRowBlock, N - r0);
    const Index off = r0 * C;
    // Inverts y = f(x): dz = f'(x)·dy (overwrites dz), then dx += dz.
    activation_backward(activation_, x.ptr() + off, out.y.ptr() + off, dy.ptr() + off,
                        dz_.ptr() + off, rows, C);
    for (Index i = off; i < off + rows * C; ++i) d[i] += dz_.ptr()[i];
  });
}

}  // namespace seqattn
