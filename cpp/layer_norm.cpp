#include "layer_norm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

namespace {
// Row reductions in 8 interleaved partial sums, combined in a fixed order: GCC turns them into
// one vector accumulator (a plain `s += x[c]` chain is a serial dependency, 4 cycles a term),
// and the order never depends on alignment or thread count.
template <class Term>
inline float row_sum(Index C, const Term& term) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  Index c = 0;
  for (; c + 8 <= C; c += 8)
    for (int j = 0; j < 8; ++j) acc[j] += term(c + j);
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; c < C; ++c) s += term(c);
  return s;
}

// dgamma and dbeta are sums over all N rows. Each fixed-size block of rows sums into its own
// partial row, then the partials are added in block order: the same arithmetic for 1, 2 or
// more threads, so the result is bit-identical whatever the thread count.
constexpr Index kRowBlock = 64;
// Below this many elements the loop runs on the calling thread (waking threads costs more).
constexpr Index kParallelMin = 16384;
}  // namespace

LayerNormalization::LayerNormalization(Index channels, float epsilon_, bool center_, bool scale_)
    : C(channels), epsilon(epsilon_), center(center_), scale(scale_) {
  if (C < 1)
    throw std::invalid_argument("LayerNormalization: expected a positive number of channels, "
                                "received " + std::to_string(C));
  if (!(epsilon > 0.0f) || !std::isfinite(epsilon))
    throw std::invalid_argument("LayerNormalization: expected a positive finite `epsilon`, "
                                "received epsilon=" + std::to_string(epsilon));
  // Keras order: gamma, then beta.
  if (scale) { gamma_ = static_cast<int>(params_.size()); params_.emplace_back("gamma", Shape{C}); }
  if (center) { beta_ = static_cast<int>(params_.size()); params_.emplace_back("beta", Shape{C}); }
}

Shape LayerNormalization::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].size() < 2 || in[0].size() > 3 || in[0].back() != C)
    throw std::invalid_argument(
        "Input 0 of layer '" + name + "' (LayerNormalization) is incompatible with the layer: "
        "expected shape (B, " + std::to_string(C) + ") or (B, T, " + std::to_string(C) +
        "), received input with shape " + (in.empty() ? std::string("()") : shape_str(in[0])));
  return in[0];
}

void LayerNormalization::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& x = *in.x[0];  // (N, C)
  out.y.resize(x.shape);       // (N, C)
  forward_rows(x.ptr(), nullptr, nullptr, out.y.ptr(), x.size() / C);
  if (const Mask* m = in.mask_of(0)) out.mask.assign(*m); else out.mask.clear();
}

void LayerNormalization::forward_add(const Tensor& a, const Tensor& b, Tensor& sum,
                                     LayerOutput& out) {
  sum.resize(a.shape);         // (N, C) = a + b, what backward reads
  out.y.resize(a.shape);
  forward_rows(a.ptr(), b.ptr(), sum.ptr(), out.y.ptr(), a.size() / C);
  out.mask.clear();            // AddLayerNorm takes this path only for unmasked inputs
}

void LayerNormalization::forward_rows(const float* a, const float* b, float* x_out, float* y,
                                      Index N) {
  mean_.resize(N);
  rstd_.resize(N);
  const float* g = gamma_ >= 0 ? params_[gamma_].value.data() : nullptr;  // (C)
  const float* be = beta_ >= 0 ? params_[beta_].value.data() : nullptr;   // (C)
  const float inv_c = 1.0f / static_cast<float>(C);
  const Index C_ = C;
  const float eps = epsilon;
  parallel_for(N, N * C >= kParallelMin, [&](Index n) {
    const Index C = C_;
    const float* xr = a + n * C;
    if (b) {  // the residual sum, in Add's order (a + b), written once and read from L1
      float* sr = x_out + n * C;
      const float* br = b + n * C;
      for (Index c = 0; c < C; ++c) sr[c] = xr[c] + br[c];
      xr = sr;
    }
    float* yr = y + n * C;
    // Two passes (mean, then variance about it): no cancellation for rows far from zero.
    const float mean = row_sum(C, [&](Index c) { return xr[c]; }) * inv_c;
    const float var =
        row_sum(C, [&](Index c) { return (xr[c] - mean) * (xr[c] - mean); }) * inv_c;
    const float rstd = 1.0f / std::sqrt(var + eps);
    for (Index c = 0; c < C; ++c) {
      const float norm = (xr[c] - mean) * rstd;
      yr[c] = (g ? norm * g[c] : norm) + (be ? be[c] : 0.0f);
    }
    mean_[n] = mean;
    rstd_[n] = rstd;
  });
}

void LayerNormalization::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                                  const std::vector<Tensor*>& dx, const Context&) {
  const Tensor& x = *in.x[0];
  backward_rows(x.ptr(), dy.ptr(), dx[0] ? dx[0]->ptr() : nullptr, nullptr, x.size() / C);
}

void LayerNormalization::backward_add(const Tensor& sum, const Tensor& dy, float* da, float* db) {
  backward_rows(sum.ptr(), dy.ptr(), da, db, sum.size() / C);
}

void LayerNormalization::backward_rows(const float* x, const float* dy, float* d0, float* d1,
                                       Index N) {
  const float* g = gamma_ >= 0 ? params_[gamma_].value.data() : nullptr;
  const bool param_grads = gamma_ >= 0 || beta_ >= 0;
  const Index nb = (N + kRowBlock - 1) / kRowBlock;
  if (param_grads) {
    partial_.resize(nb * 2 * C);
    std::fill(partial_.begin(), partial_.end(), 0.0f);
  }
  const float inv_c = 1.0f / static_cast<float>(C);
  parallel_for(nb, nb > 1 && N * C >= kParallelMin, [&](Index blk) {
    float* pg = param_grads ? partial_.data() + blk * 2 * C : nullptr;  // (C) dgamma partial
    float* pb = param_grads ? pg + C : nullptr;                         // (C) dbeta partial
    const Index n_end = std::min(N, (blk + 1) * kRowBlock);
    for (Index n = blk * kRowBlock; n < n_end; ++n) {
      const float* xr = x + n * C;
      const float* gr = dy + n * C;
      const float mean = mean_[n], rstd = rstd_[n];
      // Inverts y = norm · gamma + beta: dbeta += dy, dgamma += dy · norm, dnorm = dy · gamma.
      if (pg)
        for (Index c = 0; c < C; ++c) {
          pg[c] += gr[c] * ((xr[c] - mean) * rstd);
          pb[c] += gr[c];
        }
      float dnorm_mean = row_sum(C, [&](Index c) { return g ? gr[c] * g[c] : gr[c]; });
      float dnorm_norm_mean = row_sum(C, [&](Index c) {
        return (g ? gr[c] * g[c] : gr[c]) * ((xr[c] - mean) * rstd);
      });
      if (!d0 && !d1) continue;
      dnorm_mean *= inv_c;
      dnorm_norm_mean *= inv_c;
      // Inverts norm = (x - mean) · rstd through mean and rstd (both functions of the row):
      // dx = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)). With a fused residual
      // (x = a + b) both inputs receive dx, as Add's backward would give them.
      for (Index c = 0; c < C; ++c) {
        const float norm = (xr[c] - mean) * rstd;
        const float dnorm = g ? gr[c] * g[c] : gr[c];
        const float dxc = rstd * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
        if (d0) d0[n * C + c] += dxc;
        if (d1) d1[n * C + c] += dxc;
      }
    }
  });
  // The block partials, added in block order (fixed whatever the thread count).
  if (!param_grads) return;
  float* dg = gamma_ >= 0 ? params_[gamma_].grad.data() : nullptr;
  float* dbeta = beta_ >= 0 ? params_[beta_].grad.data() : nullptr;
  for (Index blk = 0; blk < nb; ++blk) {
    const float* pg = partial_.data() + blk * 2 * C;
    const float* pb = pg + C;
    for (Index c = 0; c < C; ++c) {
      if (dg) dg[c] += pg[c];
      if (dbeta) dbeta[c] += pb[c];
    }
  }
}

}  // namespace seqattn
