#include "reshape.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller tensors stay on one thread

std::string shape_or_none(const std::vector<Shape>& in) {
  return in.empty() ? std::string("nothing") : shape_str(in[0]);
}
}  // namespace

// ---------------------------------------------------------------------- Reshape
Reshape::Reshape(Shape target) : target_(std::move(target)) {
  int unknown = 0;
  for (Index d : target_) {
    if (d == -1) ++unknown;
    else if (d < 1)
      throw std::invalid_argument("Reshape: target_shape sizes must be positive or -1, "
                                  "received " + shape_str(target_));
  }
  if (unknown > 1)
    throw std::invalid_argument("Reshape: there must be at most one unknown dimension (-1) in "
                                "target_shape, received " + shape_str(target_));
}

Shape Reshape::output_shape(const std::vector<Shape>& in) const {
  const std::string who = "Layer '" + name + "' (Reshape to (B, ...) with target_shape " +
                          shape_str(target_) + ")";
  if (in.size() != 1 || in[0].size() < 1)
    throw std::invalid_argument(who + " takes one tensor (B, ...), received " +
                                shape_or_none(in));
  const Index size = shape_size(Shape(in[0].begin() + 1, in[0].end()));
  Index known = 1;
  int unknown_at = -1;
  for (std::size_t i = 0; i < target_.size(); ++i) {
    if (target_[i] == -1) unknown_at = static_cast<int>(i);
    else known *= target_[i];
  }
  Shape out{in[0][0]};
  out.insert(out.end(), target_.begin(), target_.end());
  if (unknown_at >= 0 ? size % known == 0 : size == known) {
    if (unknown_at >= 0) out[unknown_at + 1] = size / known;
    return out;
  }
  throw std::invalid_argument(who + ": the total size of the tensor must be unchanged. "
                              "Received: input_shape=" + shape_str(in[0]));
}

// Forward: y (B, target) = x (B, ...), the same row-major elements: a copy.
void Reshape::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  out.y.shape.assign(1, x.dim(0));
  out.y.shape.insert(out.y.shape.end(), target_.begin(), target_.end());
  Index per = 1;  // elements per sample, from the shape (an empty batch keeps its sizes)
  for (int a = 1; a < x.rank(); ++a) per *= x.dim(a);
  Index known = 1;
  for (Index d : target_) known *= d == -1 ? 1 : d;
  for (std::size_t i = 0; i < target_.size(); ++i)
    if (target_[i] == -1) out.y.shape[i + 1] = per / known;
  out.y.resize_data();
  std::copy(x.data.begin(), x.data.end(), out.y.data.begin());
  out.mask.clear();
}

// Backward: dx += dy, element for element.
void Reshape::backward(const LayerInputs&, const LayerOutput&, const Tensor& dy,
                       const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  float* d = dx[0]->ptr();
  const float* g = dy.ptr();
  for (Index i = 0, n = dy.size(); i < n; ++i) d[i] += g[i];
}

// ---------------------------------------------------------------------- Permute
Permute::Permute(std::vector<int> perm) : perm_(std::move(perm)) {
  std::vector<int> sorted = perm_;
  std::sort(sorted.begin(), sorted.end());
  bool ok = !perm_.empty() && perm_[0] == 0 && static_cast<int>(perm_.size()) <= kMaxRank;
  for (std::size_t i = 0; ok && i < sorted.size(); ++i) ok = sorted[i] == static_cast<int>(i);
  if (!ok) {
    std::string p;
    for (int a : perm_) p += (p.empty() ? "" : ", ") + std::to_string(a);
    throw std::invalid_argument("Permute: the axes must be a permutation of 0..rank-1 (rank <= " +
                                std::to_string(kMaxRank) + ") that keeps the batch axis 0 "
                                "first, received (" + p + ")");
  }
}

Shape Permute::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() != perm_.size())
    throw std::invalid_argument("Input 0 of layer '" + name + "' (Permute) is incompatible with "
                                "the layer: expected rank " + std::to_string(perm_.size()) +
                                ", received input with shape " + shape_or_none(in));
  Shape out(perm_.size());
  for (std::size_t a = 0; a < perm_.size(); ++a) out[a] = in[0][perm_[a]];
  return out;
}

Index Permute::input_offset(Index row) const {
  const int r = static_cast<int>(perm_.size());
  Index off = 0;
  for (int a = r - 2; a >= 0; --a) {
    off += (row % dims_[a]) * strides_[a];
    row /= dims_[a];
  }
  return off;
}

// Forward: y[i_0, ..., i_{r-1}] = x at Σ_a i_a · stride_x(perm[a]), one output row per task.
void Permute::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  const int r = x.rank();
  std::array<Index, kMaxRank> xstride{};
  Index s = 1;
  for (int a = r - 1; a >= 0; --a) { xstride[a] = s; s *= x.dim(a); }
  out.y.shape.resize(r);
  for (int a = 0; a < r; ++a) {
    dims_[a] = x.dim(perm_[a]);
    strides_[a] = xstride[perm_[a]];
    out.y.shape[a] = dims_[a];
  }
  out.y.resize_data();
  const Index W = dims_[r - 1], step = strides_[r - 1];
  const Index rows = W == 0 ? 0 : out.y.size() / W;
  const float* p = x.ptr();
  float* y = out.y.ptr();
  parallel_for(rows, out.y.size() >= kParallelMin, [&](Index row) {
    const float* src = p + input_offset(row);
    float* dst = y + row * W;
    for (Index w = 0; w < W; ++w) dst[w] = src[w * step];
  });
  out.mask.clear();
}

// Backward: dx at the same offsets += dy; each input element is one output element, so rows
// write disjoint places.
void Permute::backward(const LayerInputs&, const LayerOutput&, const Tensor& dy,
                       const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const int r = dy.rank();
  const Index W = dims_[r - 1], step = strides_[r - 1];
  const Index rows = W == 0 ? 0 : dy.size() / W;
  const float* g = dy.ptr();
  float* d = dx[0]->ptr();
  parallel_for(rows, dy.size() >= kParallelMin, [&](Index row) {
    float* dst = d + input_offset(row);
    const float* src = g + row * W;
    for (Index w = 0; w < W; ++w) dst[w * step] += src[w];
  });
}

// ----------------------------------------------------------------- RepeatVector
RepeatVector::RepeatVector(Index n) : n_(n) {
  if (n < 1)
    throw std::invalid_argument("RepeatVector: `n` should be a positive integer, received n=" +
                                std::to_string(n));
}

Shape RepeatVector::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() != 2)
    throw std::invalid_argument("Input 0 of layer '" + name + "' (RepeatVector) is "
                                "incompatible with the layer: expected ndim=2 (B, C), received "
                                "input with shape " + shape_or_none(in));
  return {in[0][0], n_, in[0][1]};
}

// Forward: y[b, t, :] = x[b, :] for t < n.
void RepeatVector::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  const Index B = x.dim(0), C = x.dim(1), n = n_;
  out.y.resize({B, n, C});
  const float* p = x.ptr();
  float* y = out.y.ptr();
  parallel_for(B, out.y.size() >= kParallelMin, [&](Index b) {
    for (Index t = 0; t < n; ++t) std::copy(p + b * C, p + (b + 1) * C, y + (b * n + t) * C);
  });
  out.mask.clear();
}

// Backward: dx[b, c] += Σ_t dy[b, t, c], t ascending (a fixed order on any thread).
void RepeatVector::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                            const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Index B = in.x[0]->dim(0), C = in.x[0]->dim(1), n = n_;
  const float* g = dy.ptr();
  float* d = dx[0]->ptr();
  parallel_for(B, dy.size() >= kParallelMin, [&](Index b) {
    for (Index c = 0; c < C; ++c) {
      float s = g[b * n * C + c];
      for (Index t = 1; t < n; ++t) s += g[(b * n + t) * C + c];
      d[b * C + c] += s;
    }
  });
}

}  // namespace seqattn
