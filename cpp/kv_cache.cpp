#include "kv_cache.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "embedding.hpp"
#include "linalg.hpp"
#include "parallel.hpp"
#include "position.hpp"

namespace seqattn {

namespace {
// Layers whose output at position t reads only position t of their inputs. BinaryOp and Where
// qualify because every value in a qualifying graph is (B, T, ...): Constant, Reshape,
// Reduce and the other layers that could broadcast or move the time axis are refused.
bool positionwise(const std::string& kind) {
  static const char* const kinds[] = {"Dense", "LayerNormalization", "Dropout", "Activation",
                                      "Embedding", "Add", "Subtract", "Multiply", "Average",
                                      "Maximum", "Minimum", "UnaryOp", "BinaryOp", "Where"};
  for (const char* k : kinds)
    if (kind == k) return true;
  return false;
}

std::string who(const Layer& l) { return "layer '" + l.name + "' (" + l.kind() + ")"; }

const char* kRule = "generation with a key/value cache runs models made of position-wise layers "
                    "and causal self-attention (mha(x, x, use_causal_mask=True)) only";
}  // namespace

IncrementalDecoder::IncrementalDecoder(std::shared_ptr<Graph> graph) : graph_(std::move(graph)) {
  Graph& g = *graph_;
  if (g.num_inputs_ != 1 || g.outputs_.size() != 1)
    throw std::invalid_argument(std::string(kRule) + "; a language model has one input (token "
                                "ids) and one output (per-token logits), this one has " +
                                std::to_string(g.num_inputs_) + " input(s) and " +
                                std::to_string(g.outputs_.size()) + " output(s)");
  const auto& reader = g.input_readers_[0];
  if (!reader.ids || reader.features)
    throw std::invalid_argument(std::string(kRule) + "; the model's input must be token ids "
                                "read only by embeddings");
  vocabulary_ = reader.limit;
  output_ = g.outputs_[0];
  values_.resize(static_cast<std::size_t>(g.num_inputs_) + g.nodes_.size());
  masks_.resize(values_.size());
  values_[0].dtype = DType::Int32;
  for (const LayerCall& call : g.nodes_) {
    Layer* layer = call.layer.get();
    for (const auto& sh : g.shares_)
      if (sh.copy == layer) layer = sh.source;  // its weights are the source's
    const std::string kind = layer->kind();
    Node node{Op::Positionwise, layer, call.inputs, call.output, call.options, {}, -1};
    if (kind == "TokenAndPositionEmbedding" || kind == "PositionEmbedding") {
      node.op = kind == "PositionEmbedding" ? Op::PositionTable : Op::TokenAndPosition;
      const Index tmax = kind == "PositionEmbedding"
                             ? static_cast<PositionEmbedding*>(layer)->Tmax
                             : static_cast<TokenAndPositionEmbedding*>(layer)->Tmax;
      max_length_ = max_length_ == 0 ? tmax : std::min(max_length_, tmax);
    } else if (kind == "SinePositionEncoding") {
      node.op = Op::Sine;
    } else if (kind == "MultiHeadAttention") {
      const auto& in = call.inputs;
      const bool self = in.size() >= 2 && in[0] == in[1] &&
                        (in.size() < 3 || in[2] < 0 || in[2] == in[0]);
      if (!self)
        throw std::invalid_argument(std::string(kRule) + "; " + who(*layer) + " attends to "
                                    "another sequence (cross-attention)");
      if (in.size() >= 4 && in[3] >= 0)
        throw std::invalid_argument(std::string(kRule) + "; " + who(*layer) + " is called with "
                                    "an attention_mask");
      if (!call.options.causal)
        throw std::invalid_argument(std::string(kRule) + "; " + who(*layer) + " is not causal "
                                    "(call it with use_causal_mask=True)");
      // Keras weight shapes: query/kernel (C, H, Dk), value/kernel (C, H, Dv),
      // attention_output/kernel (H, Dv, Cout); 8 arrays with biases, 4 without.
      const auto& p = layer->params();
      Cache c;
      c.bias = p.size() == 8;
      const Param& wq = p[0];
      const Param& wv = p[c.bias ? 4 : 2];
      const Param& wo = p[c.bias ? 6 : 3];
      c.C = wq.shape[0];
      c.H = wq.shape[1];
      c.Dk = wq.shape[2];
      c.Dv = wv.shape[2];
      c.Cout = wo.shape[2];
      node.op = Op::Attention;
      node.cache = static_cast<int>(caches_.size());
      caches_.push_back(std::move(c));
    } else if (!positionwise(kind)) {
      throw std::invalid_argument(std::string(kRule) + "; " + who(*layer) + " is neither (it "
                                  "mixes positions or changes the time axis). Generate with "
                                  "use_cache=False to run a full forward pass per token.");
    }
    for (int v : node.inputs) {
      node.in.x.push_back(v < 0 ? nullptr : &values_[v]);
      node.in.mask.push_back(v < 0 ? nullptr : &masks_[v]);
    }
    nodes_.push_back(std::move(node));
  }
}

void IncrementalDecoder::reset(Index batch, Index capacity) {
  if (batch < 1 || capacity < 1)
    throw std::invalid_argument("IncrementalDecoder.reset: expected a positive batch and "
                                "capacity, received " + std::to_string(batch) + " and " +
                                std::to_string(capacity));
  if (max_length_ > 0 && capacity > max_length_)
    throw std::invalid_argument("IncrementalDecoder.reset: " + std::to_string(capacity) +
                                " positions do not fit the model's position encoding "
                                "(sequence_length=" + std::to_string(max_length_) + ")");
  batch_ = batch;
  capacity_ = capacity;
  for (Cache& c : caches_) {
    c.K.resize({batch, capacity, c.H * c.Dk});
    c.V.resize({batch, capacity, c.H * c.Dv});
    c.K.zero();
    c.V.zero();
  }
}

const Tensor& IncrementalDecoder::output() const { return values_[output_]; }

void IncrementalDecoder::step(const std::int32_t* ids, Index B, Index n, const Index* start) {
  if (batch_ == 0) throw std::invalid_argument("IncrementalDecoder.step: call reset() first");
  if (B != batch_ || n < 1)
    throw std::invalid_argument("IncrementalDecoder.step: expected ids of shape (" +
                                std::to_string(batch_) + ", n >= 1), received (" +
                                std::to_string(B) + ", " + std::to_string(n) + ")");
  for (Index b = 0; b < B; ++b)
    if (start[b] < 0 || start[b] + n > capacity_)
      throw std::invalid_argument("IncrementalDecoder.step: row " + std::to_string(b) +
                                  " would write positions " + std::to_string(start[b]) + ".." +
                                  std::to_string(start[b] + n - 1) + ", outside the cache of " +
                                  std::to_string(capacity_) + " positions");
  for (Index i = 0; i < B * n; ++i)
    if (ids[i] < 0 || ids[i] >= vocabulary_)
      throw std::invalid_argument("IncrementalDecoder.step: token id " + std::to_string(ids[i]) +
                                  " is outside the vocabulary [0, " +
                                  std::to_string(vocabulary_) + ")");
  Tensor& x = values_[0];
  x.resize({B, n});
  std::copy(ids, ids + B * n, x.ids.begin());
  masks_[0].clear();
  for (Node& node : nodes_) {
    switch (node.op) {
      case Op::Attention:
        run_attention(node, B, n, start);
        break;
      case Op::TokenAndPosition:
      case Op::PositionTable:
      case Op::Sine:
        run_positions(node, B, n, start);
        break;
      case Op::Positionwise: {
        Layer& layer = *node.layer;
        if (node.seen_b != B || node.seen_n != n) {  // shapes once per new (B, n), as Graph
          std::vector<Shape> shapes;
          for (const Tensor* t : node.in.x) shapes.push_back(t ? t->shape : Shape{});
          layer.output_shape(shapes);
          node.seen_b = B;
          node.seen_n = n;
        }
        layer.check_inputs(node.in);
        layer.apply_call_options(node.options);
        LayerOutput o;
        o.y = std::move(values_[node.output]);
        o.mask = std::move(masks_[node.output]);
        layer.forward(node.in, o, ctx_);
        values_[node.output] = std::move(o.y);
        masks_[node.output] = std::move(o.mask);
        break;
      }
    }
  }
  const Tensor& y = values_[output_];
  if (y.rank() != 3 || y.dim(0) != B || y.dim(1) != n)
    throw std::invalid_argument(std::string(kRule) + "; the output must be per-token logits "
                                "(B, T, K), received shape " + shape_str(y.shape) +
                                " for ids of shape (" + std::to_string(B) + ", " +
                                std::to_string(n) + ")");
}

void IncrementalDecoder::run_positions(Node& node, Index B, Index n, const Index* start) {
  // y[b, i] = (token row +) encoding of position start[b] + i.
  const Tensor& x = *node.in.x[0];
  Tensor& y = values_[node.output];
  Mask& mask = masks_[node.output];
  if (node.op == Op::TokenAndPosition) {
    auto& l = *static_cast<TokenAndPositionEmbedding*>(node.layer);
    const Index C = l.C;
    y.resize({B, n, C});
    const float* Wt = l.params()[0].value.data();
    const float* Wp = l.params()[1].value.data();
    for (Index b = 0; b < B; ++b)
      for (Index i = 0; i < n; ++i) {
        const float* tok = Wt + static_cast<Index>(x.ids[b * n + i]) * C;
        const float* pos = Wp + (start[b] + i) * C;
        float* row = y.ptr() + (b * n + i) * C;
        for (Index c = 0; c < C; ++c) row[c] = tok[c] + pos[c];
      }
    if (l.mask_zero) make_padding_mask(x, mask); else mask.clear();
    return;
  }
  const Index C = x.dim(2);
  if (x.rank() != 3 || x.dim(0) != B || x.dim(1) != n)
    throw std::invalid_argument("Layer '" + node.layer->name + "': expected input (B, T, C)");
  y.resize({B, n, C});
  if (node.op == Op::PositionTable) {
    auto& l = *static_cast<PositionEmbedding*>(node.layer);
    if (C != l.C)
      throw std::invalid_argument("Layer '" + l.name + "' (PositionEmbedding): expected " +
                                  std::to_string(l.C) + " channels, received " +
                                  std::to_string(C));
    const float* W = l.params()[0].value.data();
    for (Index b = 0; b < B; ++b)
      std::copy(W + start[b] * C, W + (start[b] + n) * C, y.ptr() + b * n * C);
  } else {
    // The formula of SinePositionEncoding::forward, at positions start[b] + i.
    const double wl = static_cast<SinePositionEncoding*>(node.layer)->max_wavelength;
    for (Index c = 0; c < C; ++c) {
      const double w = std::pow(wl, -2.0 * static_cast<double>(c / 2) / static_cast<double>(C));
      for (Index b = 0; b < B; ++b)
        for (Index i = 0; i < n; ++i) {
          const double angle = static_cast<double>(start[b] + i) * w;
          y.ptr()[(b * n + i) * C + c] =
              static_cast<float>(c % 2 == 0 ? std::sin(angle) : std::cos(angle));
        }
    }
  }
  if (const Mask* m = node.in.mask_of(0)) mask.assign(*m); else mask.clear();
}

void IncrementalDecoder::run_attention(Node& node, Index B, Index n, const Index* start) {
  Cache& c = caches_[node.cache];
  const Tensor& x = *node.in.x[0];  // (B, n, C)
  if (x.rank() != 3 || x.dim(0) != B || x.dim(1) != n || x.dim(2) != c.C)
    throw std::invalid_argument("Layer '" + node.layer->name + "' (MultiHeadAttention): "
                                "expected query (B, T, " + std::to_string(c.C) + "), received " +
                                shape_str(x.shape));
  const auto& p = node.layer->params();
  auto bias = [&](int i) { return c.bias ? p[i].value.data() : nullptr; };
  const int wk = c.bias ? 2 : 1, wv = c.bias ? 4 : 2, wo = c.bias ? 6 : 3;
  const Index N = B * n, HK = c.H * c.Dk, HV = c.H * c.Dv, cap = capacity_;
  c.q.resize({N, HK});
  c.k.resize({N, HK});
  c.v.resize({N, HV});
  c.o.resize({N, HV});
  linear_forward(c.q.ptr(), x.ptr(), p[0].value.data(), bias(1), N, c.C, HK);
  linear_forward(c.k.ptr(), x.ptr(), p[wk].value.data(), bias(wk + 1), N, c.C, HK);
  linear_forward(c.v.ptr(), x.ptr(), p[wv].value.data(), bias(wv + 1), N, c.C, HV);
  for (Index b = 0; b < B; ++b) {  // row b's new keys and values go to its own positions
    const Index at = b * cap + start[b];
    std::copy(c.k.ptr() + b * n * HK, c.k.ptr() + (b + 1) * n * HK, c.K.ptr() + at * HK);
    std::copy(c.v.ptr() + b * n * HV, c.v.ptr() + (b + 1) * n * HV, c.V.ptr() + at * HV);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.Dk));
  const Index H = c.H, Dk = c.Dk, Dv = c.Dv;
  // One (b, i, h) row per task, writing only its own slice of O. Online softmax (one pass
  // over the cached positions, rescaling when the running maximum grows): no (T, S) buffer.
  const Index rows = N * H;
  const Index work = rows * (capacity_ / 2 + n) * (Dk + Dv);  // multiply-adds, roughly
  parallel_for(rows, worth_threads(work), [&](Index r) {
    const Index h = r % H, bi = r / H, b = bi / n, i = bi % n;
    const Index S = start[b] + i + 1;  // causal: positions 0 .. start[b] + i
    const float* q = c.q.ptr() + bi * HK + h * Dk;
    float* o = c.o.ptr() + bi * HV + h * Dv;
    std::fill(o, o + Dv, 0.0f);
    float m = -INFINITY, sum = 0.0f;
    for (Index t = 0; t < S; ++t) {
      const float* k = c.K.ptr() + (b * cap + t) * HK + h * Dk;
      float dot = 0.0f;
      for (Index d = 0; d < Dk; ++d) dot += q[d] * k[d];
      const float s = dot * scale;
      if (s > m) {
        const float rescale = std::exp(m - s);  // 0 on the first position (m = -inf)
        sum *= rescale;
        for (Index d = 0; d < Dv; ++d) o[d] *= rescale;
        m = s;
      }
      const float w = std::exp(s - m);
      sum += w;
      const float* v = c.V.ptr() + (b * cap + t) * HV + h * Dv;
      for (Index d = 0; d < Dv; ++d) o[d] += w * v[d];
    }
    const float inv = 1.0f / sum;
    for (Index d = 0; d < Dv; ++d) o[d] *= inv;
  });
  Tensor& y = values_[node.output];
  y.resize({B, n, c.Cout});
  linear_forward(y.ptr(), c.o.ptr(), p[wo].value.data(), bias(wo + 1), N, HV, c.Cout);
  if (const Mask* m = node.in.mask_of(0)) masks_[node.output].assign(*m);
  else masks_[node.output].clear();
}

}  // namespace seqattn
