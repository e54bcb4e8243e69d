#include "position.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller outputs stay on one thread

void check_btc(const std::string& kind, const std::string& name, const std::vector<Shape>& in) {
  if (in.size() != 1 || in[0].size() != 3)
    throw std::invalid_argument("Input 0 of layer '" + name + "' (" + kind + ") is incompatible "
                                "with the layer: expected shape (B, T, C), received input with "
                                "shape " + (in.empty() ? std::string("()") : shape_str(in[0])));
}

// y[b] = table (T, C) for every b.
void broadcast_rows(float* y, const float* table, Index B, Index TC) {
  parallel_for(B, B * TC >= kParallelMin, [&](Index b) {
    std::copy(table, table + TC, y + b * TC);
  });
}
}  // namespace

// ---------------------------------------------------------------- PositionEmbedding
PositionEmbedding::PositionEmbedding(Index sequence_length, Index channels)
    : Tmax(sequence_length), C(channels) {
  if (Tmax < 1 || C < 1)
    throw std::invalid_argument("PositionEmbedding: expected positive sequence_length and "
                                "channels, received " + std::to_string(Tmax) + " and " +
                                std::to_string(C));
  params_.emplace_back("embeddings", Shape{Tmax, C});
}

Shape PositionEmbedding::output_shape(const std::vector<Shape>& in) const {
  check_btc(kind(), name, in);
  if (in[0][2] != C)
    throw std::invalid_argument("Input 0 of layer '" + name + "' (PositionEmbedding) is "
                                "incompatible with the layer: expected axis -1 of input shape "
                                "to have value " + std::to_string(C) + ", but received input "
                                "with shape " + shape_str(in[0]));
  if (in[0][1] > Tmax)
    throw std::invalid_argument("Layer '" + name + "' (PositionEmbedding): sequences of length " +
                                std::to_string(in[0][1]) + " are longer than sequence_length=" +
                                std::to_string(Tmax) + "; received input with shape " +
                                shape_str(in[0]));
  return in[0];
}

void PositionEmbedding::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C): only its shape is read
  const Index B = x.dim(0), T = x.dim(1);
  out.y.resize(x.shape);
  broadcast_rows(out.y.ptr(), params_[0].value.data(), B, T * C);  // W[:T] is (T, C)
  if (const Mask* m = in.mask_of(0)) out.mask.assign(*m); else out.mask.clear();
}

void PositionEmbedding::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                                 const std::vector<Tensor*>&, const Context&) {
  // Inverts y[b, t] = W[t]: dW[t] += Σ_b dy[b, t]. Threads own rows t (disjoint); each row
  // sums over b in order, so the thread count never changes the result. dx stays zero.
  const Index B = in.x[0]->dim(0), T = in.x[0]->dim(1);
  float* dW = params_[0].grad.data();
  const float* g = dy.ptr();
  parallel_for(T, B * T * C >= kParallelMin, [&](Index t) {
    float* row = dW + t * C;
    for (Index b = 0; b < B; ++b) {
      const float* gr = g + (b * T + t) * C;
      for (Index c = 0; c < C; ++c) row[c] += gr[c];
    }
  });
}

// ------------------------------------------------------------- SinePositionEncoding
SinePositionEncoding::SinePositionEncoding(double max_wavelength_)
    : max_wavelength(max_wavelength_) {
  if (!(max_wavelength > 0.0) || !std::isfinite(max_wavelength))
    throw std::invalid_argument("SinePositionEncoding: expected a positive finite "
                                "`max_wavelength`, received max_wavelength=" +
                                std::to_string(max_wavelength));
}

Shape SinePositionEncoding::output_shape(const std::vector<Shape>& in) const {
  check_btc(kind(), name, in);
  return in[0];
}

void SinePositionEncoding::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (B, T, C): only its shape is read
  const Index B = x.dim(0), T = x.dim(1), C = x.dim(2);
  if (table_.rank() != 2 || table_.dim(0) != T || table_.dim(1) != C) {
    // Computed in double and rounded once (keras-hub computes in float32, which loses about
    // 1e-5 at positions in the hundreds); only when the shape changes, so not per step.
    table_.resize({T, C});
    for (Index i = 0; i < C; ++i) {
      const double w = std::pow(max_wavelength, -2.0 * static_cast<double>(i / 2) /
                                                    static_cast<double>(C));
      for (Index t = 0; t < T; ++t) {
        const double angle = static_cast<double>(t) * w;
        table_.ptr()[t * C + i] = static_cast<float>(i % 2 == 0 ? std::sin(angle) : std::cos(angle));
      }
    }
  }
  out.y.resize(x.shape);
  broadcast_rows(out.y.ptr(), table_.ptr(), B, T * C);
  if (const Mask* m = in.mask_of(0)) out.mask.assign(*m); else out.mask.clear();
}

void SinePositionEncoding::backward(const LayerInputs&, const LayerOutput&, const Tensor&,
                                    const std::vector<Tensor*>&, const Context&) {
  // y does not depend on x and there are no weights: nothing to accumulate.
}

}  // namespace seqattn
