#include "pooling1d.hpp"

#include <algorithm>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller inputs stay on one thread
}  // namespace

Pooling1D::Pooling1D(Mode mode, Index pool_size, Index strides, const std::string& padding)
    : mode_(mode) {
  if (pool_size <= 0 || strides <= 0)
    throw std::invalid_argument(kind() + ": pool_size and strides must be positive");
  window = Window1D{pool_size, strides, 1, padding_from_name(padding)};
  if (window.padding == Padding1D::Causal)
    throw std::invalid_argument(kind() + ": padding must be 'valid' or 'same', received 'causal'");
}

Shape Pooling1D::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() != 3)
    throw std::invalid_argument(
        "Input 0 of layer '" + name + "' (" + kind() + ") is incompatible with the layer: "
        "expected shape (B, T, C), received input with shape " +
        (in.empty() ? std::string("()") : shape_str(in[0])));
  const Index To = window.out_len(in[0][1]);
  if (To <= 0)
    throw std::invalid_argument(
        "Layer '" + name + "' (" + kind() + "): computed output size would be zero or "
        "negative: padding='valid' needs at least pool_size = " + std::to_string(window.size) +
        " time steps, received input with shape " + shape_str(in[0]));
  return {in[0][0], To, in[0][2]};
}

void Pooling1D::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C)
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const Index To = window.out_len(T), pl = window.pad_left(T);
  const Index P = window.size, s = window.stride;
  out.y.resize({B, To, C});
  out.mask.clear();
  const float* xp = x.ptr();
  float* yp = out.y.ptr();
  if (mode_ == Mode::Average) {
    // Every window holds at least one real step (pad_left < P), so count > 0.
    inv_count_.resize(To);
    for (Index o = 0; o < To; ++o) {
      const Index lo = std::max<Index>(o * s - pl, 0), hi = std::min(o * s - pl + P, T);
      inv_count_[o] = 1.0f / static_cast<float>(hi - lo);
    }
    const float* inv = inv_count_.data();
    parallel_for(B, B * T * C >= kParallelMin, [=](Index b) {
      for (Index o = 0; o < To; ++o) {
        const Index lo = std::max<Index>(o * s - pl, 0), hi = std::min(o * s - pl + P, T);
        float* y = yp + (b * To + o) * C;
        std::copy(xp + (b * T + lo) * C, xp + (b * T + lo + 1) * C, y);
        for (Index t = lo + 1; t < hi; ++t) {
          const float* xr = xp + (b * T + t) * C;
          for (Index c = 0; c < C; ++c) y[c] += xr[c];
        }
        for (Index c = 0; c < C; ++c) y[c] *= inv[o];
      }
    });
    return;
  }
  argmax_.resize(B * To * C);
  Index* argp = argmax_.data();
  parallel_for(B, B * T * C >= kParallelMin, [=](Index b) {
    for (Index o = 0; o < To; ++o) {
      const Index lo = std::max<Index>(o * s - pl, 0), hi = std::min(o * s - pl + P, T);
      float* y = yp + (b * To + o) * C;
      Index* arg = argp + (b * To + o) * C;
      std::copy(xp + (b * T + lo) * C, xp + (b * T + lo + 1) * C, y);
      std::fill(arg, arg + C, lo);
      for (Index t = lo + 1; t < hi; ++t) {
        const float* xr = xp + (b * T + t) * C;
        for (Index c = 0; c < C; ++c)
          // The first maximum wins ties (it alone gets the gradient, as TensorFlow's and
          // PyTorch's max pooling); the first NaN wins and stays, so NaN propagates.
          if (xr[c] > y[c] || (xr[c] != xr[c] && y[c] == y[c])) {
            y[c] = xr[c];
            arg[c] = t;
          }
      }
    }
  });
}

void Pooling1D::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                         const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Tensor& x = *in.x[0];
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const Index To = window.out_len(T), pl = window.pad_left(T);
  const Index P = window.size, s = window.stride;
  float* g = dx[0]->ptr();
  const float* gy = dy.ptr();
  // One batch item per task and outputs in ascending order: overlapping windows
  // (strides < pool_size) add into a step in a fixed order.
  if (mode_ == Mode::Average) {
    // Inverts y = Σ_window x / count: each real step of the window gets dy / count.
    const float* inv = inv_count_.data();
    parallel_for(B, B * T * C >= kParallelMin, [=](Index b) {
      for (Index o = 0; o < To; ++o) {
        const Index lo = std::max<Index>(o * s - pl, 0), hi = std::min(o * s - pl + P, T);
        const float* gr = gy + (b * To + o) * C;
        for (Index t = lo; t < hi; ++t) {
          float* d = g + (b * T + t) * C;
          for (Index c = 0; c < C; ++c) d[c] += gr[c] * inv[o];
        }
      }
    });
    return;
  }
  // Inverts y = x[argmax]: the winning step gets the whole gradient.
  const Index* argp = argmax_.data();
  parallel_for(B, B * T * C >= kParallelMin, [=](Index b) {
    for (Index o = 0; o < To; ++o) {
      const Index* arg = argp + (b * To + o) * C;
      const float* gr = gy + (b * To + o) * C;
      for (Index c = 0; c < C; ++c) g[(b * T + arg[c]) * C + c] += gr[c];
    }
  });
}

}  // namespace seqattn
