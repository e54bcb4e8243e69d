#include "optimizers.hpp"

#include <cmath>

#include "parallel.hpp"

namespace seqattn {

void Optimizer::apply(const std::vector<Param*>& params) {
  ensure_slots(params);
  if (clipnorm > 0.0) {
    // Global norm over all gradients, summed in a fixed order (deterministic).
    double sq = 0.0;
    for (const Param* p : params)
      for (float g : p->grad) sq += static_cast<double>(g) * g;
    const double norm = std::sqrt(sq);
    if (norm > clipnorm) {
      const float scale = static_cast<float>(clipnorm / norm);
      for (Param* p : params)
        for (float& g : p->grad) g *= scale;
    }
  }
  const std::int64_t t = iterations + 1;
  for (std::size_t i = 0; i < params.size(); ++i) update(*params[i], i, t);
  iterations = t;
}

namespace {
void resize_slots(std::vector<std::vector<float>>& slots, const std::vector<Param*>& params) {
  if (slots.size() == params.size()) return;
  slots.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) slots[i].assign(params[i]->size(), 0.0f);
}
}  // namespace

// ---------------------------------------------------------------------- SGD
void SGD::ensure_slots(const std::vector<Param*>& params) {
  if (momentum > 0.0) resize_slots(velocity_, params);
}

std::vector<std::vector<float>*> SGD::slots() {
  std::vector<std::vector<float>*> r;
  for (auto& v : velocity_) r.push_back(&v);
  return r;
}

void SGD::update(Param& p, std::size_t i, std::int64_t) {
  const float lr = static_cast<float>(learning_rate), mu = static_cast<float>(momentum);
  float* w = p.value.data();
  const float* g = p.grad.data();
  const Index n = p.size();
  if (momentum <= 0.0) {
    parallel_for(n, n > 32768, [&](Index j) {
      w[j] -= lr * g[j];
    });
    return;
  }
  float* v = velocity_[i].data();
  parallel_for(n, n > 32768, [&](Index j) {
    v[j] = mu * v[j] - lr * g[j];
    w[j] += nesterov ? mu * v[j] - lr * g[j] : v[j];
  });
}

// --------------------------------------------------------------------- Adam
void Adam::ensure_slots(const std::vector<Param*>& params) {
  resize_slots(m_, params);
  resize_slots(v_, params);
}

std::vector<std::vector<float>*> Adam::slots() {
  std::vector<std::vector<float>*> r;
  for (std::size_t i = 0; i < m_.size(); ++i) {
    r.push_back(&m_[i]);
    r.push_back(&v_[i]);
  }
  return r;
}

void Adam::update(Param& p, std::size_t i, std::int64_t t) {
  const double lr = learning_rate;
  const float alpha = static_cast<float>(lr * std::sqrt(1.0 - std::pow(beta_2, static_cast<double>(t))) /
                                         (1.0 - std::pow(beta_1, static_cast<double>(t))));
  const float decay = static_cast<float>(weight_decay * lr);
  const float one_b1 = static_cast<float>(1.0 - beta_1), one_b2 = static_cast<float>(1.0 - beta_2);
  const float eps = static_cast<float>(epsilon);
  float* w = p.value.data();
  const float* g = p.grad.data();
  float* m = m_[i].data();
  float* v = v_[i].data();
  const Index n = p.size();
  parallel_for(n, n > 32768, [&](Index j) {
    if (decay != 0.0f) w[j] -= w[j] * decay;
    m[j] += (g[j] - m[j]) * one_b1;
    v[j] += (g[j] * g[j] - v[j]) * one_b2;
    w[j] -= alpha * m[j] / (std::sqrt(v[j]) + eps);
  });
}

}  // namespace seqattn
