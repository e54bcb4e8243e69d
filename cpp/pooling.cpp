#include "pooling.hpp"

#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
Shape pooled_shape(const std::string& kind, const std::string& name, const std::vector<Shape>& in) {
  if (in.size() != 1 || in[0].size() != 3)
    throw std::invalid_argument(kind + " '" + name + "': expected input of shape (B, T, C), received " +
                                (in.empty() ? std::string("nothing") : shape_str(in[0])));
  return {in[0][0], in[0][2]};
}
}  // namespace

// ------------------------------------------------------- GlobalAveragePooling1D
Shape GlobalAveragePooling1D::output_shape(const std::vector<Shape>& in) const {
  return pooled_shape(kind(), name, in);
}

void GlobalAveragePooling1D::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C)
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const Mask* m = in.mask_of(0);
  out.y.resize({B, C});
  out.mask.clear();
  inv_count_.resize(B);
  parallel_for(B, worth_threads(B * T * C * kElementWork), [&](Index b) {
    float* y = out.y.ptr() + b * C;
    std::fill(y, y + C, 0.0f);
    Index count = 0;
    for (Index t = 0; t < T; ++t) {
      if (m && !m->data[b * T + t]) continue;
      const float* xr = x.ptr() + (b * T + t) * C;
      for (Index c = 0; c < C; ++c) y[c] += xr[c];
      ++count;
    }
    inv_count_[b] = count ? 1.0f / static_cast<float>(count) : 0.0f;
    for (Index c = 0; c < C; ++c) y[c] *= inv_count_[b];
  });
}

void GlobalAveragePooling1D::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                                      const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Tensor& x = *in.x[0];
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const Mask* m = in.mask_of(0);
  // Inverts y[b] = Σ_t m x[b,t] / count: each real step gets dy[b] / count.
  parallel_for(B, worth_threads(B * T * C * kElementWork), [&](Index b) {
    const float* g = dy.ptr() + b * C;
    for (Index t = 0; t < T; ++t) {
      if (m && !m->data[b * T + t]) continue;
      float* d = dx[0]->ptr() + (b * T + t) * C;
      for (Index c = 0; c < C; ++c) d[c] += g[c] * inv_count_[b];
    }
  });
}

// ----------------------------------------------------------- GlobalMaxPooling1D
Shape GlobalMaxPooling1D::output_shape(const std::vector<Shape>& in) const {
  return pooled_shape(kind(), name, in);
}

void GlobalMaxPooling1D::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C)
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  const Mask* m = in.mask_of(0);
  out.y.resize({B, C});
  out.mask.clear();
  argmax_.resize(B * C);
  parallel_for(B, worth_threads(B * T * C * kElementWork), [&](Index b) {
    float* y = out.y.ptr() + b * C;
    Index* arg = argmax_.data() + b * C;
    std::fill(arg, arg + C, Index(-1));
    std::fill(y, y + C, 0.0f);
    for (Index t = 0; t < T; ++t) {
      if (m && !m->data[b * T + t]) continue;
      const float* xr = x.ptr() + (b * T + t) * C;
      for (Index c = 0; c < C; ++c)
        // first occurrence wins ties; a NaN wins and stays (it propagates, as in Keras)
        if (arg[c] < 0 || xr[c] > y[c] || (xr[c] != xr[c] && y[c] == y[c])) {
          y[c] = xr[c];
          arg[c] = t;
        }
    }
  });
}

void GlobalMaxPooling1D::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                                  const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Tensor& x = *in.x[0];
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  // Inverts y[b,c] = x[b, argmax, c]: the winning step gets the whole gradient.
  parallel_for(B, worth_threads(B * T * C * kElementWork), [&](Index b) {
    for (Index c = 0; c < C; ++c) {
      const Index t = argmax_[b * C + c];
      if (t >= 0) dx[0]->ptr()[(b * T + t) * C + c] += dy.ptr()[b * C + c];
    }
  });
}

}  // namespace seqattn
