#include "embedding.hpp"

#include <cstring>
#include <stdexcept>

#include "parallel.hpp"

namespace seqattn {

void make_padding_mask(const Tensor& ids, Mask& mask) {
  mask.B = ids.dim(0);
  mask.T = ids.dim(1);
  mask.data.resize(ids.size());
  for (Index i = 0; i < ids.size(); ++i) mask.data[i] = ids.ids[i] != 0;
}

namespace {
constexpr Index kParallelMin = 32768;  // elements; smaller outputs stay on the calling thread

Shape ids_to_vectors(const std::string& kind, const std::string& name,
                     const std::vector<Shape>& in, Index C) {
  if (in.size() != 1 || in[0].size() != 2)
    throw std::invalid_argument(kind + " '" + name +
                                "': expected token ids of shape (B, T), received " +
                                (in.empty() ? std::string("nothing") : shape_str(in[0])));
  return {in[0][0], in[0][1], C};
}
}  // namespace

// ---------------------------------------------------------------- Embedding
Embedding::Embedding(Index input_dim, Index output_dim, bool mask_zero_)
    : V(input_dim), C(output_dim), mask_zero(mask_zero_) {
  params_.emplace_back("embeddings", Shape{V, C});
}

// Any shape of ids (Keras): (B, T) -> (B, T, C), and also (T,) -> (T, C) for positions
// (ops.arange inside a traced layer) or (B, T, K) -> (B, T, K, C). A padding mask (mask_zero)
// is a (B, T) mask, so it is made for (B, T) ids only (the Python layer refuses the rest).
Shape Embedding::output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 1 || in[0].empty())
    throw std::invalid_argument(kind() + " '" + name + "': expected token ids of shape (B, T) "
                                "(or any rank >= 1), received " +
                                (in.empty() ? std::string("nothing") : shape_str(in[0])));
  if (mask_zero && in[0].size() != 2)
    throw std::invalid_argument(kind() + " '" + name + "': mask_zero=True needs token ids of "
                                "shape (B, T), received " + shape_str(in[0]));
  Shape out = in[0];
  out.push_back(C);
  return out;
}


void Embedding::forward(const LayerInputs& in, LayerOutput& out, const Context&) {
  const Tensor& ids = *in.x[0];  // (B, T) or any shape: N ids
  const Index N = ids.size();
  out.y.shape = ids.shape;
  out.y.shape.push_back(C);
  out.y.resize_data();
  const float* W = params_[0].value.data();  // (V, C)
  float* y = out.y.ptr();
  for (Index n = 0; n < N; ++n)
    std::memcpy(y + n * C, W + static_cast<Index>(ids.ids[n]) * C, C * sizeof(float));
  if (mask_zero) make_padding_mask(ids, out.mask); else out.mask.clear();
}

void Embedding::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dy,
                         const std::vector<Tensor*>&, const Context&) {
  // Inverts y[n] = W[ids[n]]: dW[ids[n]] += dy[n]. Serial: ids repeat, so rows are not
  // disjoint between steps; the scatter is memory-bound and cheap next to attention.
  const Tensor& ids = *in.x[0];
  float* dW = params_[0].grad.data();
  const float* g = dy.ptr();
  for (Index n = 0; n < ids.size(); ++n) {
    float* row = dW + static_cast<Index>(ids.ids[n]) * C;
    for (Index c = 0; c < C; ++c) row[c] += g[n * C + c];
  }
}

// ------------------------------------------------- TokenAndPositionEmbedding
TokenAndPositionEmbedding::TokenAndPositionEmbedding(Index vocabulary_size, Index sequence_length,
                                                     Index embedding_dim, bool mask_zero_)
    : V(vocabulary_size), Tmax(sequence_length), C(embedding_dim), mask_zero(mask_zero_) {
  params_.emplace_back("token_embedding/embeddings", Shape{V, C});
  params_.emplace_back("position_embedding/embeddings", Shape{Tmax, C});
}

Shape TokenAndPositionEmbedding::output_shape(const std::vector<Shape>& in) const {
  Shape out = ids_to_vectors(kind(), name, in, C);
  if (out[1] > Tmax)
    throw std::invalid_argument(kind() + " '" + name + "': sequences of length " +
                                std::to_string(out[1]) + " are longer than sequence_length=" +
                                std::to_string(Tmax) + "; received ids of shape " +
                                shape_str(in[0]));
  return out;
}

void TokenAndPositionEmbedding::forward(const LayerInputs& in, LayerOutput& out,
                                        const Context&) {
  const Tensor& ids = *in.x[0];  // (B, T)
  const Index B = ids.dim(0), T = ids.dim(1);
  out.y.resize({B, T, C});
  const float* Wt = params_[0].value.data();  // (V, C)
  const float* Wp = params_[1].value.data();  // (Tmax, C)
  float* y = out.y.ptr();
  parallel_for(B, B * T * C >= kParallelMin, [&](Index b) {  // rows of y are disjoint
    for (Index t = 0; t < T; ++t) {
      const float* tok = Wt + static_cast<Index>(ids.ids[b * T + t]) * C;
      const float* pos = Wp + t * C;
      float* row = y + (b * T + t) * C;
      for (Index c = 0; c < C; ++c) row[c] = tok[c] + pos[c];
    }
  });
  if (mask_zero) make_padding_mask(ids, out.mask); else out.mask.clear();
}

void TokenAndPositionEmbedding::backward(const LayerInputs& in, const LayerOutput&,
                                         const Tensor& dy, const std::vector<Tensor*>&,
                                         const Context&) {
  // Inverts y[b, t] = W_tok[ids[b, t]] + W_pos[t]. Serial, like Embedding's: ids repeat, and
  // splitting the channels between 2 threads measured slower than one thread (a scatter into
  // rows 1 KiB apart is memory-bound).
  const Tensor& ids = *in.x[0];
  const Index B = ids.dim(0), T = ids.dim(1);
  float* dWt = params_[0].grad.data();
  float* dWp = params_[1].grad.data();
  const float* g = dy.ptr();
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t < T; ++t) {
      const float* gr = g + (b * T + t) * C;
      float* tok = dWt + static_cast<Index>(ids.ids[b * T + t]) * C;
      float* pos = dWp + t * C;
      for (Index c = 0; c < C; ++c) {
        tok[c] += gr[c];
        pos[c] += gr[c];
      }
    }
}

}  // namespace seqattn
