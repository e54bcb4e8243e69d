#include "merge.hpp"

#include <algorithm>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller tensors stay on one thread
}  // namespace

Shape Add::output_shape(const std::vector<Shape>& in) const {
  if (in.size() < 2)
    throw std::invalid_argument("Layer '" + name + "' (Add) should be called on a list of at "
                                "least 2 inputs, received " + std::to_string(in.size()));
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i].empty())
      throw std::invalid_argument("Layer '" + name + "' (Add): input " + std::to_string(i) +
                                  " is missing");
    if (in[i] != in[0])
      throw std::invalid_argument("Layer '" + name + "' (Add): inputs must all have the same "
                                  "shape; received " + shape_str(in[0]) + " (input 0) and " +
                                  shape_str(in[i]) + " (input " + std::to_string(i) + ")");
  }
  return in[0];
}

void Add::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Index n = in.x[0]->size();
  const std::size_t k = in.x.size();
  out.y.resize(in.x[0]->shape);
  float* y = out.y.ptr();
  // Inputs are added in list order for every element: the same rounding on any thread.
  parallel_for(n, n >= kParallelMin, [&](Index i) {
    float s = in.x[0]->ptr()[i];
    for (std::size_t j = 1; j < k; ++j) s += in.x[j]->ptr()[i];
    y[i] = s;
  });
  // mask = AND of the masks that exist (Keras Merge.compute_mask).
  out.mask.clear();
  for (std::size_t j = 0; j < k; ++j) {
    const Mask* m = in.mask_of(j);
    if (!m) continue;
    if (out.mask.empty()) {
      out.mask.assign(*m);
    } else {
      for (std::size_t i = 0; i < out.mask.data.size(); ++i)
        out.mask.data[i] = out.mask.data[i] && m->data[i];
    }
  }
}

void Add::backward(const LayerInputs&, const LayerOutput&, const Tensor& dy,
                   const std::vector<Tensor*>& dx, const Context&) {
  // Inverts y = Σ_j x_j: every input gets dy. An input listed twice (Add()([a, a])) shares
  // one dx buffer and correctly receives 2·dy.
  const Index n = dy.size();
  const float* g = dy.ptr();
  for (Tensor* d : dx) {
    if (!d) continue;
    float* dp = d->ptr();
    parallel_for(n, n >= kParallelMin, [&](Index i) {
      dp[i] += g[i];
    });
  }
}

}  // namespace seqattn
