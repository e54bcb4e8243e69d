#include "optimizers.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "kernels/chunks.hpp"
#include "parallel.hpp"

namespace seqattn {

void Optimizer::apply(const std::vector<Param*>& params) {
  ensure_slots(params);
  bool same = chunked_for_.size() == params.size();
  for (std::size_t i = 0; same && i < params.size(); ++i) same = chunked_for_[i] == params[i];
  if (!same) {  // first step (or a new parameter list): cut the parameters into chunks
    chunked_for_.assign(params.begin(), params.end());
    chunk_params(params, chunks_);
    chunk_sq_.assign(chunks_.size(), 0.0);
  }
  const Index nchunks = static_cast<Index>(chunks_.size());
  if (clipnorm > 0.0) {
    // Global norm: Σ g² per chunk in parallel, then the partial sums in chunk order.
    parallel_for(nchunks, nchunks > 1, [&](Index c) {
      const ParamChunk& ch = chunks_[c];
      const float* g = params[ch.param]->grad.data();
      double sq = 0.0;
      for (Index j = ch.begin; j < ch.end; ++j) sq += static_cast<double>(g[j]) * g[j];
      chunk_sq_[c] = sq;
    });
    double sq = 0.0;
    for (double s : chunk_sq_) sq += s;
    const double norm = std::sqrt(sq);
    if (norm > clipnorm) {
      const float scale = static_cast<float>(clipnorm / norm);
      parallel_for(nchunks, nchunks > 1, [&](Index c) {
        const ParamChunk& ch = chunks_[c];
        float* g = params[ch.param]->grad.data();
        for (Index j = ch.begin; j < ch.end; ++j) g[j] *= scale;
      });
    }
  }
  const std::int64_t t = iterations + 1;
  prepare(t);
  // Keras's order within a step: clip, then decay every weight with this step's rate, then the
  // update. All three are elementwise here, so one chunk does them back to back.
  const float clip = static_cast<float>(clipvalue);
  const float decay = static_cast<float>(weight_decay * learning_rate);
  parallel_for(nchunks, nchunks > 1, [&](Index c) {
    const ParamChunk& ch = chunks_[c];
    Param& p = *params[ch.param];
    if (clip > 0.0f) {
      float* g = p.grad.data();
      // Comparisons, not std::clamp: NaN stays NaN (as Keras's ops.clip).
      for (Index j = ch.begin; j < ch.end; ++j) {
        if (g[j] > clip) g[j] = clip;
        else if (g[j] < -clip) g[j] = -clip;
      }
    }
    if (decay != 0.0f) {
      float* w = p.value.data();
      for (Index j = ch.begin; j < ch.end; ++j) w[j] -= w[j] * decay;
    }
    update(p, ch.param, ch.begin, ch.end);
  });
  iterations = t;
}

namespace {
void resize_slots(std::vector<std::vector<float>>& slots, const std::vector<Param*>& params,
                  float value = 0.0f) {
  if (slots.size() == params.size()) return;
  slots.resize(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) slots[i].assign(params[i]->size(), value);
}

// Slots in save order: parameter by parameter, its entry of each slot list that has one
// (a list an optimizer does not use stays empty).
std::vector<std::vector<float>*> interleave_slots(
    std::initializer_list<std::vector<std::vector<float>>*> lists) {
  std::size_t n = 0;
  for (const auto* l : lists) n = std::max(n, l->size());
  std::vector<std::vector<float>*> r;
  for (std::size_t i = 0; i < n; ++i)
    for (auto* l : lists)
      if (i < l->size()) r.push_back(&(*l)[i]);
  return r;
}
}  // namespace

// ---------------------------------------------------------------------- SGD
void SGD::ensure_slots(const std::vector<Param*>& params) {
  if (momentum > 0.0) resize_slots(velocity_, params);
}

std::vector<std::vector<float>*> SGD::slots() { return interleave_slots({&velocity_}); }

void SGD::prepare(std::int64_t) {
  lr_ = static_cast<float>(learning_rate);
  mu_ = static_cast<float>(momentum);
}

void SGD::update(Param& p, std::size_t i, Index begin, Index end) {
  const float lr = lr_, mu = mu_;
  float* w = p.value.data();
  const float* g = p.grad.data();
  if (momentum <= 0.0) {
    for (Index j = begin; j < end; ++j) w[j] -= lr * g[j];
    return;
  }
  float* v = velocity_[i].data();
  if (nesterov) {
    for (Index j = begin; j < end; ++j) {
      v[j] = mu * v[j] - lr * g[j];
      w[j] += mu * v[j] - lr * g[j];
    }
  } else {
    for (Index j = begin; j < end; ++j) {
      v[j] = mu * v[j] - lr * g[j];
      w[j] += v[j];
    }
  }
}

// --------------------------------------------------------------------- Adam
void Adam::ensure_slots(const std::vector<Param*>& params) {
  resize_slots(m_, params);
  resize_slots(v_, params);
}

std::vector<std::vector<float>*> Adam::slots() { return interleave_slots({&m_, &v_}); }

void Adam::prepare(std::int64_t t) {
  const double lr = learning_rate;
  alpha_ = static_cast<float>(lr * std::sqrt(1.0 - std::pow(beta_2, static_cast<double>(t))) /
                              (1.0 - std::pow(beta_1, static_cast<double>(t))));
  one_b1_ = static_cast<float>(1.0 - beta_1);
  one_b2_ = static_cast<float>(1.0 - beta_2);
  eps_ = static_cast<float>(epsilon);
}

void Adam::update(Param& p, std::size_t i, Index begin, Index end) {
  const float alpha = alpha_, one_b1 = one_b1_, one_b2 = one_b2_, eps = eps_;
  float* w = p.value.data();
  const float* g = p.grad.data();
  float* m = m_[i].data();
  float* v = v_[i].data();
  for (Index j = begin; j < end; ++j) {
    m[j] += (g[j] - m[j]) * one_b1;
    v[j] += (g[j] * g[j] - v[j]) * one_b2;
    w[j] -= alpha * m[j] / (std::sqrt(v[j]) + eps);
  }
}

// ------------------------------------------------------------------ RMSprop
void RMSprop::ensure_slots(const std::vector<Param*>& params) {
  resize_slots(velocity_, params);
  if (momentum > 0.0) resize_slots(momentum_, params);
  if (centered) resize_slots(average_, params);
}

std::vector<std::vector<float>*> RMSprop::slots() {
  return interleave_slots({&velocity_, &momentum_, &average_});  // the last two may be empty
}

void RMSprop::prepare(std::int64_t) {
  lr_ = static_cast<float>(learning_rate);
  rho_ = static_cast<float>(rho);
  one_rho_ = static_cast<float>(1.0 - rho);
  mu_ = static_cast<float>(momentum);
  eps_ = static_cast<float>(epsilon);
}

void RMSprop::update(Param& p, std::size_t i, Index begin, Index end) {
  const float lr = lr_, rho = rho_, one_rho = one_rho_, mu = mu_, eps = eps_;
  float* w = p.value.data();
  const float* g = p.grad.data();
  float* v = velocity_[i].data();
  float* a = centered ? average_[i].data() : nullptr;
  float* m = momentum > 0.0 ? momentum_[i].data() : nullptr;
  for (Index j = begin; j < end; ++j) {
    v[j] = rho * v[j] + one_rho * (g[j] * g[j]);
    float denom;
    if (a) {
      a[j] = rho * a[j] + one_rho * g[j];
      denom = v[j] - a[j] * a[j] + eps;
    } else {
      denom = v[j] + eps;
    }
    const float inc = lr * g[j] / std::sqrt(denom);
    if (m) {
      m[j] = mu * m[j] + inc;
      w[j] -= m[j];
    } else {
      w[j] -= inc;
    }
  }
}

// ------------------------------------------------------------------ Adagrad
void Adagrad::ensure_slots(const std::vector<Param*>& params) {
  resize_slots(accumulator_, params, static_cast<float>(initial_accumulator_value));
}

std::vector<std::vector<float>*> Adagrad::slots() { return interleave_slots({&accumulator_}); }

void Adagrad::prepare(std::int64_t) {
  lr_ = static_cast<float>(learning_rate);
  eps_ = static_cast<float>(epsilon);
}

void Adagrad::update(Param& p, std::size_t i, Index begin, Index end) {
  const float lr = lr_, eps = eps_;
  float* w = p.value.data();
  const float* g = p.grad.data();
  float* acc = accumulator_[i].data();
  for (Index j = begin; j < end; ++j) {
    acc[j] += g[j] * g[j];
    w[j] -= lr * g[j] / std::sqrt(acc[j] + eps);
  }
}

}  // namespace seqattn
