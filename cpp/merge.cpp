#include "merge.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller tensors stay on one thread

MergeKind merge_kind(const std::string& op) {
  static const char* names[] = {"add", "subtract", "multiply", "average", "maximum", "minimum"};
  for (int i = 0; i < 6; ++i)
    if (op == names[i]) return static_cast<MergeKind>(i);
  throw std::invalid_argument("Merge: unknown op '" + op +
                              "' (add, subtract, multiply, average, maximum or minimum)");
}

// out = AND of the masks that exist (Keras 2 Merge.compute_mask); none -> no mask.
void and_of_present_masks(const LayerInputs& in, Mask& out) {
  out.clear();
  for (std::size_t j = 0; j < in.x.size(); ++j) {
    const Mask* m = in.mask_of(j);
    if (!m) continue;
    if (out.empty()) {
      out.assign(*m);
    } else {
      for (std::size_t i = 0; i < out.data.size(); ++i)
        out.data[i] = out.data[i] && m->data[i];
    }
  }
}
}  // namespace

// ------------------------------------------------------------------------ Merge
Merge::Merge(const std::string& op) : op_(merge_kind(op)) {}

std::string Merge::op_name() const {
  static const char* names[] = {"add", "subtract", "multiply", "average", "maximum", "minimum"};
  return names[static_cast<int>(op_)];
}

std::string Merge::kind_name() const {
  static const char* names[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
  return names[static_cast<int>(op_)];
}

Shape Merge::output_shape(const std::vector<Shape>& in) const {
  const std::string who = "Layer '" + name + "' (" + kind_name() + ")";
  if (op_ == MergeKind::Subtract && in.size() != 2)
    throw std::invalid_argument(who + " should be called on exactly 2 inputs, received " +
                                std::to_string(in.size()));
  if (in.size() < 2)
    throw std::invalid_argument(who + " should be called on a list of at least 2 inputs, "
                                "received " + std::to_string(in.size()));
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i].empty())
      throw std::invalid_argument(who + ": input " + std::to_string(i) + " is missing");
    if (in[i] != in[0])
      throw std::invalid_argument(who + ": inputs must all have the same shape; received " +
                                  shape_str(in[0]) + " (input 0) and " + shape_str(in[i]) +
                                  " (input " + std::to_string(i) + ")");
  }
  return in[0];
}

// Forward: y[i] = x_0[i] op x_1[i] op ... in list order for every element (the same rounding
// on any thread). Average divides the sum by k, as Keras does.
void Merge::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Index n = in.x[0]->size();
  const std::size_t k = in.x.size();
  out.y.resize(in.x[0]->shape);
  float* y = out.y.ptr();
  const MergeKind op = op_;
  parallel_for(n, n >= kParallelMin, [&](Index i) {
    float s = in.x[0]->ptr()[i];
    for (std::size_t j = 1; j < k; ++j) {
      const float v = in.x[j]->ptr()[i];
      switch (op) {
        case MergeKind::Add: case MergeKind::Average: s += v; break;
        case MergeKind::Subtract: s -= v; break;
        case MergeKind::Multiply: s *= v; break;
        // NaN wins: a NaN already in s stays, a NaN v replaces s.
        case MergeKind::Maximum: s = std::isnan(s) || !(v > s || std::isnan(v)) ? s : v; break;
        case MergeKind::Minimum: s = std::isnan(s) || !(v < s || std::isnan(v)) ? s : v; break;
      }
    }
    y[i] = op == MergeKind::Average ? s / static_cast<float>(k) : s;
  });
  and_of_present_masks(in, out.mask);
}

// Backward, inverting each forward line: add -> dy to each; subtract -> +dy, -dy; average ->
// dy / k; multiply -> dy times the product of the other inputs (in list order, no division,
// so a zero input is exact); maximum/minimum -> dy / (number of ties) to each tying input.
// An input listed twice shares one dx buffer and receives both shares.
void Merge::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                     const std::vector<Tensor*>& dx, const Context&) {
  const Index n = dy.size();
  const std::size_t k = in.x.size();
  const float* g = dy.ptr();
  const float* y = out.y.ptr();
  const MergeKind op = op_;
  parallel_for(n, n >= kParallelMin, [&](Index i) {
    const float gi = g[i];
    if (op == MergeKind::Maximum || op == MergeKind::Minimum) {
      const float m = y[i];
      auto hit = [&](std::size_t j) {
        const float v = in.x[j]->ptr()[i];
        return std::isnan(m) ? std::isnan(v) : v == m;
      };
      Index ties = 0;
      for (std::size_t j = 0; j < k; ++j) ties += hit(j) ? 1 : 0;
      const float share = gi / static_cast<float>(ties);
      for (std::size_t j = 0; j < k; ++j)
        if (dx[j] && hit(j)) dx[j]->ptr()[i] += share;
      return;
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (!dx[j]) continue;
      float d = gi;
      if (op == MergeKind::Subtract && j == 1) d = -gi;
      else if (op == MergeKind::Average) d = gi / static_cast<float>(k);
      else if (op == MergeKind::Multiply)
        for (std::size_t l = 0; l < k; ++l)
          if (l != j) d *= in.x[l]->ptr()[i];
      dx[j]->ptr()[i] += d;
    }
  });
}

// ------------------------------------------------------------------ Concatenate
Concatenate::Concatenate(int axis) : axis_(axis) {
  if (axis == 0)
    throw std::invalid_argument("Concatenate: the axis must not be 0 (the batch axis)");
}

int Concatenate::axis_for(std::size_t rank) const {
  return axis_ < 0 ? axis_ + static_cast<int>(rank) : axis_;
}

Shape Concatenate::output_shape(const std::vector<Shape>& in) const {
  const std::string who = "Layer '" + name + "' (Concatenate)";
  if (in.size() < 2)
    throw std::invalid_argument(who + " should be called on a list of at least 2 inputs, "
                                "received " + std::to_string(in.size()));
  std::string shapes;
  for (const Shape& s : in) shapes += (shapes.empty() ? "" : ", ") + shape_str(s);
  Shape out = in[0];
  const int axis = axis_for(out.size());
  if (axis < 1 || axis >= static_cast<int>(out.size()))
    throw std::invalid_argument(who + ": axis=" + std::to_string(axis_) + " must name a "
                                "non-batch axis of the inputs. Received: input_shape=[" +
                                shapes + "]");
  bool ok = true;
  for (std::size_t j = 1; ok && j < in.size(); ++j) {
    ok = in[j].size() == out.size();
    for (std::size_t a = 0; ok && a < out.size(); ++a)
      ok = static_cast<int>(a) == axis || in[j][a] == out[a];
    if (ok) out[axis] += in[j][axis];
  }
  if (!ok)
    throw std::invalid_argument(who + " requires inputs with matching shapes except for the "
                                "concatenation axis " + std::to_string(axis) +
                                ". Received: input_shape=[" + shapes + "]");
  return out;
}

// Forward: per outer index o, each input's (D_j, inner) slab is copied after the previous ones.
void Concatenate::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x0 = *in.x[0];
  axis_now_ = axis_for(x0.shape.size());
  const int axis = axis_now_;
  outer_ = inner_ = 1;
  for (int a = 0; a < axis; ++a) outer_ *= x0.dim(a);
  for (int a = axis + 1; a < x0.rank(); ++a) inner_ *= x0.dim(a);
  total_ = 0;
  for (const Tensor* x : in.x) total_ += x->dim(axis);
  out.y.shape = x0.shape;
  out.y.shape[axis] = total_;
  out.y.resize_data();
  float* y = out.y.ptr();
  const Index I = inner_, row = total_ * inner_;
  parallel_for(outer_, out.y.size() >= kParallelMin, [&](Index o) {
    Index at = o * row;
    for (const Tensor* x : in.x) {
      const Index len = x->dim(axis) * I;
      std::memcpy(y + at, x->ptr() + o * len, sizeof(float) * len);
      at += len;
    }
  });
  // Masks (B, T), an input without one counting as all ones; only inputs with a T axis
  // (rank >= 3: (B, T, C...)) can carry one.
  out.mask.clear();
  bool any = false;
  for (std::size_t j = 0; j < in.x.size(); ++j) any = any || in.mask_of(j);
  if (!any || x0.rank() < 3) return;
  const Index B = x0.dim(0);
  if (axis == 1) {
    out.mask.B = B;
    out.mask.T = total_;
    out.mask.data.assign(B * total_, 1);
    Index t0 = 0;
    for (std::size_t j = 0; j < in.x.size(); ++j) {
      const Index T = in.x[j]->dim(1);
      if (const Mask* m = in.mask_of(j))
        for (Index b = 0; b < B; ++b)
          for (Index t = 0; t < T; ++t) out.mask.data[b * total_ + t0 + t] = m->data[b * T + t];
      t0 += T;
    }
    return;
  }
  const Index T = x0.dim(1);
  out.mask.B = B;
  out.mask.T = T;
  out.mask.data.assign(B * T, 0);
  for (std::size_t j = 0; j < in.x.size(); ++j) {
    const Mask* m = in.mask_of(j);
    for (Index i = 0; i < B * T; ++i)
      out.mask.data[i] = out.mask.data[i] || !m || m->data[i];
  }
}

// Backward: each dx_j += its slab of dy (the forward's copy, reversed).
void Concatenate::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                           const std::vector<Tensor*>& dx, const Context&) {
  const float* g = dy.ptr();
  const Index I = inner_, row = total_ * inner_;
  parallel_for(outer_, dy.size() >= kParallelMin, [&](Index o) {
    Index at = o * row;
    for (std::size_t j = 0; j < in.x.size(); ++j) {
      const Index len = in.x[j]->dim(axis_now_) * I;
      if (dx[j]) {
        float* d = dx[j]->ptr() + o * len;
        for (Index i = 0; i < len; ++i) d[i] += g[at + i];
      }
      at += len;
    }
  });
}

}  // namespace seqattn
