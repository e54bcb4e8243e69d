#include "graph.hpp"

#include <stdexcept>

namespace seqattn {

Graph::Graph(int num_inputs) : num_inputs_(num_inputs), values_(num_inputs), masks_(num_inputs),
                               grads_(num_inputs) {}

int Graph::add_node(std::shared_ptr<Layer> layer, std::vector<int> inputs) {
  const int id = static_cast<int>(values_.size());
  for (int v : inputs)
    if (v >= id) throw std::invalid_argument("Graph: a node may only read earlier values");
  nodes_.push_back({layer, std::move(inputs), id, {}});
  bool seen = false;
  for (const auto& l : layers_) seen = seen || l == layer;
  if (!seen) layers_.push_back(layer);
  values_.emplace_back();
  masks_.emplace_back();
  grads_.emplace_back();
  return id;
}

void Graph::set_output(int value) { output_ = value; }

void Graph::compile(std::shared_ptr<Loss> loss, std::shared_ptr<Optimizer> optimizer) {
  loss_ = std::move(loss);
  optimizer_ = std::move(optimizer);
  // Fuse softmax + categorical / sigmoid + binary cross-entropy when the output layer's value
  // feeds nothing but the loss: the loss then reads logits, which is exact and never inf.
  fused_ = false;
  for (auto& n : nodes_) n.layer->set_fused_output_activation(false);
  if (!loss_ || loss_->from_logits || nodes_.empty()) return;
  Node& last = nodes_.back();
  if (last.output != output_) return;
  for (const auto& n : nodes_)
    for (int v : n.inputs)
      if (v == output_) return;
  if (last.layer->can_fuse_output_activation(loss_->fusable_activation())) {
    fused_ = true;
    last.layer->set_fused_output_activation(true);
  }
}

std::vector<Param*> Graph::params() {
  std::vector<Param*> ps;
  for (auto& l : layers_)
    for (auto& p : l->params()) ps.push_back(&p);
  return ps;
}

LayerInputs Graph::inputs_of(const Node& node) const {
  LayerInputs in;
  for (int v : node.inputs) {
    in.x.push_back(v < 0 ? nullptr : &values_[v]);
    in.mask.push_back(v < 0 ? nullptr : &masks_[v]);
  }
  return in;
}

void Graph::forward(const std::vector<Tensor>& inputs, bool training) {
  if (static_cast<int>(inputs.size()) != num_inputs_)
    throw std::invalid_argument("Model expects " + std::to_string(num_inputs_) + " input(s), received " +
                                std::to_string(inputs.size()));
  for (int i = 0; i < num_inputs_; ++i) {
    values_[i] = inputs[i];
    masks_[i].clear();
  }
  ctx_.training = training;
  ctx_.step = step;
  // Boundary checks first (shapes only when they change, ids every step), so a bad batch
  // raises before any layer has run.
  for (auto& node : nodes_) {
    LayerInputs in = inputs_of(node);
    node.layer->check_values(in);
  }
  for (auto& node : nodes_) {
    LayerInputs in = inputs_of(node);
    std::vector<Shape> shapes;
    for (const Tensor* t : in.x) shapes.push_back(t ? t->shape : Shape{});
    if (shapes != node.seen_shapes) {
      node.layer->output_shape(shapes);  // throws with the layer's name on a mismatch
      node.seen_shapes = shapes;
    }
    LayerOutput out;
    out.y = std::move(values_[node.output]);  // reuse the buffer
    out.mask = std::move(masks_[node.output]);
    node.layer->forward(in, out, ctx_);
    values_[node.output] = std::move(out.y);
    masks_[node.output] = std::move(out.mask);
  }
}

double Graph::loss_and_grad(const Tensor& y_true, const float* sample_weight, bool with_grad) {
  if (!loss_) throw std::invalid_argument("Graph: compile() was not called");
  const Tensor& pred = values_[output_];
  loss_->check(pred, y_true);
  Tensor* g = with_grad ? &grads_[output_] : nullptr;
  if (fused_) {
    const Tensor& logits = *nodes_.back().layer->pre_activation();
    return loss_->forward_backward(logits, y_true, sample_weight, g, true);
  }
  return loss_->forward_backward(pred, y_true, sample_weight, g, loss_->from_logits);
}

void Graph::backward() {
  // Clear every gradient this pass accumulates into: parameter grads and node-output grads
  // (except the output, which the loss just wrote).
  for (Param* p : params()) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  for (const auto& node : nodes_) {
    if (node.output == output_) continue;
    Tensor& g = grads_[node.output];
    g.resize(values_[node.output].shape);
    g.zero();
  }
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    const Node& node = *it;
    LayerInputs in = inputs_of(node);
    std::vector<Tensor*> dx;
    for (int v : node.inputs) {
      const bool needs = v >= num_inputs_ && values_[v].dtype == DType::Float32;
      dx.push_back(needs ? &grads_[v] : nullptr);
    }
    LayerOutput out;
    out.y = std::move(values_[node.output]);
    out.mask = std::move(masks_[node.output]);
    node.layer->backward(in, out, grads_[node.output], dx, ctx_);
    values_[node.output] = std::move(out.y);
    masks_[node.output] = std::move(out.mask);
  }
}

double Graph::compute_gradients(const std::vector<Tensor>& inputs, const Tensor& y_true,
                                const float* sample_weight, bool training) {
  forward(inputs, training);
  const double loss = loss_and_grad(y_true, sample_weight, true);
  backward();
  return loss;
}

double Graph::train_step(const std::vector<Tensor>& inputs, const Tensor& y_true,
                         const float* sample_weight) {
  if (!optimizer_) throw std::invalid_argument("Graph: compile() was not called");
  const double loss = compute_gradients(inputs, y_true, sample_weight, true);
  optimizer_->apply(params());
  ++step;
  return loss;
}

double Graph::test_step(const std::vector<Tensor>& inputs, const Tensor& y_true,
                        const float* sample_weight) {
  forward(inputs, false);
  return loss_and_grad(y_true, sample_weight, false);
}

void Graph::predict_step(const std::vector<Tensor>& inputs) { forward(inputs, false); }

}  // namespace seqattn
