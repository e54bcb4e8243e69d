#include "graph.hpp"

#include "parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace seqattn {

namespace {
using Clock = std::chrono::steady_clock;
const std::string kNoName;  // loss checks in a step name no output (and allocate nothing)
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Profiling as a policy chosen once per pass, so both passes are one loop with or without clock
// reads. Timed adds each step's wall time to its node's entry (field: forward or backward).
struct Untimed {
  template <class Work> void operator()(std::size_t /*node*/, Work&& work) const { work(); }
};
class Timed {
 public:
  Timed(std::vector<Graph::NodeTimes>& times, double Graph::NodeTimes::*field)
      : times_(times.data()), field_(field) {}
  template <class Work> void operator()(std::size_t node, Work&& work) const {
    const Clock::time_point t0 = Clock::now();
    work();
    times_[node].*field_ += seconds_since(t0);
  }

 private:
  Graph::NodeTimes* times_;
  double Graph::NodeTimes::*field_;
};
}  // namespace

template <class Work> void Graph::timed(double& seconds, Work&& work) {
  if (!profiling) {
    work();
    return;
  }
  const Clock::time_point t0 = Clock::now();
  work();
  seconds += seconds_since(t0);
}

void Graph::reset_profile() {
  node_times_.assign(nodes_.size(), NodeTimes{});
  loss_seconds_ = update_seconds_ = 0.0;
}

Graph::Graph(int num_inputs) : num_inputs_(num_inputs), values_(num_inputs), masks_(num_inputs),
                               grads_(num_inputs) {
  input_readers_.resize(static_cast<std::size_t>(num_inputs > 0 ? num_inputs : 0));
}

int Graph::add_node(std::shared_ptr<Layer> layer, std::vector<int> inputs, CallOptions options,
                    std::shared_ptr<Layer> shares) {
  const int id = static_cast<int>(values_.size());
  if (shares) {
    bool known = false;
    for (const auto& l : layers_) known = known || l == shares;
    if (!known || shares == layer)
      throw std::invalid_argument("Graph: a shared call must copy a layer added before it");
    auto& a = layer->params();
    auto& b = shares->params();
    bool same = a.size() == b.size();
    for (std::size_t i = 0; same && i < a.size(); ++i) same = a[i].shape == b[i].shape;
    if (!same)
      throw std::invalid_argument("Graph: layer '" + layer->name + "' cannot share the weights "
                                  "of '" + shares->name + "' (different weight shapes)");
    shares_.push_back({layer.get(), shares.get()});
  }
  for (int v : inputs)
    if (v >= id) throw std::invalid_argument("Graph: a node may only read earlier values");
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (inputs[j] < 0 || inputs[j] >= num_inputs_) continue;
    InputReaders& r = input_readers_[inputs[j]];
    const Index limit = layer->id_limit(j);
    if (limit == 0) {
      if (!r.features) {
        r.features = layer.get();
        r.features_who = "Layer '" + layer->name + "'";
      }
    } else if (!r.ids || limit < r.limit) {
      r.ids = layer.get();
      r.limit = limit;
      r.ids_who = "Layer '" + layer->name + "'";
    }
  }
  nodes_.push_back({layer, std::move(inputs), id, options});
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
  const InputReaders& r = input_readers_[i];
  if (r.ids && r.features)
    throw std::invalid_argument(who + " is read as token ids by layer '" + r.ids->name +
                                "' and as float features by layer '" + r.features->name +
                                "'; give each its own Input.");
  if (r.ids) return to_token_ids(a, r.ids_who, r.limit);
  return to_features(a, r.features ? r.features_who : who);
}

void Graph::set_outputs(std::vector<int> values) {
  for (int v : values)
    if (v < num_inputs_ || v >= static_cast<int>(values_.size()))
      throw std::invalid_argument("Graph: an output must be a value produced by a node");
  outputs_ = std::move(values);
  wired_ = false;
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
  wired_ = false;  // the losses decide which outputs the fusion pass turns into logits outputs
}

void Graph::wire() {
  // Softmax + categorical / sigmoid + binary cross-entropy read the logits where they can:
  // exact, and never inf.
  std::vector<std::string> logits_activation(outputs_.size());
  for (std::size_t i = 0; i < outputs_.size() && i < losses_.size(); ++i)
    if (losses_[i] && !losses_[i]->from_logits)
      logits_activation[i] = losses_[i]->fusable_activation();
  FusedGraph fused = fuse_graph(nodes_, num_inputs_, outputs_, logits_activation);
  logits_ = std::move(fused.logits);
  steps_.clear();
  for (auto& f : fused.steps) {
    Step s{std::move(f.call), f.node, {}, {}, {}};
    for (int v : s.call.inputs) {
      s.in.x.push_back(v < 0 ? nullptr : &values_[v]);
      s.in.mask.push_back(v < 0 ? nullptr : &masks_[v]);
      s.dx.push_back(nullptr);  // set per backward pass (model inputs get no gradient)
    }
    steps_.push_back(std::move(s));
  }
  params_.clear();
  for (auto& l : layers_) {
    bool copy = false;
    for (const Share& sh : shares_) copy = copy || sh.copy == l.get();
    if (!copy)
      for (auto& p : l->params()) params_.push_back(&p);
  }
  chunk_params(params_, grad_chunks_);
  chunk_penalty_.assign(grad_chunks_.size(), 0.0);
  flat_offset_.assign(params_.size(), 0);
  std::size_t total = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    flat_offset_[i] = total;
    total += static_cast<std::size_t>(params_[i]->size());
  }
  flat_grads_.assign(total, 0.0f);
  grad_zeroed_.assign(values_.size(), 0);
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
  ctx_.step = step * replicas + replica;
  copy_shared_weights();
  if (!profiling) {
    forward_steps(Untimed{});
    return;
  }
  if (node_times_.size() != nodes_.size()) reset_profile();
  forward_steps(Timed(node_times_, &NodeTimes::forward));
}

template <class Timer> void Graph::forward_steps(const Timer& timer) {
  for (Step& s : steps_) timer(s.node, [&] { forward_step(s); });
}

void Graph::forward_step(Step& s) {
  // Boundary checks on this step's inputs, once they exist: shapes when they change, values
  // (token ids, dtypes) every step. Forward passes have no side effects on the weights, so
  // raising part-way through leaves the model usable.
  const LayerInputs& in = s.in;
  Layer& layer = *s.call.layer;
  bool same = s.seen_shapes.size() == in.x.size();
  for (std::size_t j = 0; same && j < in.x.size(); ++j)
    same = in.x[j] ? in.x[j]->shape == s.seen_shapes[j] : s.seen_shapes[j].empty();
  if (!same) {
    std::vector<Shape> shapes;
    for (const Tensor* t : in.x) shapes.push_back(t ? t->shape : Shape{});
    layer.output_shape(shapes);  // throws with the layer's name on a mismatch
    s.seen_shapes = std::move(shapes);
  }
  layer.check_inputs(in);
  layer.apply_call_options(s.call.options);
  LayerOutput out;
  out.y = std::move(values_[s.call.output]);  // reuse the buffer
  out.mask = std::move(masks_[s.call.output]);
  layer.forward(in, out, ctx_);
  values_[s.call.output] = std::move(out.y);
  masks_[s.call.output] = std::move(out.mask);
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
      const ParamChunk& ch = grad_chunks_[c];
      float* g = params_[ch.param]->grad.data();
      std::fill(g + ch.begin, g + ch.end, 0.0f);
    });
    std::fill(grad_zeroed_.begin(), grad_zeroed_.end(), 0);
  }
  last_losses_.assign(outputs_.size(), 0.0);
  double total = 0.0;
  for (std::size_t i = 0; i < outputs_.size(); ++i) {
    if (!losses_[i]) continue;  // an output that is not trained (e.g. attention scores)
    const Tensor& pred = logits_[i] ? logits_[i]->logits() : output(i);
    const bool logits = logits_[i] != nullptr || losses_[i]->from_logits;
    // A per-token output (B, T, ...) keeps its padding mask: padded steps count for nothing
    // (Keras applies an output's mask to the loss as sample weights).
    // (Fused logits are (B·T, K): the output value has the (B, T, K) shape.)
    const Mask& m = masks_[outputs_[i]];
    const Tensor& out = output(i);
    const bool masked = !m.empty() && out.shape.size() >= 3 && m.B == out.dim(0) &&
                        m.T == out.dim(1);
    last_losses_[i] = losses_[i]->forward_backward(pred, y_true[i], sample_weight, out.dim(0),
                                                   masked ? &m : nullptr,
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
  if (!profiling) {
    backward_steps(Untimed{});
  } else {
    if (node_times_.size() != nodes_.size()) reset_profile();
    backward_steps(Timed(node_times_, &NodeTimes::backward));
  }
  add_shared_grads();
}

void Graph::copy_shared_weights() {
  for (const Share& sh : shares_) {
    auto& to = sh.copy->params();
    auto& from = sh.source->params();
    for (std::size_t i = 0; i < to.size(); ++i)
      std::copy(from[i].value.begin(), from[i].value.end(), to[i].value.begin());
  }
}

void Graph::add_shared_grads() {
  for (const Share& sh : shares_) {
    auto& from = sh.copy->params();
    auto& to = sh.source->params();
    for (std::size_t i = 0; i < to.size(); ++i) {
      float* g = to[i].grad.data();
      float* c = from[i].grad.data();
      const Index n = to[i].size();
      parallel_for(n, n >= 32768, [&](Index j) {
        g[j] += c[j];
        c[j] = 0.0f;  // the copy's gradients start from zero in the next backward pass
      });
    }
  }
}

template <class Timer> void Graph::backward_steps(const Timer& timer) {
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it)
    timer(it->node, [&] { backward_step(*it); });
}

void Graph::backward_step(Step& s) {
  // Float values get gradients (token ids do not); the first contribution finds zeros.
  for (std::size_t j = 0; j < s.call.inputs.size(); ++j) {
    const int v = s.call.inputs[j];
    const bool needs = v >= num_inputs_ && values_[v].dtype == DType::Float32;
    s.dx[j] = needs ? &zeroed_grad(v) : nullptr;
  }
  Layer& layer = *s.call.layer;
  layer.apply_call_options(s.call.options);
  const Tensor& dy = zeroed_grad(s.call.output);  // zeros when no later step read it
  LayerOutput out;
  out.y = std::move(values_[s.call.output]);
  out.mask = std::move(masks_[s.call.output]);
  layer.backward(s.in, out, dy, s.dx, ctx_);
  values_[s.call.output] = std::move(out.y);
  masks_[s.call.output] = std::move(out.mask);
}

double Graph::regularize(bool with_grad) {
  if (!wired_) wire();
  bool any = false;
  for (const Param* p : params_) any = any || p->l1 != 0.0f || p->l2 != 0.0f;
  if (!any) return 0.0;
  const Index nchunks = static_cast<Index>(grad_chunks_.size());
  parallel_for(nchunks, nchunks > 1, [&](Index c) {
    const ParamChunk& ch = grad_chunks_[c];
    Param& p = *params_[ch.param];
    double abs_sum = 0.0, sq_sum = 0.0;
    if (p.l1 != 0.0f || p.l2 != 0.0f) {
      const float* w = p.value.data();
      float* g = p.grad.data();
      const float l1 = p.l1, two_l2 = 2.0f * p.l2;
      for (Index j = ch.begin; j < ch.end; ++j) {
        const double x = w[j];
        abs_sum += std::fabs(x);
        sq_sum += x * x;
        if (with_grad) {
          const float sign = w[j] > 0.0f ? 1.0f : (w[j] < 0.0f ? -1.0f : 0.0f);
          g[j] += l1 * sign + two_l2 * w[j];
        }
      }
    }
    chunk_penalty_[c] = static_cast<double>(p.l1) * abs_sum + static_cast<double>(p.l2) * sq_sum;
  });
  double total = 0.0;
  for (Index c = 0; c < nchunks; ++c) total += chunk_penalty_[c];
  return total;
}

double Graph::compute_gradients(const std::vector<Tensor>& inputs,
                                const std::vector<Tensor>& y_true, const float* sample_weight,
                                bool training) {
  forward(inputs, training);
  double loss = 0.0;
  timed(loss_seconds_, [&] { loss = losses_and_seeds(y_true, sample_weight, true); });
  backward();
  // After backward: every layer's gradient is in place, the weights are the ones the loss saw.
  timed(loss_seconds_, [&] { loss += regularize(true); });
  return loss;
}

double Graph::train_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                         const float* sample_weight) {
  if (!optimizer_) throw std::invalid_argument("Graph: compile() was not called");
  const double loss = compute_gradients(inputs, y_true, sample_weight, true);
  timed(update_seconds_, [&] { optimizer_->apply(params()); });
  ++step;
  return loss;
}

double Graph::gradient_step(const std::vector<Tensor>& inputs,
                            const std::vector<Tensor>& y_true, const float* sample_weight,
                            float pack_scale) {
  if (!optimizer_) throw std::invalid_argument("Graph: compile() was not called");
  const double loss = compute_gradients(inputs, y_true, sample_weight, true);
  timed(update_seconds_, [&] { pack_gradients(pack_scale); });
  return loss;
}

void Graph::apply_gradients(float scale) {
  if (!optimizer_) throw std::invalid_argument("Graph: compile() was not called");
  timed(update_seconds_, [&] {
    unpack_gradients(scale);
    optimizer_->apply(params());
  });
  ++step;
}

float* Graph::gradient_buffer() {
  if (!wired_) wire();
  return flat_grads_.data();
}

std::size_t Graph::num_gradient_values() {
  if (!wired_) wire();
  return flat_grads_.size();
}

// Scaled copies, chunk by chunk in parallel: every element is written once, so the result
// does not depend on the thread count.
void Graph::pack_gradients(float scale) {
  if (!wired_) wire();
  const Index nchunks = static_cast<Index>(grad_chunks_.size());
  parallel_for(nchunks, nchunks > 1, [&](Index c) {
    const ParamChunk& ch = grad_chunks_[c];
    const float* g = params_[ch.param]->grad.data();
    float* f = flat_grads_.data() + flat_offset_[ch.param];
    for (Index j = ch.begin; j < ch.end; ++j) f[j] = g[j] * scale;
  });
}

void Graph::unpack_gradients(float scale) {
  if (!wired_) wire();
  const Index nchunks = static_cast<Index>(grad_chunks_.size());
  parallel_for(nchunks, nchunks > 1, [&](Index c) {
    const ParamChunk& ch = grad_chunks_[c];
    float* g = params_[ch.param]->grad.data();
    const float* f = flat_grads_.data() + flat_offset_[ch.param];
    for (Index j = ch.begin; j < ch.end; ++j) g[j] = f[j] * scale;
  });
}

double Graph::test_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                        const float* sample_weight) {
  forward(inputs, false);
  return losses_and_seeds(y_true, sample_weight, false) + regularize(false);
}

void Graph::predict_step(const std::vector<Tensor>& inputs) { forward(inputs, false); }

}  // namespace seqattn
