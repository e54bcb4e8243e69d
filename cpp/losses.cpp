#include "losses.hpp"

#include "check.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace seqattn {

// ------------------------------------------------ SparseCategoricalCrossentropy
void SparseCategoricalCrossentropy::check(const Shape& pred, const Tensor& y_true,
                                          const std::string& who) const {
  const Index K = pred.empty() ? 0 : pred.back(), N = K ? shape_size(pred) / K : 0;
  if (pred.size() < 2)
    throw std::invalid_argument("sparse_categorical_crossentropy: predictions must have shape "
                                "(B, K), one probability or logit per class; received shape " +
                                shape_str(pred) + ".");
  if (y_true.size() != N)
    throw std::invalid_argument("sparse_categorical_crossentropy: expected " + std::to_string(N) +
                                " integer labels for predictions of shape " + shape_str(pred) +
                                ", received labels of shape " + shape_str(y_true.shape));
  for (Index n = 0; n < N; ++n) {
    const float y = y_true.data[n];
    if (!(y >= 0.0f && y < static_cast<float>(K)) || y != std::floor(y))
      throw std::invalid_argument(
          "Label " + number_str(y) + " at index " + std::to_string(n) +
          " is not a class id in [0, " + std::to_string(K) + ")" +
          (who.empty() ? " (sparse_categorical_crossentropy)" : " for " + who + ", which has " +
                                                                   std::to_string(K) + " classes") +
          ".");
  }
}

double SparseCategoricalCrossentropy::forward_backward(const Tensor& pred, const Tensor& y_true,
                                                       const float* w, Tensor* dpred,
                                                       bool logits) const {
  const Index K = pred.dim(-1), N = pred.size() / K;
  const Index per_sample = N / pred.dim(0);  // rows of one sample: w holds one weight per sample
  if (dpred) dpred->resize(pred.shape);
  const double invN = 1.0 / static_cast<double>(N);
  double total = 0.0;
  for (Index n = 0; n < N; ++n) {
    const float* p = pred.ptr() + n * K;
    const Index y = static_cast<Index>(y_true.data[n]);
    const double wn = w ? w[n / per_sample] : 1.0;
    float* d = dpred ? dpred->ptr() + n * K : nullptr;
    if (logits) {
      // l = logsumexp(z) - z_y; dl/dz = softmax(z) - onehot(y)
      double m = p[0];
      for (Index k = 1; k < K; ++k) m = std::max<double>(m, p[k]);
      double s = 0.0;
      for (Index k = 0; k < K; ++k) s += std::exp(p[k] - m);
      total += wn * (m + std::log(s) - p[y]);
      if (d)
        for (Index k = 0; k < K; ++k)
          d[k] = static_cast<float>(wn * invN * (std::exp(p[k] - m) / s - (k == y ? 1.0 : 0.0)));
    } else {
      // Keras: q = p / Σp, clipped to [eps, 1-eps]; l = -log q_y
      double s = 0.0;
      for (Index k = 0; k < K; ++k) s += p[k];
      const double q = p[y] / s;
      const bool clipped = q < kProbEpsilon || q > kProbHigh;
      total += wn * -std::log(std::clamp(q, kProbEpsilon, kProbHigh));
      if (d)  // dl/dp_k = 1/s - [k == y]/p_y, zero where clipped
        for (Index k = 0; k < K; ++k)
          d[k] = clipped ? 0.0f
                         : static_cast<float>(wn * invN * (1.0 / s - (k == y ? 1.0 / p[y] : 0.0)));
    }
  }
  return total * invN;
}

// ----------------------------------------------------------- BinaryCrossentropy
void BinaryCrossentropy::check(const Shape& pred, const Tensor& y_true,
                               const std::string& who) const {
  if (y_true.size() != shape_size(pred))
    throw std::invalid_argument("binary_crossentropy: expected " + std::to_string(shape_size(pred)) +
                                " labels for predictions of shape " + shape_str(pred) +
                                ", received labels of shape " + shape_str(y_true.shape));
  for (Index n = 0; n < y_true.size(); ++n) {
    const float y = y_true.data[n];
    if (!(y >= 0.0f && y <= 1.0f))
      throw std::invalid_argument("binary_crossentropy labels must lie in [0, 1]; received " +
                                  number_str(y) + " at index " + std::to_string(n) +
                                  (who.empty() ? "" : " for " + who) + ".");
  }
}

double BinaryCrossentropy::forward_backward(const Tensor& pred, const Tensor& y_true,
                                            const float* w, Tensor* dpred, bool logits) const {
  const Index N = pred.size();
  const Index per_sample = N / pred.dim(0);  // elements of one sample: one weight each sample
  if (dpred) dpred->resize(pred.shape);
  const double invN = 1.0 / static_cast<double>(N);
  double total = 0.0;
  for (Index n = 0; n < N; ++n) {
    const double p = pred.data[n], y = y_true.data[n];
    const double wn = w ? w[n / per_sample] : 1.0;
    double l, g;
    if (logits) {
      // l = max(z, 0) - z y + log(1 + e^-|z|); dl/dz = σ(z) - y
      l = std::max(p, 0.0) - p * y + std::log1p(std::exp(-std::abs(p)));
      g = 1.0 / (1.0 + std::exp(-p)) - y;
    } else {
      // Keras: q = clip(p, eps, 1-eps); l = -(y log q + (1-y) log(1-q))
      const double q = std::clamp(p, kProbEpsilon, kProbHigh);
      l = -(y * std::log(q) + (1.0 - y) * std::log(1.0 - q));
      g = (q != p) ? 0.0 : (-y / q + (1.0 - y) / (1.0 - q));
    }
    total += wn * l;
    if (dpred) dpred->data[n] = static_cast<float>(wn * invN * g);
  }
  return total * invN;
}

}  // namespace seqattn
