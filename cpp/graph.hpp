// A model as a graph of layer calls, executed in C++: forward, loss, backward and the
// optimizer update of a training step happen in one call (the binding releases the GIL).
//
// Values are numbered: 0 .. num_inputs-1 are the model inputs, then one value per node, in
// the order nodes were added (a topological order: a node only reads earlier values).
// Sequential and functional models both compile to this.
#pragma once
#include <memory>
#include <vector>

#include "layer.hpp"
#include "losses.hpp"
#include "optimizers.hpp"

namespace seqattn {

class Graph {
 public:
  explicit Graph(int num_inputs);
  // Adds a call of `layer` on the given values (-1 = absent optional input); returns the id
  // of the value it produces.
  int add_node(std::shared_ptr<Layer> layer, std::vector<int> inputs);
  void set_output(int value);
  void compile(std::shared_ptr<Loss> loss, std::shared_ptr<Optimizer> optimizer);

  // One training step: forward (training mode), loss, backward, update. Returns the loss.
  double train_step(const std::vector<Tensor>& inputs, const Tensor& y_true,
                    const float* sample_weight);
  // Forward, loss and backward without an update: leaves dL/dparam in every Param::grad.
  double compute_gradients(const std::vector<Tensor>& inputs, const Tensor& y_true,
                           const float* sample_weight, bool training);
  // Inference-mode forward; returns the loss on (inputs, y_true).
  double test_step(const std::vector<Tensor>& inputs, const Tensor& y_true,
                   const float* sample_weight);
  // Inference-mode forward only.
  void predict_step(const std::vector<Tensor>& inputs);

  const Tensor& output() const { return values_[output_]; }
  std::vector<Param*> params();  // every layer's params, node order (Keras get_weights order)
  const std::vector<std::shared_ptr<Layer>>& layers() const { return layers_; }
  std::shared_ptr<Loss> loss() const { return loss_; }
  std::shared_ptr<Optimizer> optimizer() const { return optimizer_; }
  std::uint64_t step = 0;  // completed training steps: the dropout stream

 private:
  struct Node {
    std::shared_ptr<Layer> layer;
    std::vector<int> inputs;
    int output;
    std::vector<Shape> seen_shapes;  // input shapes last validated
  };
  void forward(const std::vector<Tensor>& inputs, bool training);
  double loss_and_grad(const Tensor& y_true, const float* sample_weight, bool with_grad);
  void backward();
  LayerInputs inputs_of(const Node& node) const;

  int num_inputs_;
  int output_ = -1;
  std::vector<Node> nodes_;
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<Tensor> values_;  // forward values, indexed by value id
  std::vector<Mask> masks_;     // their padding masks (empty = none)
  std::vector<Tensor> grads_;   // dL/dvalue, for float values produced by nodes
  std::shared_ptr<Loss> loss_;
  std::shared_ptr<Optimizer> optimizer_;
  bool fused_ = false;  // the loss reads the output layer's pre-activation values
  Context ctx_;
};

}  // namespace seqattn
