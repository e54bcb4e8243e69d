#include "reduce.hpp"

#include <cmath>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // input elements; smaller ones stay on one thread
}  // namespace

Reduce::Reduce(const std::string& op, int axis, bool keepdims) : axis_(axis), keepdims_(keepdims) {
  if (op == "sum") op_ = ReduceKind::Sum;
  else if (op == "mean") op_ = ReduceKind::Mean;
  else if (op == "max") op_ = ReduceKind::Max;
  else throw std::invalid_argument("Reduce: unknown op '" + op + "' (sum, mean or max)");
  if (axis < 1) throw std::invalid_argument("Reduce: the axis must be >= 1 (not the batch axis)");
}

std::string Reduce::op_name() const {
  return op_ == ReduceKind::Sum ? "sum" : op_ == ReduceKind::Mean ? "mean" : "max";
}

Shape Reduce::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || static_cast<int>(in[0].size()) <= axis_)
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() + " over axis " +
                                std::to_string(axis_) + ") needs a tensor of rank > " +
                                std::to_string(axis_) + ", received " +
                                (in.empty() ? std::string("nothing") : shape_str(in[0])));
  Shape out = in[0];
  if (keepdims_) out[axis_] = 1; else out.erase(out.begin() + axis_);
  return out;
}

// Forward: y[o, i] = reduce over d of x[o, d, i], one (o) slab per task.
void Reduce::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  outer_ = 1;
  inner_ = 1;
  for (int i = 0; i < axis_; ++i) outer_ *= x.dim(i);
  for (int i = axis_ + 1; i < x.rank(); ++i) inner_ *= x.dim(i);
  D_ = x.dim(axis_);
  out.y.shape = x.shape;
  if (keepdims_) out.y.shape[axis_] = 1; else out.y.shape.erase(out.y.shape.begin() + axis_);
  out.y.resize_data();
  const Index D = D_, I = inner_;
  const float* p = x.ptr();
  float* y = out.y.ptr();
  const ReduceKind op = op_;
  parallel_for(outer_, x.size() >= kParallelMin, [&](Index o) {
    for (Index i = 0; i < I; ++i) {
      const float* col = p + o * D * I + i;
      float acc = col[0];
      for (Index d = 1; d < D; ++d) {
        const float v = col[d * I];
        if (op == ReduceKind::Max) acc = (v > acc || std::isnan(v)) && !std::isnan(acc) ? v : acc;
        else acc += v;
      }
      y[o * I + i] = op == ReduceKind::Mean ? acc / static_cast<float>(D) : acc;
    }
  });
  const Mask* m = in.mask_of(0);
  if (m && axis_ >= 2) out.mask.assign(*m); else out.mask.clear();
}

// Backward: sum -> dy to every d; mean -> dy / D; max -> dy / (number of ties) to each tie.
void Reduce::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                      const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Index D = D_, I = inner_;
  const float* p = in.x[0]->ptr();
  const float* y = out.y.ptr();
  const float* g = dy.ptr();
  float* d = dx[0]->ptr();
  const ReduceKind op = op_;
  parallel_for(outer_, in.x[0]->size() >= kParallelMin, [&](Index o) {
    for (Index i = 0; i < I; ++i) {
      const float gi = g[o * I + i];
      const float* col = p + o * D * I + i;
      float* dcol = d + o * D * I + i;
      if (op != ReduceKind::Max) {
        const float share = op == ReduceKind::Mean ? gi / static_cast<float>(D) : gi;
        for (Index k = 0; k < D; ++k) dcol[k * I] += share;
        continue;
      }
      const float m = y[o * I + i];
      auto hit = [&](float v) { return std::isnan(m) ? std::isnan(v) : v == m; };
      Index ties = 0;
      for (Index k = 0; k < D; ++k) ties += hit(col[k * I]) ? 1 : 0;
      const float share = gi / static_cast<float>(ties);
      for (Index k = 0; k < D; ++k)
        if (hit(col[k * I])) dcol[k * I] += share;
    }
  });
}

}  // namespace seqattn
