#include "matmul.hpp"

#include <stdexcept>

#include "gemm.hpp"

namespace seqattn {

namespace {
// Batch items of a (..., M, K): the product of the leading axes (1 for a matrix).
Index batch_of(const Shape& s) {
  Index n = 1;
  for (std::size_t i = 0; i + 2 < s.size(); ++i) n *= s[i];
  return n;
}
}  // namespace

Shape MatMul::output_shape(const std::vector<Shape>& in) const {
  const std::string who = "Layer '" + name + "' (matmul)";
  if (in.size() != 2 || in[0].size() < 2 || in[1].size() < 2)
    throw std::invalid_argument(who + " takes two tensors of rank >= 2, received " +
                                (in.size() == 2 ? shape_str(in[0]) + " and " + shape_str(in[1])
                                                : std::to_string(in.size()) + " inputs"));
  const Shape& a = in[0];
  const Shape& b = in[1];
  if (a.back() != b[b.size() - 2])
    throw std::invalid_argument(who + ": the last axis of " + shape_str(a) + " must equal the "
                                "second-to-last axis of " + shape_str(b));
  const Shape lead_a(a.begin(), a.end() - 2), lead_b(b.begin(), b.end() - 2);
  if (!lead_a.empty() && !lead_b.empty() && lead_a != lead_b)
    throw std::invalid_argument(who + ": the batch axes of " + shape_str(a) + " and " +
                                shape_str(b) + " must be equal (or one side a matrix)");
  Shape out = lead_a.empty() ? lead_b : lead_a;
  out.push_back(a[a.size() - 2]);
  out.push_back(b.back());
  return out;
}

// Forward: one GEMM per batch item (a shared matrix side is the same pointer each time).
void MatMul::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& a = *in.x[0];
  const Tensor& b = *in.x[1];
  const Index M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
  const Index Ba = batch_of(a.shape), Bb = batch_of(b.shape), items = Ba > Bb ? Ba : Bb;
  const Shape& lead = a.rank() > 2 ? a.shape : b.shape;
  out.y.shape.assign(lead.begin(), lead.end() - 2);
  out.y.shape.push_back(M);
  out.y.shape.push_back(N);
  out.y.resize_data();
  for (Index i = 0; i < items; ++i) {
    const float* ai = a.ptr() + (Ba > 1 ? i : 0) * M * K;
    const float* bi = b.ptr() + (Bb > 1 ? i : 0) * K * N;
    gemm(M, N, K, {ai, K, 1}, {bi, N, 1}, out.y.ptr() + i * M * N, N, /*accumulate=*/false);
  }
  const Mask* m = in.mask_of(0);
  if (m && a.rank() == 3 && m->B == a.dim(0) && m->T == M) out.mask.assign(*m);
  else out.mask.clear();
}

// Backward: da[i] += dc[i] · b[i]ᵀ, db[i] += a[i]ᵀ · dc[i]; a shared side sums over i in order.
void MatMul::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                      const std::vector<Tensor*>& dx, const Context&) {
  const Tensor& a = *in.x[0];
  const Tensor& b = *in.x[1];
  const Index M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
  const Index Ba = batch_of(a.shape), Bb = batch_of(b.shape), items = Ba > Bb ? Ba : Bb;
  for (Index i = 0; i < items; ++i) {
    const Index ia = Ba > 1 ? i : 0, ib = Bb > 1 ? i : 0;
    const float* dc = dy.ptr() + i * M * N;
    if (dx[0])
      gemm(M, K, N, {dc, N, 1}, {b.ptr() + ib * K * N, 1, N}, dx[0]->ptr() + ia * M * K, K,
           /*accumulate=*/true);
    if (dx[1])
      gemm(K, N, M, {a.ptr() + ia * M * K, 1, K}, {dc, N, 1}, dx[1]->ptr() + ib * K * N, N,
           /*accumulate=*/true);
  }
}

}  // namespace seqattn
