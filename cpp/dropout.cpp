#include "dropout.hpp"

#include <algorithm>
#include <stdexcept>

#include "parallel.hpp"
#include "rng.hpp"

namespace seqattn {

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller tensors stay on one thread
constexpr Index kBlock = 8192;         // elements per parallel block
}  // namespace

Dropout::Dropout(float rate_) : rate(rate_) {
  if (!(rate >= 0.0f && rate < 1.0f))
    throw std::invalid_argument("Dropout: expected `rate` in [0, 1), received rate=" +
                                std::to_string(rate));
}

Shape Dropout::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].empty())
    throw std::invalid_argument("Layer '" + name + "' (Dropout) expects one input with a batch "
                                "axis, received " +
                                (in.empty() ? std::string("nothing") : shape_str(in[0])));
  return in[0];
}

void Dropout::forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) {
  const Tensor& x = *in.x[0];
  const Index n = x.size();
  out.y.resize(x.shape);
  dropped_ = ctx.training && rate > 0.0f;
  const float* xs = x.ptr();
  float* y = out.y.ptr();
  if (!dropped_) {
    std::copy(xs, xs + n, y);
  } else {
    keep_.resize(n);
    const float inv_keep = 1.0f / (1.0f - rate);
    const std::uint64_t s = seed, step = ctx.step;
    std::uint8_t* keep_all = keep_.data();
    const float r = rate;
    parallel_for_blocks(n, kBlock, n >= kParallelMin, [&](Index begin, Index end) {
      // Locals, so the byte stores cannot alias the pointers (see parallel_for_blocks).
      std::uint8_t* keep = keep_all;
      const float* xl = xs;
      float* yl = y;
      const std::uint64_t sl = s, stepl = step;
      const float rl = r, scale = inv_keep;
      for (Index i = begin; i < end; ++i) {
        const bool k = uniform01(sl, stepl, static_cast<std::uint64_t>(i)) >= rl;
        keep[i] = k;
        yl[i] = k ? xl[i] * scale : 0.0f;
      }
    });
  }
  if (const Mask* m = in.mask_of(0)) out.mask.assign(*m); else out.mask.clear();
}

void Dropout::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                       const std::vector<Tensor*>& dx, const Context&) {
  if (!dx[0]) return;
  const Index n = in.x[0]->size();
  const float* g = dy.ptr();
  float* d = dx[0]->ptr();
  if (!dropped_) {  // inverts y = x
    for (Index i = 0; i < n; ++i) d[i] += g[i];
    return;
  }
  // Inverts y = x · keep / (1 - rate), with the keep decisions of the forward pass.
  const float inv_keep = 1.0f / (1.0f - rate);
  const std::uint8_t* keep_all = keep_.data();
  parallel_for_blocks(n, kBlock, n >= kParallelMin, [&](Index begin, Index end) {
    const std::uint8_t* keep = keep_all;
    const float* gl = g;
    float* dl = d;
    const float scale = inv_keep;
    for (Index i = begin; i < end; ++i)
      if (keep[i]) dl[i] += gl[i] * scale;
  });
}

}  // namespace seqattn
