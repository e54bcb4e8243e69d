#include "graph.hpp"

#include "layer_norm.hpp"
#include "merge.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace seqattn {

namespace {
using Clock = std::chrono::steady_clock;
const std::string kNoName;  // loss checks in a step name no output (and allocate nothing)
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

void Graph::reset_profile() {
  node_times_.assign(nodes_.size(), NodeTimes{});
  loss_seconds_ = update_seconds_ = 0.0;
}

Graph::Graph(int num_inputs) : num_inputs_(num_inputs), values_(num_inputs), masks_(num_inputs),
                               grads_(num_inputs) {}

int Graph::add_node(std::shared_ptr<Layer> layer, std::vector<int> inputs, CallOptions options) {
  const int id = static_cast<int>(values_.size());
  for (int v : inputs)
    if (v >= id) throw std::invalid_argument("Graph: a node may only read earlier values");
  nodes_.push_back({layer, std::move(inputs), id, options, {}, {}, {}});
  wired_ = false;
  bool seen = false;
  for (const auto& l : layers_) seen = seen || l == layer;
  if (!seen) {
    layers_.push_back(layer);
    std::mutex* m = &layer->mutex();
    layer_mutexes_.insert(
        std::upper_bound(layer_mutexes_.begin(), layer_mutexes_.end(), m, std::less<std::mutex*>()),
        m);
  }
  values_.emplace_back();
  masks_.emplace_back();
  grads_.emplace_back();
  return id;
}

Graph::Lock::Lock(Graph& g) : g_(g) {
  g_.mutex_.lock();
  for (std::mutex* m : g_.layer_mutexes_) m->lock();
}

Graph::Lock::~Lock() {
  for (auto it = g_.layer_mutexes_.rbegin(); it != g_.layer_mutexes_.rend(); ++it) (*it)->unlock();
  g_.mutex_.unlock();
}

Tensor Graph::input_tensor(int i, const ArrayRef& a, const Shape& expected,
                           const std::string& who) {
  if (i < 0 || i >= num_inputs_)
    throw std::invalid_argument("Graph: no input " + std::to_string(i));
  if (!expected.empty()) check_shape(a.shape, expected, who);
  // The embeddings reading this input set the rule; a float-feature reader beside them would
  // need the same array as two different tensors.
  const Layer* ids_reader = nullptr;
  const Layer* float_reader = nullptr;
  Index limit = 0;
  for (const Node& node : nodes_)
    for (std::size_t j = 0; j < node.inputs.size(); ++j) {
      if (node.inputs[j] != i) continue;
      const Index l = node.layer->id_limit(j);
      if (l == 0) {
        if (!float_reader) float_reader = node.layer.get();
      } else if (!ids_reader || l < limit) {
        ids_reader = node.layer.get();
        limit = l;
      }
    }
  if (ids_reader && float_reader)
    throw std::invalid_argument(who + " is read as token ids by layer '" + ids_reader->name +
                                "' and as float features by layer '" + float_reader->name +
                                "'; give each its own Input.");
  if (ids_reader) return to_token_ids(a, "Layer '" + ids_reader->name + "'", limit);
  return to_features(a, float_reader ? "Layer '" + float_reader->name + "'" : who);
}

void Graph::set_outputs(std::vector<int> values) {
  for (int v : values)
    if (v < num_inputs_ || v >= static_cast<int>(values_.size()))
      throw std::invalid_argument("Graph: an output must be a value produced by a node");
  outputs_ = std::move(values);
}

void Graph::compile(std::vector<std::shared_ptr<Loss>> losses, std::vector<double> loss_weights,
                    std::shared_ptr<Optimizer> optimizer) {
  if (losses.size() != outputs_.size() || loss_weights.size() != outputs_.size())
    throw std::invalid_argument("Graph: expected one loss and one loss weight per output (" +
                                std::to_string(outputs_.size()) + "), received " +
                                std::to_string(losses.size()) + " and " +
                                std::to_string(loss_weights.size()));
  losses_ = std::move(losses);
  loss_weights_ = std::move(loss_weights);
  optimizer_ = std::move(optimizer);
  // Fuse softmax + categorical / sigmoid + binary cross-entropy when an output's value feeds
  // nothing but its loss: the loss then reads logits, which is exact and never inf.
  for (auto& n : nodes_) n.layer->set_fused_output_activation(false);
  fused_.assign(outputs_.size(), nullptr);
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    const int out = outputs_[i];
    if (!losses_[i] || losses_[i]->from_logits) continue;
    bool consumed = std::count(outputs_.begin(), outputs_.end(), out) > 1;
    for (const auto& n : nodes_)
      consumed = consumed || std::count(n.inputs.begin(), n.inputs.end(), out) > 0;
    const Node& producer = nodes_[out - num_inputs_];
    int calls = 0;  // a layer called twice cannot fuse one call only
    for (const auto& n : nodes_) calls += n.layer == producer.layer;
    if (consumed || calls > 1 ||
        !producer.layer->can_fuse_output_activation(losses_[i]->fusable_activation()))
      continue;
    producer.layer->set_fused_output_activation(true);
    fused_[i] = producer.layer.get();
  }
}

void Graph::wire() {
  for (Node& node : nodes_) {
    node.in.x.clear();
    node.in.mask.clear();
    node.dx.clear();
    for (int v : node.inputs) {
      node.in.x.push_back(v < 0 ? nullptr : &values_[v]);
      node.in.mask.push_back(v < 0 ? nullptr : &masks_[v]);
      node.dx.push_back(v >= num_inputs_ ? &grads_[v] : nullptr);  // model inputs: no gradient
    }
  }
  params_.clear();
  for (auto& l : layers_)
    for (auto& p : l->params()) params_.push_back(&p);
  constexpr Index kChunk = 65536;
  grad_chunks_.clear();
  for (Param* p : params_)
    for (Index b = 0; b < p->size(); b += kChunk)
      grad_chunks_.push_back({p, b, std::min(b + kChunk, p->size())});
  grad_zeroed_.assign(values_.size(), 0);
  // Residual + LayerNorm: an Add of two inputs whose value only one LayerNormalization reads
  // (not a model output) runs inside that LN (LayerNormalization::forward_add).
  std::vector<int> readers(values_.size(), 0);
  for (const Node& node : nodes_)
    for (int v : node.inputs)
      if (v >= 0) ++readers[v];
  for (int v : outputs_) ++readers[v];
  for (Node& node : nodes_) {
    node.fuse_partner = -1;
    node.fused_now = false;
  }
  for (std::size_t j = 0; j < nodes_.size(); ++j) {
    Node& ln = nodes_[j];
    const int v = ln.inputs.empty() ? -1 : ln.inputs[0];
    if (ln.inputs.size() != 1 || v < num_inputs_ || readers[v] != 1 ||
        !dynamic_cast<LayerNormalization*>(ln.layer.get()))
      continue;
    const std::size_t i = static_cast<std::size_t>(v - num_inputs_);  // the producer of v
    Node& add = nodes_[i];
    if (!dynamic_cast<Add*>(add.layer.get()) || add.inputs.size() != 2 || add.inputs[0] < 0 ||
        add.inputs[1] < 0)
      continue;
    add.fuse_partner = static_cast<int>(j);
    ln.fuse_partner = static_cast<int>(i);
  }
  wired_ = true;
}

const std::vector<Param*>& Graph::params() {
  if (!wired_) wire();
  return params_;
}

Tensor& Graph::zeroed_grad(int v) {
  Tensor& g = grads_[v];
  if (!grad_zeroed_[v]) {
    g.resize(values_[v].shape);
    g.zero();
    grad_zeroed_[v] = 1;
  }
  return g;
}

void Graph::forward(const std::vector<Tensor>& inputs, bool training) {
  if (static_cast<int>(inputs.size()) != num_inputs_)
    throw std::invalid_argument("Model expects " + std::to_string(num_inputs_) + " input(s), received " +
                                std::to_string(inputs.size()));
  if (!wired_) wire();
  for (int i = 0; i < num_inputs_; ++i) {
    values_[i] = inputs[i];  // copy-assign: reuses the capacity of the last step's inputs
    masks_[i].clear();
  }
  ctx_.training = training;
  ctx_.step = step;
  if (profiling && node_times_.size() != nodes_.size()) reset_profile();
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = nodes_[i];
    const Clock::time_point t0 = profiling ? Clock::now() : Clock::time_point{};
    // Boundary checks on this step's inputs, once they exist: shapes when they change, values
    // (token ids, dtypes) every step. Forward passes have no side effects on the weights, so
    // raising part-way through leaves the model usable.
    const LayerInputs& in = node.in;
    bool same = node.seen_shapes.size() == in.x.size();
    for (std::size_t j = 0; same && j < in.x.size(); ++j)
      same = in.x[j] ? in.x[j]->shape == node.seen_shapes[j] : node.seen_shapes[j].empty();
    if (!same) {
      std::vector<Shape> shapes;
      for (const Tensor* t : in.x) shapes.push_back(t ? t->shape : Shape{});
      node.layer->output_shape(shapes);  // throws with the layer's name on a mismatch
      node.seen_shapes = std::move(shapes);
    }
    node.layer->check_inputs(in);
    if (node.fuse_partner >= 0 && dynamic_cast<Add*>(node.layer.get())) {
      // Fused into the LayerNormalization that reads it, when no mask needs merging (and
      // the inputs are float features: check_inputs above has just confirmed that).
      node.fused_now = in.mask_of(0) == nullptr && in.mask_of(1) == nullptr;
      if (node.fused_now) {
        // The LN writes the sum here; its shape is set now so the LN's shape check sees it.
        values_[node.output].resize(values_[node.inputs[0]].shape);
        masks_[node.output].clear();
        if (profiling) node_times_[i].forward += seconds_since(t0);
        continue;
      }
    }
    node.layer->apply_call_options(node.options);
    LayerOutput out;
    out.y = std::move(values_[node.output]);  // reuse the buffer
    out.mask = std::move(masks_[node.output]);
    if (node.fuse_partner >= 0 && nodes_[node.fuse_partner].fused_now) {
      const Node& add = nodes_[node.fuse_partner];
      static_cast<LayerNormalization*>(node.layer.get())
          ->forward_add(values_[add.inputs[0]], values_[add.inputs[1]], values_[add.output], out);
    } else {
      node.layer->forward(in, out, ctx_);
    }
    values_[node.output] = std::move(out.y);
    masks_[node.output] = std::move(out.mask);
    if (profiling) node_times_[i].forward += seconds_since(t0);
  }
}

double Graph::losses_and_seeds(const std::vector<Tensor>& y_true, const float* sample_weight,
                               bool with_grad) {
  if (losses_.empty()) throw std::invalid_argument("Graph: compile() was not called");
  if (y_true.size() != outputs_.size())
    throw std::invalid_argument("Graph: expected targets for " + std::to_string(outputs_.size()) +
                                " output(s), received " + std::to_string(y_true.size()));
  for (std::size_t i = 0; i < outputs_.size(); ++i)
    if (losses_[i]) losses_[i]->check(output(i).shape, y_true[i], kNoName);
  if (with_grad) {
    // Clear every parameter gradient the backward pass accumulates into; value gradients
    // are zeroed on first use (zeroed_grad).
    if (!wired_) wire();
    const Index nchunks = static_cast<Index>(grad_chunks_.size());
    parallel_for(nchunks, nchunks > 1, [&](Index c) {
      const GradChunk& ch = grad_chunks_[c];
      std::fill(ch.param->grad.begin() + ch.begin, ch.param->grad.begin() + ch.end, 0.0f);
    });
    std::fill(grad_zeroed_.begin(), grad_zeroed_.end(), 0);
  }
  last_losses_.assign(outputs_.size(), 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (!losses_[i]) continue;  // an output that is not trained (e.g. attention scores)
    const Tensor& pred = fused_[i] ? *fused_[i]->pre_activation() : output(i);
    const bool logits = fused_[i] != nullptr || losses_[i]->from_logits;
    last_losses_[i] = losses_[i]->forward_backward(pred, y_true[i], sample_weight,
                                                   with_grad ? &seed_ : nullptr, logits);
    total += loss_weights_[i] * last_losses_[i];
    if (with_grad) {  // the output's gradient (w.r.t. logits when fused) += weight · dL_i
      Tensor& g = zeroed_grad(outputs_[i]);
      const float w = static_cast<float>(loss_weights_[i]);
      for (Index j = 0; j < g.size(); ++j) g.data[j] += w * seed_.data[j];
    }
  }
  return total;
}

void Graph::backward() {
  if (profiling && node_times_.size() != nodes_.size()) reset_profile();
  for (std::size_t i = nodes_.size(); i-- > 0;) {
    Node& node = nodes_[i];
    const Clock::time_point t0 = profiling ? Clock::now() : Clock::time_point{};
    if (node.fused_now && node.fuse_partner >= 0 && dynamic_cast<Add*>(node.layer.get()))
      continue;  // its LayerNormalization already gave its inputs their gradients
    if (node.fuse_partner >= 0 && nodes_[node.fuse_partner].fused_now) {
      const Node& add = nodes_[node.fuse_partner];
      auto grad_of = [&](int v) {
        return v >= num_inputs_ && values_[v].dtype == DType::Float32 ? zeroed_grad(v).ptr()
                                                                      : nullptr;
      };
      float* da = grad_of(add.inputs[0]);
      float* db = grad_of(add.inputs[1]);
      static_cast<LayerNormalization*>(node.layer.get())
          ->backward_add(values_[add.output], zeroed_grad(node.output), da, db);
      if (profiling) node_times_[i].backward += seconds_since(t0);
      continue;
    }
    // Float values get gradients (token ids do not); the first contribution finds zeros.
    for (std::size_t j = 0; j < node.inputs.size(); ++j) {
      const int v = node.inputs[j];
      const bool needs = v >= num_inputs_ && values_[v].dtype == DType::Float32;
      node.dx[j] = needs ? &zeroed_grad(v) : nullptr;
    }
    node.layer->apply_call_options(node.options);
    const Tensor& dy = zeroed_grad(node.output);  // zeros when no later node read it
    LayerOutput out;
    out.y = std::move(values_[node.output]);
    out.mask = std::move(masks_[node.output]);
    node.layer->backward(node.in, out, dy, node.dx, ctx_);
    values_[node.output] = std::move(out.y);
    masks_[node.output] = std::move(out.mask);
    if (profiling) node_times_[i].backward += seconds_since(t0);
  }
}

double Graph::compute_gradients(const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& y_true, const float* sample_weight,
                                bool training) {
  forward(inputs, training);
  const Clock::time_point t0 = profiling ? Clock::now() : Clock::time_point{};
  const double loss = losses_and_seeds(y_true, sample_weight, true);
  if (profiling) loss_seconds_ += seconds_since(t0);
  backward();
  return loss;
}

double Graph::train_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                         const float* sample_weight) {
  if (!optimizer_) throw std::invalid_argument("Graph: compile() was not called");
  const double loss = compute_gradients(inputs, y_true, sample_weight, true);
  const Clock::time_point t0 = profiling ? Clock::now() : Clock::time_point{};
  optimizer_->apply(params());
  if (profiling) update_seconds_ += seconds_since(t0);
  ++step;
  return loss;
}

double Graph::test_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                        const float* sample_weight) {
  forward(inputs, false);
  return losses_and_seeds(y_true, sample_weight, false);
}

void Graph::predict_step(const std::vector<Tensor>& inputs) { forward(inputs, false); }

}  // namespace seqattn
