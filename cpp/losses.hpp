// Losses: the mean over samples of a per-sample loss, and its gradient with respect to the
// predictions (the loss owns the 1/N, so layers never divide by the batch).
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
  virtual std::string fusable_activation() const = 0;
  // Throws std::invalid_argument when y_true does not fit predictions of shape `pred` (size,
  // class range); `who` ("output 'dense' of model 'm'", or empty) names them in the message.
  // Builds no string unless it throws (it runs every step).
  virtual void check(const Shape& pred, const Tensor& y_true, const std::string& who) const = 0;
  // Returns the weighted mean loss over N samples and, when dpred is given, writes dL/dpred
  // (same shape as pred). `logits` overrides from_logits (set for a fused output layer).
  // sample_weight (B,) = one weight per sample (pred.dim(0)), applied to each of its rows, or
  // nullptr: loss = Σ_n w_{sample(n)} l_n / N (Keras sum_over_batch_size).
  virtual double forward_backward(const Tensor& pred, const Tensor& y_true,
                                  const float* sample_weight, Tensor* dpred, bool logits) const = 0;
  bool from_logits;
};

// pred (N, K) probabilities or logits (any leading shape), y_true (N,) class ids in [0, K).
class SparseCategoricalCrossentropy : public Loss {
 public:
  using Loss::Loss;
  std::string name() const override { return "sparse_categorical_crossentropy"; }
  std::string fusable_activation() const override { return "softmax"; }
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  double forward_backward(const Tensor& pred, const Tensor& y_true, const float* sample_weight,
                          Tensor* dpred, bool logits) const override;
};

// pred (N,) or (N, 1) (or any shape with as many elements as y_true), y_true 0/1 floats.
class BinaryCrossentropy : public Loss {
 public:
  using Loss::Loss;
  std::string name() const override { return "binary_crossentropy"; }
  std::string fusable_activation() const override { return "sigmoid"; }
  void check(const Shape& pred, const Tensor& y_true, const std::string& who) const override;
  double forward_backward(const Tensor& pred, const Tensor& y_true, const float* sample_weight,
                          Tensor* dpred, bool logits) const override;
};

// Keras clips probabilities to [eps, 1 - eps] on the probability path.
constexpr double kProbEpsilon = 1e-7;
// The upper clip as Keras computes it, in float32: 1 - 1e-7 rounds to 1 - 2^-23 (0.99999988),
// which decides the loss of a saturated probability (15.94 for p = 1, y = 0, not 16.12).
constexpr double kProbHigh = static_cast<double>(1.0f - static_cast<float>(kProbEpsilon));

}  // namespace seqattn
