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

}  // namespace

// ------------------------------------------------------------------ BinaryOp
BinaryOp::BinaryOp(const std::string& op) : op_(binary_kind(op)) {}

std::string BinaryOp::op_name() const {
  static const char* names[] = {"add", "subtract", "multiply", "divide"};
  return names[static_cast<int>(op_)];
}

bool Broadcast::shape(std::initializer_list<const Shape*> in, Shape& out) {
  std::size_t r = 0;
  for (const Shape* s : in) r = std::max(r, s->size());
  out.assign(r, 1);
  for (const Shape* s : in)
    for (std::size_t i = 0; i < s->size(); ++i) {
      Index& o = out[r - s->size() + i];
      const Index d = (*s)[i];
      if (d != 1 && o != 1 && d != o) return false;
      if (d != 1) o = d;
    }
  return static_cast<int>(r) <= kMaxRank;
}

void Broadcast::set(std::initializer_list<const Shape*> in, const Shape& out) {
  rank = static_cast<int>(out.size());
  for (int i = 0; i < rank; ++i) dims[i] = out[i];
  std::size_t k = 0;
  for (const Shape* shape : in) {
    const Shape& s = *shape;
    const int lead = rank - static_cast<int>(s.size());
    Index stride = 1;
    for (int i = rank - 1; i >= 0; --i) {
      const Index d = i < lead ? 1 : s[i - lead];
      strides[k][i] = d == 1 ? 0 : stride;
      stride *= d;
    }
    ++k;
  }
}

namespace {
// The broadcast output shape, or std::invalid_argument naming the layer and every shape.
Shape broadcast_or_throw(const Layer& layer, const std::string& what,
                         const std::vector<Shape>& in) {
  std::string shapes;
  for (const Shape& s : in) {
    if (s.empty())
      throw std::invalid_argument("Layer '" + layer.name + "' (" + what +
                                  ") takes tensors of rank >= 1");
    shapes += (shapes.empty() ? "" : " and ") + shape_str(s);
  }
  Shape out;
  const bool fits = in.size() == 2 ? Broadcast::shape({&in[0], &in[1]}, out)
                                   : Broadcast::shape({&in[0], &in[1], &in[2]}, out);
  if (!fits)
    throw std::invalid_argument("Layer '" + layer.name + "' (" + what +
                                "): cannot broadcast shapes " + shapes + " (at most rank " +
                                std::to_string(Broadcast::kMaxRank) + ")");
  return out;
}

// out.mask = AND of the masks of the inputs aligned with the output's (B, T) axes.
void and_aligned_masks(const LayerInputs& in, const Shape& shape, std::size_t first,
                       std::size_t end, Mask& mask) {
  mask.clear();
  for (std::size_t k = first; k < end; ++k) {
    const Mask* m = in.mask_of(k);
    if (!m || shape.size() < 2 || m->B != shape[0] || m->T != shape[1]) continue;
    if (mask.empty()) {
      mask.assign(*m);
    } else {
      for (std::size_t i = 0; i < mask.data.size(); ++i)
        mask.data[i] = mask.data[i] && m->data[i];
    }
  }
}
}  // namespace

Shape BinaryOp::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 2)
    throw std::invalid_argument("Layer '" + name + "' (" + op_name() + ") takes two tensors");
  return broadcast_or_throw(*this, op_name(), in);
}

// Forward: out[i] = a[off_a(i)] op b[off_b(i)], one output row (last axis) per task.
void BinaryOp::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& a = *in.x[0];
  const Tensor& b = *in.x[1];
  out.y.shape.clear();
  Broadcast::shape({&a.shape, &b.shape}, out.y.shape);
  out.y.resize_data();
  bc_.set({&a.shape, &b.shape}, out.y.shape);
  const Index W = bc_.width(), rows = W ? out.y.size() / W : 0;
  const Index sa = bc_.inner(0), sb = bc_.inner(1);
  const float* pa = a.ptr();
  const float* pb = b.ptr();
  float* y = out.y.ptr();
  const BinaryKind op = op_;
  const Broadcast& bc = bc_;
  parallel_for(rows, out.y.size() >= kParallelMin, [&](Index r) {
    const float* ar = pa + bc.offset(0, r);
    const float* br = pb + bc.offset(1, r);
    float* yr = y + r * W;
    for (Index j = 0; j < W; ++j) {
      const float u = ar[j * sa], v = br[j * sb];
      yr[j] = op == BinaryKind::Add ? u + v : op == BinaryKind::Subtract ? u - v
            : op == BinaryKind::Multiply ? u * v : u / v;
    }
  });
  and_aligned_masks(in, out.y.shape, 0, 2, out.mask);
}

// Backward: d(input k) += reduce(dy · ∂out/∂input_k) over the axes where input k repeats.
// An input of the output's shape is updated element by element in parallel; a broadcast
// input is accumulated in output order on one thread (a fixed summation order).
void BinaryOp::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                        const std::vector<Tensor*>& dx, const Context&) {
  const Index W = bc_.width(), rows = W ? dy.size() / W : 0;
  const float* pa = in.x[0]->ptr();
  const float* pb = in.x[1]->ptr();
  const float* g = dy.ptr();
  const BinaryKind op = op_;
  const Broadcast& bc = bc_;
  const Index sa = bc.inner(0), sb = bc.inner(1);
  for (int k = 0; k < 2; ++k) {
    if (!dx[k]) continue;
    float* d = dx[k]->ptr();
    const Index sk = bc.inner(k);
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
      const float* ar = pa + bc.offset(0, r);
      const float* br = pb + bc.offset(1, r);
      float* dr = d + bc.offset(k, r);
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

// --------------------------------------------------------------------- Where
Shape Where::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 3)
    throw std::invalid_argument("Layer '" + name + "' (where) takes cond, x and y");
  return broadcast_or_throw(*this, "where", in);
}

void Where::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& c = *in.x[0];
  const Tensor& x = *in.x[1];
  const Tensor& y = *in.x[2];
  out.y.shape.clear();
  Broadcast::shape({&c.shape, &x.shape, &y.shape}, out.y.shape);
  out.y.resize_data();
  bc_.set({&c.shape, &x.shape, &y.shape}, out.y.shape);
  const Broadcast& bc = bc_;
  const Index W = bc.width(), rows = W ? out.y.size() / W : 0;
  const Index sc = bc.inner(0), sx = bc.inner(1), sy = bc.inner(2);
  float* o = out.y.ptr();
  parallel_for(rows, out.y.size() >= kParallelMin, [&](Index r) {
    const float* cr = c.ptr() + bc.offset(0, r);
    const float* xr = x.ptr() + bc.offset(1, r);
    const float* yr = y.ptr() + bc.offset(2, r);
    for (Index j = 0; j < W; ++j) o[r * W + j] = cr[j * sc] != 0.0f ? xr[j * sx] : yr[j * sy];
  });
  and_aligned_masks(in, out.y.shape, 1, 2, out.mask);
}

void Where::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                     const std::vector<Tensor*>& dx, const Context&) {
  const Broadcast& bc = bc_;
  const Index W = bc.width(), rows = W ? dy.size() / W : 0;
  const float* c = in.x[0]->ptr();
  const float* g = dy.ptr();
  const Index sc = bc.inner(0);
  for (int k = 1; k < 3; ++k) {
    if (!dx[k]) continue;
    float* d = dx[k]->ptr();
    const Index sk = bc.inner(k);
    const bool when = k == 1;  // x takes dy where cond holds, y where it does not
    auto row = [&](Index r) {
      const float* cr = c + bc.offset(0, r);
      float* dr = d + bc.offset(k, r);
      for (Index j = 0; j < W; ++j)
        if ((cr[j * sc] != 0.0f) == when) dr[j * sk] += g[r * W + j];
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
