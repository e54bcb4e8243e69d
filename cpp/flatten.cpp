#include "flatten.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqattn {

Shape Flatten::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() < 2)
    throw std::invalid_argument("Input 0 of layer '" + name + "' (Flatten) is incompatible "
                                "with the layer: expected shape (B, ...), received input with "
                                "shape " + (in.empty() ? std::string("()") : shape_str(in[0])));
  return {in[0][0], shape_size(Shape(in[0].begin() + 1, in[0].end()))};
}

// Forward: y (B, F) = x (B, ...) in row-major order; a memory copy, so no threads.
void Flatten::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  Index F = 1;
  for (int i = 1; i < x.rank(); ++i) F *= x.dim(i);
  out.y.resize({x.dim(0), F});
  std::copy(x.data.begin(), x.data.end(), out.y.data.begin());
  out.mask.clear();
}

// Backward: dx (B, ...) += dy (B, F), the same elements in the same order.
void Flatten::backward(const LayerInputs&, const LayerOutput&, const Tensor& dy,
                       const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  float* d = dx[0]->ptr();
  const float* g = dy.ptr();
  for (Index i = 0, n = dy.size(); i < n; ++i) d[i] += g[i];
}

}  // namespace seqattn
