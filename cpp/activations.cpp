#include "activations.hpp"

#include <cmath>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {"linear", "relu", "gelu", "tanh", "sigmoid",
                                                 "softmax"};
  return names;
}

Activation activation_from_name(const std::string& name) {
  const auto& names = activation_names();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<Activation>(i);
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw std::invalid_argument("Unknown activation '" + name + "'. Valid names: " + valid + ".");
}

std::string activation_name(Activation a) { return activation_names()[static_cast<int>(a)]; }

namespace {
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
}  // namespace

void activation_forward(Activation a, const float* z, float* y, Index rows, Index cols) {
  const Index n = rows * cols;
  switch (a) {
    case Activation::Linear:
      if (y != z) std::copy(z, z + n, y);
      return;
    case Activation::Relu:
      for (Index i = 0; i < n; ++i) y[i] = z[i] < 0.0f ? 0.0f : z[i];  // NaN stays NaN
      return;
    case Activation::Gelu:  // Keras default: exact, 0.5 z (1 + erf(z / sqrt 2))
      for (Index i = 0; i < n; ++i) y[i] = 0.5f * z[i] * (1.0f + std::erf(z[i] * kInvSqrt2));
      return;
    case Activation::Tanh:
      for (Index i = 0; i < n; ++i) y[i] = std::tanh(z[i]);
      return;
    case Activation::Sigmoid:
      for (Index i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-z[i]));
      return;
    case Activation::Softmax:
      for (Index r = 0; r < rows; ++r) {
        const float* zr = z + r * cols;
        float* yr = y + r * cols;
        float m = zr[0];
        for (Index c = 1; c < cols; ++c) m = std::max(m, zr[c]);
        float s = 0.0f;
        for (Index c = 0; c < cols; ++c) s += (yr[c] = std::exp(zr[c] - m));
        const float inv = 1.0f / s;
        for (Index c = 0; c < cols; ++c) yr[c] *= inv;
      }
      return;
  }
}

void activation_backward(Activation a, const float* z, const float* y, const float* dy, float* dz,
                         Index rows, Index cols) {
  const Index n = rows * cols;
  switch (a) {
    case Activation::Linear:
      if (dz != dy) std::copy(dy, dy + n, dz);
      return;
    case Activation::Relu:  // y = max(z, 0)
      for (Index i = 0; i < n; ++i) dz[i] = z[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::Gelu:  // d/dz [z Φ(z)] = Φ(z) + z φ(z)
      for (Index i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(z[i] * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * std::exp(-0.5f * z[i] * z[i]);
        dz[i] = dy[i] * (cdf + z[i] * pdf);
      }
      return;
    case Activation::Tanh:  // y = tanh z: 1 - y²
      for (Index i = 0; i < n; ++i) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::Sigmoid:  // y = σ(z): y (1 - y)
      for (Index i = 0; i < n; ++i) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::Softmax:  // dz = y ⊙ (dy - Σ_c dy_c y_c)
      for (Index r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;
        const float* gr = dy + r * cols;
        float dot = 0.0f;
        for (Index c = 0; c < cols; ++c) dot += gr[c] * yr[c];
        float* dzr = dz + r * cols;
        for (Index c = 0; c < cols; ++c) dzr[c] = yr[c] * (gr[c] - dot);
      }
      return;
  }
}

}  // namespace seqattn
