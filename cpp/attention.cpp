#include "attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "attention_math.hpp"
#include "linalg.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace seqattn {

using namespace attn_math;

namespace {

// One head's (rows, D) slice of a (B, rows, H*D) tensor: row stride H*D.
using HeadMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstHeadMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;
using ConstByteMap = Eigen::Map<const Eigen::Array<std::uint8_t, Eigen::Dynamic, 1>>;

[[noreturn]] void fail(const std::string& layer, const std::string& what) {
  throw std::invalid_argument("MultiHeadAttention '" + layer + "': " + what);
}

void check_positive(const char* arg, Index v) {
  if (v < 1)
    throw std::invalid_argument(std::string("MultiHeadAttention: expected a positive integer for `") +
                                arg + "`, received " + arg + "=" + std::to_string(v));
}

std::string expected(const char* rows, Index last) {
  return std::string("(B, ") + rows + ", " + std::to_string(last) + ")";
}

// One row of raw scores Q·Kᵀ (overwritten as work space) -> p = softmax(scale · scores) over
// the entries where allow[s] != 0 (allow == nullptr: all allowed). No allowed entry -> p = 0.
inline void masked_softmax_row(float* scores, float* p, const float* allow, Index S, float scale) {
  ArrayMap row(scores, S);
  if (!allow) {
    const float m = row.maxCoeff();
    row = ((row - m) * scale).max(-87.0f);
  } else {
    // Max over the allowed entries: masked ones become `lowest`. Replaced, not multiplied by
    // the 0/1 mask: a masked NaN or inf score (a bad key nobody may see) must not leak.
    const float lowest = std::numeric_limits<float>::lowest();
    for (Index s = 0; s < S; ++s) scores[s] = allow[s] != 0.0f ? scores[s] : lowest;
    const float m = row.maxCoeff();
    if (m == lowest) { std::fill(p, p + S, 0.0f); return; }  // nothing to attend to
    row = ((row - m) * scale).max(-87.0f);
  }
  exp_nonpositive(scores, S);
  if (allow)
    for (Index s = 0; s < S; ++s) scores[s] = allow[s] != 0.0f ? scores[s] : 0.0f;
  ArrayMap(p, S) = row * (1.0f / sum_fixed(scores, S));  // sum >= 1: the maximum gives exp(0)
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(Index query_dim, Index value_dim_in, Index key_dim_in,
                                       Index num_heads, Index key_dim, Index value_dim,
                                       float dropout, bool use_bias, Index output_dim)
    : C_(query_dim), Cv_(value_dim_in), Ck_(key_dim_in), H_(num_heads), Dk_(key_dim),
      Dv_(value_dim), Cout_(output_dim), dropout_(dropout), use_bias_(use_bias) {
  check_positive("query_dim", query_dim);
  check_positive("value_dim_in", value_dim_in);
  check_positive("key_dim_in", key_dim_in);
  check_positive("num_heads", num_heads);
  check_positive("key_dim", key_dim);
  check_positive("value_dim", value_dim);
  check_positive("output_dim", output_dim);
  if (!(dropout >= 0.0f && dropout < 1.0f)) {
    std::ostringstream msg;
    msg << "MultiHeadAttention: expected `dropout` in [0, 1), received dropout=" << dropout;
    throw std::invalid_argument(msg.str());
  }
  params_.reserve(8);
  auto add = [&](const char* param_name, Shape shape) {
    params_.emplace_back(param_name, std::move(shape));
    return static_cast<int>(params_.size()) - 1;
  };
  wq_ = add("query/kernel", {C_, H_, Dk_});
  if (use_bias_) bq_ = add("query/bias", {H_, Dk_});
  wk_ = add("key/kernel", {Ck_, H_, Dk_});
  if (use_bias_) bk_ = add("key/bias", {H_, Dk_});
  wv_ = add("value/kernel", {Cv_, H_, Dv_});
  if (use_bias_) bv_ = add("value/bias", {H_, Dv_});
  wo_ = add("attention_output/kernel", {H_, Dv_, Cout_});
  if (use_bias_) bo_ = add("attention_output/bias", {Cout_});
}

Shape MultiHeadAttention::output_shape(const std::vector<Shape>& in) const {
  if (in.size() < 2 || in.size() > 4)
    fail(name, "expected 2 to 4 inputs (query, value, key, attention_mask), received " +
                   std::to_string(in.size()));
  const Shape& q = in[0];
  const Shape& v = in[1];
  const Shape* k = (in.size() > 2 && !in[2].empty()) ? &in[2] : nullptr;
  const Shape* am = (in.size() > 3 && !in[3].empty()) ? &in[3] : nullptr;
  if (q.size() != 3 || q[2] != C_)
    fail(name, "expected query of shape " + expected("T", C_) + ", received " + shape_str(q));
  if (v.size() != 3 || v[2] != Cv_)
    fail(name, "expected value of shape " + expected("S", Cv_) + ", received " + shape_str(v));
  if (v[0] != q[0])
    fail(name, "query and value must have the same batch size, received query " + shape_str(q) +
                   " and value " + shape_str(v));
  if (k) {
    if (k->size() != 3 || (*k)[2] != Ck_)
      fail(name, "expected key of shape " + expected("S", Ck_) + ", received " + shape_str(*k));
    if ((*k)[0] != v[0] || (*k)[1] != v[1])
      fail(name, "key and value must have the same batch size and length, received key " +
                     shape_str(*k) + " and value " + shape_str(v));
  } else if (Cv_ != Ck_) {
    fail(name, "no key given, so value is used as key and must have shape " +
                   expected("S", Ck_) + "; received value " + shape_str(v));
  }
  if (am) {
    const Shape want = {q[0], q[1], v[1]};
    if (*am != want)
      fail(name, "expected attention_mask of shape (B, T, S) = " + shape_str(want) +
                     ", received " + shape_str(*am));
  }
  return {q[0], q[1], Cout_};
}

void MultiHeadAttention::check_values(const LayerInputs& in) const {
  static const char* const what[3] = {"query", "value", "key"};
  for (std::size_t i = 0; i < 3 && i < in.x.size(); ++i) {
    const Mask* m = in.mask_of(i);
    // key absent: key = value, and a key_mask given anyway is checked against the value
    const Tensor* x = i == 2 && !in.x[2] ? in.x[1] : in.x[i];
    if (!m || !x || x->rank() < 2) continue;
    const Index B = x->dim(0), T = x->dim(1);
    if (m->B != B || m->T != T || static_cast<Index>(m->data.size()) != B * T)
      fail(name, std::string("the mask of ") + what[i] + " must have shape " + shape_str({B, T}) +
                     ", received " + shape_str({m->B, m->T}));
  }
}

AttentionProblem MultiHeadAttention::problem(bool dropped, std::uint64_t step) const {
  AttentionProblem p;
  p.B = B_; p.T = T_; p.S = S_; p.H = H_; p.Dk = Dk_; p.Dv = Dv_;
  p.Q = Q_.ptr(); p.K = K_.ptr(); p.V = V_.ptr();
  p.qmask = qmask_.empty() ? nullptr : qmask_.data();
  p.kv = kv_mask_.empty() ? nullptr : kv_mask_.data();
  p.attn = attn_.empty() ? nullptr : attn_.data();
  p.causal = causal_;
  p.dropped = dropped;
  p.rate = dropout_;
  p.seed = seed;
  p.step = step;
  return p;
}

void MultiHeadAttention::forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) {
  const Tensor& query = *in.x[0];
  const Tensor& value = *in.x[1];
  const bool has_key = in.x.size() > 2 && in.x[2];
  const Tensor& key = has_key ? *in.x[2] : value;
  const Tensor* attn = in.x.size() > 3 ? in.x[3] : nullptr;
  const Index B = query.dim(0), T = query.dim(1), S = value.dim(1);
  const Index HDk = H_ * Dk_, HDv = H_ * Dv_;
  B_ = B; T_ = T; S_ = S;

  // Q = query·Wq + bq; K = key·Wk + bk; V = value·Wv + bv   (row-major (C, H, Dk) = (C, H*Dk))
  Q_.resize({B, T, HDk});
  K_.resize({B, S, HDk});
  V_.resize({B, S, HDv});
  linear_forward(Q_.ptr(), query.ptr(), value_of(wq_), value_of(bq_), B * T, C_, HDk);
  linear_forward(K_.ptr(), key.ptr(), value_of(wk_), value_of(bk_), B * S, Ck_, HDk);
  linear_forward(V_.ptr(), value.ptr(), value_of(wv_), value_of(bv_), B * S, Cv_, HDv);

  // Masks, cached for backward and for attention_scores(): query mask (B, T); value & key
  // masks folded into one (B, S) 0/1 vector; attention_mask (B, T, S) as bytes.
  const Mask* qmask = in.mask_of(0);
  const Mask* vmask = in.mask_of(1);
  // key absent: key = value, so a key_mask (eager calls may give one) ANDs with the value's
  const Mask* kmask = in.mask_of(2) ? in.mask_of(2) : has_key ? nullptr : vmask;
  if (qmask) qmask_.assign(qmask->data.begin(), qmask->data.end()); else qmask_.clear();
  if (vmask || kmask) {
    kv_mask_.assign(B * S, 1.0f);
    for (Index i = 0; i < B * S; ++i) {
      if (vmask && !vmask->data[i]) kv_mask_[i] = 0.0f;
      if (kmask && !kmask->data[i]) kv_mask_[i] = 0.0f;
    }
  } else {
    kv_mask_.clear();
  }
  if (attn) {
    attn_.resize(B * T * S);
    const float* a = attn->ptr();
    for (Index i = 0; i < B * T * S; ++i) attn_[i] = a[i] != 0.0f;
  } else {
    attn_.clear();
  }
  causal_ = use_causal_mask;

  // Dropout on P: training only.
  dropped_ = ctx.training && dropout_ > 0.0f;
  O_.resize({B, T, HDv});
  reference_used_ = use_reference_kernel;
  if (reference_used_) {
    reference_forward(ctx.step);
    scores_ready_ = true;
  } else {
    // The tiled kernel keeps no (T, S) buffer; release the reference's, if any.
    if (!P_.data.empty()) P_ = Tensor();
    if (!keep_.empty()) std::vector<std::uint8_t>().swap(keep_);
    if (!scratch_.empty()) std::vector<float>().swap(scratch_);
    flash_.forward(problem(dropped_, ctx.step), O_.ptr());
    scores_ready_ = false;
  }
  step_ = ctx.step;
  propagate_nonfinite();

  // y = O·Wo + bo   (B*T, H*Dv)·(H*Dv, Cout)
  out.y.resize({B, T, Cout_});
  linear_forward(out.y.ptr(), O_.ptr(), value_of(wo_), value_of(bo_), B * T, HDv, Cout_);
  if (qmask) out.mask.assign(*qmask); else out.mask.clear();
}

void MultiHeadAttention::backward(const LayerInputs& in, const LayerOutput& /*out*/,
                                  const Tensor& dy, const std::vector<Tensor*>& dx,
                                  const Context& /*ctx*/) {
  const Tensor& query = *in.x[0];
  const Tensor& value = *in.x[1];
  const bool has_key = in.x.size() > 2 && in.x[2];
  const Tensor& key = has_key ? *in.x[2] : value;
  auto dx_at = [&](std::size_t i) { return i < dx.size() && dx[i] ? dx[i]->ptr() : nullptr; };
  float* dquery = dx_at(0);
  float* dvalue = dx_at(1);
  float* dkey = has_key ? dx_at(2) : dvalue;  // key = value: its gradient goes to value
  const Index B = B_, T = T_, S = S_;
  const Index HDk = H_ * Dk_, HDv = H_ * Dv_;

  // y = O·Wo + bo  ->  dWo += Oᵀ·dy, dbo += Σ dy, dO = dy·Woᵀ
  dO_.resize({B, T, HDv});
  dO_.zero();
  linear_backward(dO_.ptr(), grad_of(wo_), grad_of(bo_), dy.ptr(), O_.ptr(), value_of(wo_),
                  B * T, HDv, Cout_);

  // O = attention(Q, K, V)  ->  dQ, dK, dV (each fully overwritten)
  dQ_.resize({B, T, HDk});
  dK_.resize({B, S, HDk});
  dV_.resize({B, S, HDv});
  if (reference_used_)
    reference_backward();
  else
    flash_.backward(problem(dropped_, step_), O_.ptr(), dO_.ptr(), dQ_.ptr(), dK_.ptr(),
                    dV_.ptr());

  // Q = query·Wq + bq  ->  dquery += dQ·Wqᵀ, dWq += queryᵀ·dQ, dbq += Σ dQ
  linear_backward(dquery, grad_of(wq_), grad_of(bq_), dQ_.ptr(), query.ptr(), value_of(wq_),
                  B * T, C_, HDk);
  // K = key·Wk + bk  ->  dkey += dK·Wkᵀ, dWk += keyᵀ·dK, dbk += Σ dK
  linear_backward(dkey, grad_of(wk_), grad_of(bk_), dK_.ptr(), key.ptr(), value_of(wk_),
                  B * S, Ck_, HDk);
  // V = value·Wv + bv  ->  dvalue += dV·Wvᵀ, dWv += valueᵀ·dV, dbv += Σ dV
  linear_backward(dvalue, grad_of(wv_), grad_of(bv_), dV_.ptr(), value.ptr(), value_of(wv_),
                  B * S, Cv_, HDv);
}

namespace {
// False when x holds a NaN or an inf (all exponent bits set). Integer ORs, which the
// compiler vectorises (a float reduction it may not reorder).
bool all_finite(const float* x, Index n) {
  std::uint32_t bad = 0;
  for (Index i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    bad |= static_cast<std::uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}
}  // namespace

// NaN and inf propagate, as in Keras and PyTorch: a row whose allowed scores include a
// non-finite one gives NaN. Both kernels take row maxima and exponentials with clamps that
// drop NaN, so such a row would otherwise look fully masked and give zeros (the output bias).
// Only rows the masks allow to see a bad query or key change; a fully masked row stays 0. The
// scan reads Q and K once; the per-row pass runs only when something is not finite.
void MultiHeadAttention::propagate_nonfinite() {
  const Index B = B_, T = T_, S = S_, H = H_, Dk = Dk_, Dv = Dv_, HDk = H * Dk, HDv = H * Dv;
  if (all_finite(Q_.ptr(), Q_.size()) && all_finite(K_.ptr(), K_.size())) return;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  parallel_for(B * H, worth_threads(B * H * T * S * (Dk_ + Dv_)), [&](Index bh) {
    const Index b = bh / H, h = bh % H;
    for (Index t = 0; t < T; ++t) {
      if (!qmask_.empty() && !qmask_[b * T + t]) continue;
      const bool q_bad = !all_finite(Q_.ptr() + (b * T + t) * HDk + h * Dk, Dk);
      bool bad = false;
      for (Index s = 0; s < S && !bad; ++s) {
        const bool allowed = (kv_mask_.empty() || kv_mask_[b * S + s] != 0.0f) &&
                             (attn_.empty() || attn_[(b * T + t) * S + s]) && (!causal_ || s <= t);
        bad = allowed && (q_bad || !all_finite(K_.ptr() + (b * S + s) * HDk + h * Dk, Dk));
      }
      if (bad) std::fill_n(O_.ptr() + (b * T + t) * HDv + h * Dv, Dv, nan);
    }
  });
}

const Tensor& MultiHeadAttention::attention_scores() {
  if (scores_ready_ || B_ == 0) return P_;
  // After a tiled forward: recompute P from the cached Q, K and masks, once.
  const Index B = B_, T = T_, S = S_, H = H_;
  P_.resize({B, H, T, S});
  const Index per_thread = padded(T * S + S);
  std::vector<float> work(static_cast<std::size_t>(num_threads()) * per_thread);
  parallel_for(B * H, worth_threads(B * H * T * S * (Dk_ + Dv_)), [&](Index bh) {
    reference_probabilities(bh, P_.ptr() + bh * T * S, work.data() + thread_id() * per_thread);
  });
  scores_ready_ = true;
  return P_;
}

std::size_t MultiHeadAttention::cache_bytes() const {
  auto floats = [](const Tensor& t) { return t.data.capacity() * sizeof(float); };
  return floats(Q_) + floats(K_) + floats(V_) + floats(O_) + floats(P_) + floats(dO_) +
         floats(dQ_) + floats(dK_) + floats(dV_) + keep_.capacity() + qmask_.capacity() +
         attn_.capacity() + sizeof(float) * (kv_mask_.capacity() + scratch_.capacity()) +
         flash_.bytes();
}

// ---------------------------------------------------------------------------------------------
// Reference kernel: materialises P (B, H, T, S) and the dropout keep bytes; the oracle for the
// tiled kernel and the source of attention_scores().

void MultiHeadAttention::reference_probabilities(Index bh, float* p, float* work) const {
  const Index T = T_, S = S_, H = H_, Dk = Dk_, HDk = H * Dk;
  const Index b = bh / H, h = bh % H;
  float* allow_row = work + T * S;  // (S)
  ConstHeadMap Qh(Q_.ptr() + b * T * HDk + h * Dk, T, Dk, Eigen::OuterStride<>(HDk));
  ConstHeadMap Kh(K_.ptr() + b * S * HDk + h * Dk, S, Dk, Eigen::OuterStride<>(HDk));

  // scores = Q·Kᵀ   (T, S); the 1/sqrt(Dk) is applied inside the softmax
  MatMap(work, T, S).noalias() = Qh * Kh.transpose();

  // P = softmax(scores / sqrt(Dk)) over the allowed s of each row   (T, S)
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dk));
  const float* kv_allow = kv_mask_.empty() ? nullptr : kv_mask_.data() + b * S;  // (S) or all
  const bool per_row = !attn_.empty() || causal_;  // rows need their own allowed set
  for (Index t = 0; t < T; ++t) {
    float* prow = p + t * S;
    if (!qmask_.empty() && !qmask_[b * T + t]) { std::fill(prow, prow + S, 0.0f); continue; }
    const float* allow = kv_allow;
    if (per_row) {
      if (kv_allow) std::copy(kv_allow, kv_allow + S, allow_row);
      else std::fill(allow_row, allow_row + S, 1.0f);
      if (!attn_.empty()) {
        const std::uint8_t* a = attn_.data() + (b * T + t) * S;
        for (Index s = 0; s < S; ++s) if (!a[s]) allow_row[s] = 0.0f;
      }
      if (causal_) for (Index s = t + 1; s < S; ++s) allow_row[s] = 0.0f;
      allow = allow_row;
    }
    masked_softmax_row(work + t * S, prow, allow, S, scale);
  }
}

void MultiHeadAttention::reference_forward(std::uint64_t step) {
  const Index B = B_, T = T_, S = S_, H = H_, Dv = Dv_, HDv = H * Dv;
  const float rate = dropout_, inv_keep = dropped_ ? 1.0f / (1.0f - dropout_) : 1.0f;
  if (dropped_) keep_.resize(B * H * T * S);
  P_.resize({B, H, T, S});
  const Index per_thread = padded(T * S + S);  // scores, then Pd (T, S) + allowed row (S)
  scratch_.resize(static_cast<std::size_t>(num_threads()) * per_thread);
  const std::uint64_t rng_seed = seed;

  parallel_for(B * H, worth_threads(B * H * T * S * (Dk_ + Dv_)), [&](Index bh) {
    const Index b = bh / H, h = bh % H;
    // Per-thread work space, hot in cache: the scores never go to the large P buffer.
    float* work = scratch_.data() + thread_id() * per_thread;
    float* p = P_.ptr() + bh * T * S;
    reference_probabilities(bh, p, work);
    ConstHeadMap Vh(V_.ptr() + b * S * HDv + h * Dv, S, Dv, Eigen::OuterStride<>(HDv));
    HeadMap Oh(O_.ptr() + b * T * HDv + h * Dv, T, Dv, Eigen::OuterStride<>(HDv));

    // Pd = P * keep / (1 - rate), keep = uniform01(seed, step, flat (B, H, T, S) index) >= rate
    const float* pv = p;
    if (dropped_) {
      float* pd = work;  // (T, S), the scores are no longer needed
      std::uint8_t* keep = keep_.data() + bh * T * S;
      const std::uint64_t base = static_cast<std::uint64_t>(bh * T * S);
      for (Index i = 0; i < T * S; ++i) {
        const bool k = uniform01(rng_seed, step, base + i) >= rate;
        keep[i] = k;
        pd[i] = k ? p[i] * inv_keep : 0.0f;
      }
      pv = pd;
    }

    // O = Pd·V   (T, Dv)
    Oh.noalias() = ConstMatMap(pv, T, S) * Vh;
  });
}

void MultiHeadAttention::reference_backward() {
  const Index B = B_, T = T_, S = S_;
  const Index H = H_, Dk = Dk_, Dv = Dv_, HDk = H * Dk, HDv = H * Dv;
  // Per-(b, h) slices of dQ, dK, dV are disjoint and fully overwritten below.
  const Index per_thread = padded(2 * T * S);  // dP (T, S) + Pd (T, S)
  scratch_.resize(static_cast<std::size_t>(num_threads()) * per_thread);
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dk));
  const float inv_keep = dropped_ ? 1.0f / (1.0f - dropout_) : 1.0f;
  const bool dropped = dropped_;

  parallel_for(B * H, worth_threads(B * H * T * S * (Dk_ + Dv_)), [&](Index bh) {
    const Index b = bh / H, h = bh % H;
    float* work = scratch_.data() + thread_id() * per_thread;
    MatMap dP(work, T, S);
    ConstHeadMap Qh(Q_.ptr() + b * T * HDk + h * Dk, T, Dk, Eigen::OuterStride<>(HDk));
    ConstHeadMap Kh(K_.ptr() + b * S * HDk + h * Dk, S, Dk, Eigen::OuterStride<>(HDk));
    ConstHeadMap Vh(V_.ptr() + b * S * HDv + h * Dv, S, Dv, Eigen::OuterStride<>(HDv));
    ConstHeadMap dOh(dO_.ptr() + b * T * HDv + h * Dv, T, Dv, Eigen::OuterStride<>(HDv));
    HeadMap dQh(dQ_.ptr() + b * T * HDk + h * Dk, T, Dk, Eigen::OuterStride<>(HDk));
    HeadMap dKh(dK_.ptr() + b * S * HDk + h * Dk, S, Dk, Eigen::OuterStride<>(HDk));
    HeadMap dVh(dV_.ptr() + b * S * HDv + h * Dv, S, Dv, Eigen::OuterStride<>(HDv));
    const float* p = P_.ptr() + bh * T * S;
    ConstMatMap Pm(p, T, S);

    // O = Pd·V  ->  dPd = dO·Vᵀ (T, S), dV = Pdᵀ·dO (S, Dv)
    dP.noalias() = dOh * Vh.transpose();
    if (dropped) {
      // Pd = P * keep / (1 - rate)  ->  dP = dPd * keep / (1 - rate)
      float* pd = work + T * S;
      ConstByteMap keep(keep_.data() + bh * T * S, T * S);
      const auto factor = keep.cast<float>() * inv_keep;
      ArrayMap(pd, T * S) = ConstArrayMap(p, T * S) * factor;
      dVh.noalias() = ConstMatMap(pd, T, S).transpose() * dOh;
      ArrayMap(work, T * S) *= factor;
    } else {
      dVh.noalias() = Pm.transpose() * dOh;
    }

    // P = softmax(scores)  ->  dscores = P * (dP - rowsum(P * dP)); masked entries have P = 0
    // and all-masked rows stay zero. scores = Q·Kᵀ / sqrt(Dk) -> the 1/sqrt(Dk) folds in here.
    for (Index t = 0; t < T; ++t) {
      ArrayMap drow(work + t * S, S);
      ConstArrayMap prow(p + t * S, S);
      const float dot = dot_fixed(p + t * S, work + t * S, S);
      drow = prow * (drow - dot) * scale;
    }

    // scores = Q·Kᵀ  ->  dQ = dS·K (T, Dk), dK = dSᵀ·Q (S, Dk)
    dQh.noalias() = dP * Kh;
    dKh.noalias() = dP.transpose() * Qh;
  });
}

}  // namespace seqattn
