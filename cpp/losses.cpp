#include "losses.hpp"

#include "check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace seqattn {

namespace {

std::string for_who(const std::string& who) { return who.empty() ? "" : " for " + who; }

// Shape without trailing axes of size 1 ((B, 1) -> (B,)), as Keras squeezes targets.
Shape squeezed(Shape s) {
  while (s.size() > 1 && s.back() == 1) s.pop_back();
  return s;
}

}  // namespace

// ----------------------------------------------------------------------------- Loss
double Loss::forward_backward(const Tensor& pred, const Tensor& y_true, const float* w,
                              Index batch, const Mask* mask, Tensor* dpred, bool logits) const {
  const Index K = term_width(pred.shape), Y = target_width(pred.shape);
  const Index N = pred.size() / K;
  const Index per_sample = N / batch;  // terms of one sample: w holds one weight each
  if (dpred) dpred->resize(pred.shape);
  if (mask && mask->empty()) mask = nullptr;
  // Terms per mask position: (B, T) positions of (B, T, ...) predictions.
  const Index per_position = mask ? N / (mask->B * mask->T) : 1;
  double count = static_cast<double>(N);
  if (mask) {
    Index valid = 0;
    for (std::uint8_t m : mask->data) valid += m ? 1 : 0;
    count = static_cast<double>(valid * per_position);
  }
  const double inv = count > 0 ? 1.0 / count : 0.0;
  double total = 0.0;
  for (Index n = 0; n < N; ++n) {
    float* d = dpred ? dpred->ptr() + n * K : nullptr;
    if (mask && !mask->data[n / per_position]) {
      if (d) std::fill(d, d + K, 0.0f);
      continue;
    }
    const double wn = w ? w[n / per_sample] : 1.0;
    total += wn * term(pred.ptr() + n * K, y_true.ptr() + n * Y, K, logits, wn * inv, d);
  }
  return total * inv;
}

Tensor Loss::sample_losses(const Tensor& pred, const Tensor& y_true, bool logits) const {
  const Index K = term_width(pred.shape), Y = target_width(pred.shape);
  Shape out_shape = pred.shape;
  if (out_shape.size() > 1) out_shape.pop_back();
  Tensor out;
  out.resize(out_shape);
  const Index terms = pred.size() / K / out.size();  // terms in one sample's row
  for (Index i = 0; i < out.size(); ++i) {
    double s = 0.0;
    for (Index j = 0; j < terms; ++j) {
      const Index n = i * terms + j;
      s += term(pred.ptr() + n * K, y_true.ptr() + n * Y, K, logits, 0.0, nullptr);
    }
    out.data[i] = static_cast<float>(s / static_cast<double>(terms));
  }
  return out;
}

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

double SparseCategoricalCrossentropy::term(const float* p, const float* yp, Index K, bool logits,
                                           double scale, float* d) const {
  const Index y = static_cast<Index>(*yp);
  if (logits) {
    // l = logsumexp(z) - z_y; dl/dz = softmax(z) - onehot(y)
    double m = p[0];
    for (Index k = 1; k < K; ++k) m = std::max<double>(m, p[k]);
    double s = 0.0;
    for (Index k = 0; k < K; ++k) s += std::exp(p[k] - m);
    if (d)
      for (Index k = 0; k < K; ++k)
        d[k] = static_cast<float>(scale * (std::exp(p[k] - m) / s - (k == y ? 1.0 : 0.0)));
    return m + std::log(s) - p[y];
  }
  // Keras: q = p / Σp, clipped to [eps, 1-eps]; l = -log q_y
  double s = 0.0;
  for (Index k = 0; k < K; ++k) s += p[k];
  const double q = p[y] / s;
  const bool clipped = q < kProbEpsilon || q > kProbHigh;
  if (d)  // dl/dp_k = 1/s - [k == y]/p_y, zero where clipped
    for (Index k = 0; k < K; ++k)
      d[k] = clipped ? 0.0f : static_cast<float>(scale * (1.0 / s - (k == y ? 1.0 / p[y] : 0.0)));
  return -std::log(std::clamp(q, kProbEpsilon, kProbHigh));
}

// ------------------------------------------------------ CategoricalCrossentropy
void CategoricalCrossentropy::check(const Shape& pred, const Tensor& y_true,
                                    const std::string& who) const {
  if (pred.size() < 2)
    throw std::invalid_argument("categorical_crossentropy: predictions must have shape (B, K), "
                                "one probability or logit per class; received shape " +
                                shape_str(pred) + for_who(who) + ".");
  if (y_true.shape != pred) {
    // Integer labels ((B,) or (B, 1)) are the most common mistake: name the loss that takes them.
    const Shape rows(pred.begin(), pred.end() - 1);
    const bool ids = squeezed(y_true.shape) == squeezed(rows);
    throw std::invalid_argument(
        "categorical_crossentropy: targets must have the predictions' shape " + shape_str(pred) +
        " (one row of " + std::to_string(pred.back()) +
        " class probabilities, e.g. one-hot, per prediction row); received targets of shape " +
        shape_str(y_true.shape) + for_who(who) + "." +
        (ids ? " For integer class ids use sparse_categorical_crossentropy." : ""));
  }
  for (Index n = 0; n < y_true.size(); ++n) {
    const float y = y_true.data[n];
    if (!(y >= 0.0f && y <= 1.0f))
      throw std::invalid_argument("categorical_crossentropy targets must lie in [0, 1]; received " +
                                  number_str(y) + " at index " + std::to_string(n) + " of targets "
                                  "of shape " + shape_str(y_true.shape) + " (predictions " +
                                  shape_str(pred) + ")" + for_who(who) + ".");
  }
}

double CategoricalCrossentropy::term(const float* p, const float* y, Index K, bool logits,
                                     double scale, float* d) const {
  const double keep = 1.0 - label_smoothing, add = label_smoothing / static_cast<double>(K);
  auto target = [&](Index k) { return y[k] * keep + add; };
  double l = 0.0;
  if (logits) {
    // l = Σ_k y_k (logsumexp(z) - z_k); dl/dz_j = softmax_j Σ_k y_k - y_j
    double m = p[0];
    for (Index k = 1; k < K; ++k) m = std::max<double>(m, p[k]);
    double s = 0.0, ysum = 0.0;
    for (Index k = 0; k < K; ++k) s += std::exp(p[k] - m);
    const double lse = m + std::log(s);
    for (Index k = 0; k < K; ++k) {
      const double t = target(k);
      ysum += t;
      if (t != 0.0) l += t * (lse - p[k]);
    }
    if (d)
      for (Index k = 0; k < K; ++k)
        d[k] = static_cast<float>(scale * (std::exp(p[k] - m) / s * ysum - target(k)));
    return l;
  }
  // Keras: q = p / Σp, clipped to [eps, 1-eps]; l = -Σ_k y_k log q_k.
  // dl/dp_j = -y_j u_j / p_j + Σ_k y_k u_k / s, with u_k = 0 where q_k was clipped.
  double s = 0.0, yu = 0.0;
  for (Index k = 0; k < K; ++k) s += p[k];
  for (Index k = 0; k < K; ++k) {
    const double t = target(k), q = p[k] / s;
    if (t != 0.0) l -= t * std::log(std::clamp(q, kProbEpsilon, kProbHigh));
    if (q >= kProbEpsilon && q <= kProbHigh) yu += t;
  }
  if (d)
    for (Index k = 0; k < K; ++k) {
      const double q = p[k] / s;
      const bool kept = q >= kProbEpsilon && q <= kProbHigh;
      d[k] = static_cast<float>(scale * ((kept ? -target(k) / p[k] : 0.0) + yu / s));
    }
  return l;
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
                                  number_str(y) + " at index " + std::to_string(n) + for_who(who) +
                                  ".");
  }
}

double BinaryCrossentropy::term(const float* pp, const float* yp, Index, bool logits,
                                double scale, float* d) const {
  const double p = *pp, y = *yp * (1.0 - label_smoothing) + 0.5 * label_smoothing;
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
  if (d) *d = static_cast<float>(scale * g);
  return l;
}

// --------------------------------------------------------------- RegressionLoss
void RegressionLoss::check(const Shape& pred, const Tensor& y_true, const std::string& who) const {
  if (squeezed(y_true.shape) != squeezed(pred))
    throw std::invalid_argument(name() + ": targets must have the predictions' shape " +
                                shape_str(pred) + "; received targets of shape " +
                                shape_str(y_true.shape) + for_who(who) + ".");
  for (Index n = 0; n < y_true.size(); ++n)
    if (!std::isfinite(y_true.data[n]))
      throw std::invalid_argument(name() + " targets must be finite numbers; received " +
                                  number_str(y_true.data[n]) + " at index " + std::to_string(n) +
                                  " of targets of shape " + shape_str(y_true.shape) +
                                  " (predictions " + shape_str(pred) + ")" + for_who(who) + ".");
}

double MeanSquaredError::term(const float* p, const float* y, Index, bool, double scale,
                              float* d) const {
  const double e = static_cast<double>(*p) - *y;
  if (d) *d = static_cast<float>(scale * 2.0 * e);
  return e * e;
}

double MeanAbsoluteError::term(const float* p, const float* y, Index, bool, double scale,
                               float* d) const {
  const double e = static_cast<double>(*p) - *y;
  if (d) *d = static_cast<float>(scale * static_cast<double>((e > 0.0) - (e < 0.0)));
  return std::abs(e);
}

double Huber::term(const float* p, const float* y, Index, bool, double scale, float* d) const {
  const double e = static_cast<double>(*p) - *y, a = std::abs(e);
  if (a <= delta) {
    if (d) *d = static_cast<float>(scale * e);
    return 0.5 * e * e;
  }
  if (d) *d = static_cast<float>(scale * delta * static_cast<double>((e > 0.0) - (e < 0.0)));
  return delta * a - 0.5 * delta * delta;
}

}  // namespace seqattn
