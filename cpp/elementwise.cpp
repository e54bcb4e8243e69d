#include "elementwise.hpp"

#include <cmath>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // output elements; smaller ones stay on one thread

BinaryKind binary_kind(const std::string& op) {
  if (op == "add") return BinaryKind::Add;
  if (op == "subtract") return BinaryKind::Subtract;
  if (op == "multiply") return BinaryKind::Multiply;
  if (op == "divide") return BinaryKind::Divide;
  throw std::invalid_argument("BinaryOp: unknown op '" + op +
                              "' (expected add, subtract, multiply or divide)");
}

UnaryKind unary_kind(const std::string& op) {
  static const char* names[] = {"negative", "exp", "log", "sqrt", "square",
                                "abs", "affine", "reciprocal", "power"};
  for (int i = 0; i < 9; ++i)
    if (op == names[i]) return static_cast<UnaryKind>(i);
  throw std::invalid_argument("UnaryOp: unknown op '" + op + "'");
}

// NumPy broadcasting of two shapes, or an empty optional-like flag when they do not fit.
bool broadcast(const Shape& a, const Shape& b, Shape& out) {
  const std::size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (std::size_t i = 0; i < r; ++i) {
    const Index da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const Index db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}
}  // namespace

// ------------------------------------------------------------------ BinaryOp
BinaryOp::BinaryOp(const std::string& op) : op_(binary_kind(op)) {}

std::string BinaryOp::op_name() const {
  static const char* names[] = {"add", "subtract", "multiply", "divide"};
  return names[static_cast<int>(op_)];
}

Shape BinaryOp::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 2 || in[0].empty() || in[1].empty())
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() +
                                ") takes two tensors of rank >= 1");
  Shape out;
  if (!broadcast(in[0], in[1], out))
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() +
                                "): cannot broadcast shapes " + shape_str(in[0]) + " and " +
                                shape_str(in[1]));
  if (static_cast<int>(out.size()) > kMaxRank)
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() + "): tensors of rank " +
                                std::to_string(out.size()) + " exceed the supported rank " +
                                std::to_string(kMaxRank));
  return out;
}

void BinaryOp::set_strides(const Shape& a, const Shape& b, const Shape& out) {
  rank_ = static_cast<int>(out.size());
  for (int i = 0; i < rank_; ++i) out_dims_[i] = out[i];
  const Shape* shapes[2] = {&a, &b};
  for (int k = 0; k < 2; ++k) {
    const Shape& s = *shapes[k];
    const int lead = rank_ - static_cast<int>(s.size());
    Index stride = 1;
    for (int i = rank_ - 1; i >= 0; --i) {
      const Index d = i < lead ? 1 : s[i - lead];
      strides_[k][i] = d == 1 ? 0 : stride;
      stride *= d;
    }
  }
}

Index BinaryOp::row_offset(int k, Index r) const {
  Index off = 0;
  for (int i = rank_ - 2; i >= 0; --i) {
    off += (r % out_dims_[i]) * strides_[k][i];
    r /= out_dims_[i];
  }
  return off;
}

// Forward: out[i] = a[off_a(i)] op b[off_b(i)], one output row (last axis) per task.
void BinaryOp::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& a = *in.x[0];
  const Tensor& b = *in.x[1];
  Shape shape;
  broadcast(a.shape, b.shape, shape);
  set_strides(a.shape, b.shape, shape);
  out.y.resize(shape);
  const Index W = out_dims_[rank_ - 1], rows = out.y.size() / (W ? W : 1);
  const Index sa = strides_[0][rank_ - 1], sb = strides_[1][rank_ - 1];
  const float* pa = a.ptr();
  const float* pb = b.ptr();
  float* y = out.y.ptr();
  const BinaryKind op = op_;
  parallel_for(rows, out.y.size() >= kParallelMin, [&](Index r) {
    const float* ar = pa + row_offset(0, r);
    const float* br = pb + row_offset(1, r);
    float* yr = y + r * W;
    for (Index j = 0; j < W; ++j) {
      const float u = ar[j * sa], v = br[j * sb];
      yr[j] = op == BinaryKind::Add ? u + v : op == BinaryKind::Subtract ? u - v
            : op == BinaryKind::Multiply ? u * v : u / v;
    }
  });
  // mask = AND of the masks of inputs aligned with the output's (B, T) axes.
  out.mask.clear();
  for (int k = 0; k < 2; ++k) {
    const Mask* m = in.mask_of(k);
    if (!m || rank_ < 2 || m->B != shape[0] || m->T != shape[1]) continue;
    if (out.mask.empty()) {
      out.mask.assign(*m);
    } else {
      for (std::size_t i = 0; i < out.mask.data.size(); ++i)
        out.mask.data[i] = out.mask.data[i] && m->data[i];
    }
  }
}

// Backward: d(input k) += reduce(dy · ∂out/∂input_k) over the axes where input k repeats.
// An input of the output's shape is updated element by element in parallel; a broadcast
// input is accumulated in output order on one thread (a fixed summation order).
void BinaryOp::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                        const std::vector<Tensor*>& dx, const Context&) {
  const Tensor& a = *in.x[0];
  const Tensor& b = *in.x[1];
  const Index W = out_dims_[rank_ - 1], rows = dy.size() / (W ? W : 1);
  const float* pa = a.ptr();
  const float* pb = b.ptr();
  const float* g = dy.ptr();
  const BinaryKind op = op_;
  for (int k = 0; k < 2; ++k) {
    if (!dx[k]) continue;
    float* d = dx[k]->ptr();
    const Index sa = strides_[0][rank_ - 1], sb = strides_[1][rank_ - 1];
    const Index sk = strides_[k][rank_ - 1];
    // ∂(a op b)/∂a, ∂/∂b at one element, times the incoming gradient.
    auto term = [=](float u, float v, float gi) {
      switch (op) {
        case BinaryKind::Add: return gi;
        case BinaryKind::Subtract: return k == 0 ? gi : -gi;
        case BinaryKind::Multiply: return k == 0 ? gi * v : gi * u;
        default: return k == 0 ? gi / v : -gi * u / (v * v);
      }
    };
    auto row = [&](Index r) {
      const float* ar = pa + row_offset(0, r);
      const float* br = pb + row_offset(1, r);
      float* dr = d + row_offset(k, r);
      const float* gr = g + r * W;
      for (Index j = 0; j < W; ++j) dr[j * sk] += term(ar[j * sa], br[j * sb], gr[j]);
    };
    if (in.x[k]->size() == dy.size()) {
      parallel_for(rows, dy.size() >= kParallelMin, row);
    } else {
      for (Index r = 0; r < rows; ++r) row(r);
    }
  }
}

// ------------------------------------------------------------------- UnaryOp
UnaryOp::UnaryOp(const std::string& op, double scale, double shift)
    : op_(unary_kind(op)), a_(static_cast<float>(scale)), b_(static_cast<float>(shift)) {}

std::string UnaryOp::op_name() const {
  static const char* names[] = {"negative", "exp", "log", "sqrt", "square",
                                "abs", "affine", "reciprocal", "power"};
  return names[static_cast<int>(op_)];
}

Shape UnaryOp::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].empty())
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() +
                                ") takes one tensor of rank >= 1");
  return in[0];
}

void UnaryOp::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];
  out.y.resize(x.shape);
  const Index n = x.size();
  const float* p = x.ptr();
  float* y = out.y.ptr();
  const UnaryKind op = op_;
  const float a = a_, b = b_;
  parallel_for(n, n >= kParallelMin, [&](Index i) {
    const float v = p[i];
    float r;
    switch (op) {
      case UnaryKind::Negative: r = -v; break;
      case UnaryKind::Exp: r = std::exp(v); break;
      case UnaryKind::Log: r = std::log(v); break;
      case UnaryKind::Sqrt: r = std::sqrt(v); break;
      case UnaryKind::Square: r = v * v; break;
      case UnaryKind::Abs: r = std::fabs(v); break;
      case UnaryKind::Affine: r = a * v + b; break;
      case UnaryKind::Reciprocal: r = a / v; break;
      default: r = std::pow(v, a); break;
    }
    y[i] = r;
  });
  const Mask* m = in.mask_of(0);
  if (m) out.mask.assign(*m); else out.mask.clear();
}

void UnaryOp::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                       const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Index n = dy.size();
  const float* p = in.x[0]->ptr();
  const float* y = out.y.ptr();
  const float* g = dy.ptr();
  float* d = dx[0]->ptr();
  const UnaryKind op = op_;
  const float a = a_;
  parallel_for(n, n >= kParallelMin, [&](Index i) {
    const float v = p[i], gi = g[i];
    float r;
    switch (op) {
      case UnaryKind::Negative: r = -gi; break;
      case UnaryKind::Exp: r = gi * y[i]; break;
      case UnaryKind::Log: r = gi / v; break;
      case UnaryKind::Sqrt: r = gi * 0.5f / y[i]; break;
      case UnaryKind::Square: r = gi * 2.0f * v; break;
      // sign(v), with NaN passed on (0 at v = 0, as Keras/TF define |v|')
      case UnaryKind::Abs: r = v > 0.0f ? gi : v < 0.0f ? -gi : v == 0.0f ? 0.0f : v; break;
      case UnaryKind::Affine: r = gi * a; break;
      case UnaryKind::Reciprocal: r = -gi * a / (v * v); break;
      default: r = gi * a * std::pow(v, a - 1.0f); break;
    }
    d[i] += r;
  });
}

// ------------------------------------------------------------------ Constant
Shape Constant::output_shape(const std::vector<Shape>& in) const {
  if (!in.empty())
    throw std::invalid_argument("Layer '" + name + "' (Constant) takes no inputs");
  return value_.shape;
}

void Constant::forward(const LayerInputs&, LayerOutput& out, const Context&) {
  out.y.dtype = value_.dtype;
  out.y.resize(value_.shape);
  if (value_.dtype == DType::Float32)
    std::copy(value_.data.begin(), value_.data.end(), out.y.data.begin());
  else
    std::copy(value_.ids.begin(), value_.ids.end(), out.y.ids.begin());
  out.mask.clear();
}

}  // namespace seqattn
