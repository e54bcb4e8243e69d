// Optimizers: fused C++ updates over every parameter, Keras 3 formulas. Each update first
// clips all gradients together by their global L2 norm when clipnorm > 0.
//
// One pass: all parameters are cut into fixed chunks (kernels/chunks.hpp: kParamChunk floats,
// never spanning two parameters) and one parallel loop updates every chunk, instead of one
// loop (and one thread wake-up) per parameter. Chunks are fixed, so results do not depend on
// the thread count: each element's update is elementwise, and the clipping norm sums
// per-chunk partial sums in chunk order.
#pragma once
#include <string>
#include <vector>

#include "kernels/chunks.hpp"
#include "tensor.hpp"

namespace seqattn {

class Optimizer {
 public:
  Optimizer(double learning_rate, double clipnorm)
      : learning_rate(learning_rate), clipnorm(clipnorm) {}
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One step over `params` (the same list, in the same order, every call).
  void apply(const std::vector<Param*>& params);
  // Slot variables (momentum, m, v, ...) per parameter, for saving and inspection.
  virtual std::vector<std::vector<float>*> slots() { return {}; }
  // Allocates the slots for `params` now (zeros), so saved slot values can be loaded into
  // them before the first update.
  void init_slots(const std::vector<Param*>& params) { ensure_slots(params); }

  double learning_rate;
  double clipnorm;          // <= 0: no clipping
  std::int64_t iterations = 0;  // completed updates (Keras `optimizer.iterations`)

 protected:
  // Allocates the slot variables (zeros) the first time `params` is seen.
  virtual void ensure_slots(const std::vector<Param*>& params) = 0;
  // Per-step scalars (bias corrections, ...) for the 1-based step t, before any update().
  virtual void prepare(std::int64_t t) = 0;
  // Updates elements [begin, end) of parameter p (its grad already clipped), slot index i.
  virtual void update(Param& p, std::size_t i, Index begin, Index end) = 0;

 private:
  std::vector<ParamChunk> chunks_;       // rebuilt when the parameter list changes
  std::vector<double> chunk_sq_;      // per chunk: Σ g² (clipnorm)
  std::vector<const Param*> chunked_for_;
};

// Keras SGD: v = momentum·v - lr·g; w += v (nesterov: w += momentum·v - lr·g); plain w -= lr·g.
class SGD : public Optimizer {
 public:
  SGD(double learning_rate, double momentum, bool nesterov, double clipnorm)
      : Optimizer(learning_rate, clipnorm), momentum(momentum), nesterov(nesterov) {}
  std::string name() const override { return "SGD"; }
  std::vector<std::vector<float>*> slots() override;
  double momentum;
  bool nesterov;

 protected:
  void ensure_slots(const std::vector<Param*>& params) override;
  void prepare(std::int64_t t) override;
  void update(Param& p, std::size_t i, Index begin, Index end) override;
  std::vector<std::vector<float>> velocity_;
  float lr_ = 0.0f, mu_ = 0.0f;
};

// Keras Adam: m += (g - m)(1 - β1); v += (g² - v)(1 - β2);
// w -= lr·sqrt(1 - β2^t)/(1 - β1^t) · m / (sqrt(v) + ε).
// AdamW (weight_decay > 0) first applies w -= w·weight_decay·lr.
class Adam : public Optimizer {
 public:
  Adam(double learning_rate, double beta_1, double beta_2, double epsilon, double weight_decay,
       double clipnorm)
      : Optimizer(learning_rate, clipnorm), beta_1(beta_1), beta_2(beta_2), epsilon(epsilon),
        weight_decay(weight_decay) {}
  std::string name() const override { return weight_decay > 0.0 ? "AdamW" : "Adam"; }
  std::vector<std::vector<float>*> slots() override;
  double beta_1, beta_2, epsilon, weight_decay;

 protected:
  void ensure_slots(const std::vector<Param*>& params) override;
  void prepare(std::int64_t t) override;
  void update(Param& p, std::size_t i, Index begin, Index end) override;
  std::vector<std::vector<float>> m_, v_;
  float alpha_ = 0.0f, decay_ = 0.0f, one_b1_ = 0.0f, one_b2_ = 0.0f, eps_ = 0.0f;
};

}  // namespace seqattn
