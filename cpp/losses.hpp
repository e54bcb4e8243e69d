// Losses: the mean over loss terms of a per-term loss, and its gradient with respect to the
// predictions (the loss owns the 1/N, so layers never divide by the batch). A term is one row
// of K classes for the categorical losses and one element for the elementwise ones; averaging
// the element terms equals Keras's mean over the last axis, then over samples.
#pragma once
#include <string>

#include "tensor.hpp"

namespace seqattn {

class Loss {
 public:
  explicit Loss(bool from_logits) : from_logits(from_logits) {}
  virtual ~Loss() = default;
  virtual std::string name() const = 0;
  // The output activation whose pre-activation values this loss can consume directly when
  // from_logits is false (softmax for categorical, sigmoid for binary): exact and stable.
  // Empty for losses that read the output itself (regression).
  virtual std::string fusable_activation() const { return ""; }
  // Throws std::invalid_argument when y_true does not fit predictions of shape `pred` (size,
  // class range); `who` ("output 'dense' of model 'm'", or empty) names them in the message.
  // Builds no string unless it throws (it runs every step).
  virtual void check(const Shape& pred, const Tensor& y_true, const std::string& who) const = 0;
  // Prediction values one term reads (K or 1) and target values it reads (1 for class ids).
  virtual Index term_width(const Shape& pred) const = 0;
  virtual Index target_width(const Shape& pred) const { return term_width(pred); }
  // One term's loss from its predictions p and targets y (K = term_width); when d is given,
  // writes scale · dl/dp there.
  virtual double term(const float* p, const float* y, Index K, bool logits, double scale,
                      float* d) const = 0;

  // Returns the weighted mean loss over N terms and, when dpred is given, writes dL/dpred
  // (same shape as pred). `logits` overrides from_logits (set for a fused output layer).
  // sample_weight (B,) = one weight per sample (pred.dim(0)), applied to each of its terms, or
  // nullptr: loss = Σ_n w_{sample(n)} l_n / N (Keras sum_over_batch_size).
  // mask (B, T), for predictions (B, T, ...) of a masked output (per-token outputs), or
  // nullptr/empty: as Keras, the mask weights the terms and the mean is over the unmasked
  // ones, loss = Σ_n w m l_n / Σ_n m (0 when everything is masked); masked terms get zero
  // gradient and are not evaluated.
  // `batch` = B, the samples sample_weight weighs (pred.dim(0) unless pred holds a fused
  // output's logits (B·T, K)).
  double forward_backward(const Tensor& pred, const Tensor& y_true, const float* sample_weight,
                          Index batch, const Mask* mask, Tensor* dpred, bool logits) const;
  // Keras's loss functions: one unweighted loss per sample, i.e. per row over the last axis,
  // shaped pred.shape[:-1] ((B,) for 1-D predictions, each element being one sample).
  Tensor sample_losses(const Tensor& pred, const Tensor& y_true, bool logits) const;
  bool from_logits;
};

// pred (N, K) probabilities or logits (any leading shape), y_true (N,) class ids in [0, K).
class SparseCategoricalCrossentropy : public Loss {
 public:
  using Loss::Loss;
  std::string name() const override { return "sparse_categorical_crossentropy"; }
  std::string fusable_activation() const override { return "softmax"; }
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  Index term_width(const Shape& pred) const override { return pred.back(); }
  Index target_width(const Shape&) const override { return 1; }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
};

// pred (N, K) probabilities or logits (any leading shape), y_true (N, K) one-hot or
// probability rows; label smoothing as Keras: y' = y (1 - s) + s / K.
class CategoricalCrossentropy : public Loss {
 public:
  CategoricalCrossentropy(bool from_logits, double label_smoothing)
      : Loss(from_logits), label_smoothing(label_smoothing) {}
  std::string name() const override { return "categorical_crossentropy"; }
  std::string fusable_activation() const override { return "softmax"; }
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  Index term_width(const Shape& pred) const override { return pred.back(); }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
  double label_smoothing;
};

// pred (N,) or (N, 1) (or any shape with as many elements as y_true), y_true 0/1 floats;
// label smoothing as Keras: y' = y (1 - s) + s / 2.
class BinaryCrossentropy : public Loss {
 public:
  explicit BinaryCrossentropy(bool from_logits, double label_smoothing = 0.0)
      : Loss(from_logits), label_smoothing(label_smoothing) {}
  std::string name() const override { return "binary_crossentropy"; }
  std::string fusable_activation() const override { return "sigmoid"; }
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  Index term_width(const Shape&) const override { return 1; }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
  double label_smoothing;
};

// Regression: pred any shape, y_true the same shape (a trailing axis of 1 may be missing on
// either side: (B,) and (B, 1) match, as Keras squeezes them), finite floats.
class RegressionLoss : public Loss {
 public:
  RegressionLoss() : Loss(false) {}
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  Index term_width(const Shape&) const override { return 1; }
};

// (p - y)²
class MeanSquaredError : public RegressionLoss {
 public:
  std::string name() const override { return "mean_squared_error"; }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
};

// |p - y|; gradient sign(p - y), 0 where p = y (as TensorFlow's and torch's sign).
class MeanAbsoluteError : public RegressionLoss {
 public:
  std::string name() const override { return "mean_absolute_error"; }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
};

// e = p - y: e²/2 where |e| <= delta, else delta (|e| - delta/2).
class Huber : public RegressionLoss {
 public:
  explicit Huber(double delta) : delta(delta) {}
  std::string name() const override { return "huber_loss"; }
  double term(const float* p, const float* y, Index K, bool logits, double scale,
              float* d) const override;
  double delta;
};

// Keras clips probabilities to [eps, 1 - eps] on the probability path.
constexpr double kProbEpsilon = 1e-7;
// The upper clip as Keras computes it, in float32: 1 - 1e-7 rounds to 1 - 2^-23 (0.99999988),
// which decides the loss of a saturated probability (15.94 for p = 1, y = 0, not 16.12).
constexpr double kProbHigh = static_cast<double>(1.0f - static_cast<float>(kProbEpsilon));

}  // namespace seqattn
