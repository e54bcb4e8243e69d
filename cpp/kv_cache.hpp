// Incremental decoding of a causal language model with a key/value cache (generation).
//
// A model graph qualifies when every node is position-wise (output position t depends only on
// input position t: Embedding, Dense, LayerNormalization, Dropout in inference, Activation,
// the element-wise merges and op layers) or a position encoding (TokenAndPositionEmbedding,
// PositionEmbedding, SinePositionEncoding: they get each row's position offset), or a causal
// self-attention (MultiHeadAttention called as mha(x, x, use_causal_mask=True), no
// attention_mask). Then position t of the output depends only on positions 0..t of the input,
// and a step that appends n tokens to each row only needs, per attention node, the keys and
// values of the positions already seen:
//
//   step(ids (B, n), start (B,)):  row b's tokens sit at positions start[b] .. start[b]+n-1
//     position-wise nodes:   run on the (B, n, C) slice (their ordinary forward)
//     attention node:        Q, K, V = projections of the slice          (B, n, H·D)
//                            Kc[b, start[b]+i] = K[b, i], Vc likewise   (B, cap, H·D) cache
//                            O[b, i, h] = softmax_s≤start[b]+i(Q·Kcᵀ/√Dk) · Vc
//                            y = O·Wo + bo
//   so one new token costs O(T) per attention node (T = positions so far), not a full forward.
//
// Rows advance independently (each has its own start), so right-padded prompts of different
// lengths run as one batch: a row's padded positions hold stale keys that it overwrites
// before its causal window reaches them.
//
// Masks: generated ids are never 0 (the padding id), and causality hides the padding that
// follows a prompt, so the cache ignores padding masks (the position-wise layers still pass
// them on as in a forward pass).
//
// Buffers are sized by reset() and the first step of each length; later steps allocate
// nothing. Not thread-safe by itself: the binding holds this object's mutex and the graph's
// Lock (the layers' forwards write their caches) around step().
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph.hpp"

namespace seqattn {

class IncrementalDecoder {
 public:
  // Throws std::invalid_argument naming the first node that is not position-wise or causal
  // self-attention, and when the model has other than one input or one output.
  explicit IncrementalDecoder(std::shared_ptr<Graph> graph);

  // Empties the cache for `batch` rows of up to `capacity` positions each.
  void reset(Index batch, Index capacity);
  // Runs ids (B, n) (int32) at positions start[b] .. start[b]+n-1; the output (B, n, K) is
  // output() afterwards. Throws std::invalid_argument for a bad shape, a position past the
  // capacity or an id outside the vocabulary.
  void step(const std::int32_t* ids, Index B, Index n, const Index* start);
  const Tensor& output() const;

  Graph& graph() { return *graph_; }
  // Positions the position encodings can hold (0: no limit).
  Index max_length() const { return max_length_; }
  // Token ids the input embedding reads: [0, vocabulary).
  Index vocabulary() const { return vocabulary_; }
  std::mutex& mutex() { return mutex_; }

 private:
  enum class Op { Positionwise, TokenAndPosition, PositionTable, Sine, Attention };
  struct Cache {  // one causal self-attention node's keys and values
    Tensor K, V;          // (B, cap, H·Dk), (B, cap, H·Dv)
    Tensor q, k, v, o;    // this step's (B·n, H·Dk), ..., o (B·n, H·Dv)
    Index C = 0, H = 0, Dk = 0, Dv = 0, Cout = 0;
    bool bias = false;
  };
  struct Node {
    Op op;
    Layer* layer;  // runs it (a shared call: the layer whose weights it copies)
    std::vector<int> inputs;
    int output;
    CallOptions options;
    LayerInputs in;
    int cache = -1;  // index into caches_ (Attention)
    Index seen_b = 0, seen_n = 0;  // input shapes last validated (Positionwise)
  };
  void run_attention(Node& node, Index B, Index n, const Index* start);
  void run_positions(Node& node, Index B, Index n, const Index* start);

  std::shared_ptr<Graph> graph_;
  std::vector<Node> nodes_;
  std::vector<Cache> caches_;
  std::vector<Tensor> values_;
  std::vector<Mask> masks_;
  int output_ = -1;
  Index max_length_ = 0, vocabulary_ = 0;
  Index batch_ = 0, capacity_ = 0;
  Context ctx_;  // inference
  std::mutex mutex_;
};

}  // namespace seqattn
