// Optimizers: fused C++ updates over every parameter, Keras 3 formulas. Each update first
// clips all gradients together by their global L2 norm when clipnorm > 0, or each gradient
// element to [-clipvalue, clipvalue] when clipvalue > 0; then, per element, the decoupled
// weight decay w -= w·weight_decay·lr (Keras applies it to every optimizer, after clipping and
// before the update), then the optimizer's own update.
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
  double clipvalue = 0.0;   // <= 0: no elementwise clipping
  double weight_decay = 0.0;  // decoupled decay, as Keras's `weight_decay`
  std::int64_t iterations = 0;  // completed updates (Keras `optimizer.iterations`)

 protected:
  // Allocates the slot variables (zeros) the first time `params` is seen.
  virtual void ensure_slots(const std::vector<Param*>& params) = 0;
  // Per-step scalars (bias corrections, ...) for the 1-based step t, before any update().
  virtual void prepare(std::int64_t t) = 0;
  // Updates elements [begin, end) of parameter p (its grad already clipped and the weight
  // already decayed), slot index i.
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
// AdamW is Adam with weight_decay > 0 (the decay lives in Optimizer::apply).
class Adam : public Optimizer {
 public:
  Adam(double learning_rate, double beta_1, double beta_2, double epsilon, double clipnorm)
      : Optimizer(learning_rate, clipnorm), beta_1(beta_1), beta_2(beta_2), epsilon(epsilon) {}
  std::string name() const override { return weight_decay > 0.0 ? "AdamW" : "Adam"; }
  std::vector<std::vector<float>*> slots() override;
  double beta_1, beta_2, epsilon;

 protected:
  void ensure_slots(const std::vector<Param*>& params) override;
  void prepare(std::int64_t t) override;
  void update(Param& p, std::size_t i, Index begin, Index end) override;
  std::vector<std::vector<float>> m_, v_;
  float alpha_ = 0.0f, one_b1_ = 0.0f, one_b2_ = 0.0f, eps_ = 0.0f;
};

// Keras RMSprop: v = ρ·v + (1 - ρ)·g²; centered: a = ρ·a + (1 - ρ)·g, d = v - a² + ε, else
// d = v + ε; inc = lr·g / sqrt(d); with momentum: m = momentum·m + inc, w -= m; else w -= inc.
class RMSprop : public Optimizer {
 public:
  RMSprop(double learning_rate, double rho, double momentum, double epsilon, bool centered,
          double clipnorm)
      : Optimizer(learning_rate, clipnorm), rho(rho), momentum(momentum), epsilon(epsilon),
        centered(centered) {}
  std::string name() const override { return "RMSprop"; }
  std::vector<std::vector<float>*> slots() override;
  double rho, momentum, epsilon;
  bool centered;

 protected:
  void ensure_slots(const std::vector<Param*>& params) override;
  void prepare(std::int64_t t) override;
  void update(Param& p, std::size_t i, Index begin, Index end) override;
  // Per parameter; momentum_ only when momentum > 0, average_ only when centered (as Keras).
  std::vector<std::vector<float>> velocity_, momentum_, average_;
  float lr_ = 0.0f, rho_ = 0.0f, one_rho_ = 0.0f, mu_ = 0.0f, eps_ = 0.0f;
};

// Keras Adagrad: acc += g² (acc starts at initial_accumulator_value); w -= lr·g / sqrt(acc + ε).
class Adagrad : public Optimizer {
 public:
  Adagrad(double learning_rate, double initial_accumulator_value, double epsilon, double clipnorm)
      : Optimizer(learning_rate, clipnorm), initial_accumulator_value(initial_accumulator_value),
        epsilon(epsilon) {}
  std::string name() const override { return "Adagrad"; }
  std::vector<std::vector<float>*> slots() override;
  double initial_accumulator_value, epsilon;

 protected:
  void ensure_slots(const std::vector<Param*>& params) override;
  void prepare(std::int64_t t) override;
  void update(Param& p, std::size_t i, Index begin, Index end) override;
  std::vector<std::vector<float>> accumulator_;
  float lr_ = 0.0f, eps_ = 0.0f;
};

}  // namespace seqattn
