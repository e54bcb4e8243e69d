// A model as a graph of layer calls, executed in C++: forward, loss, backward and the
// optimizer update of a training step happen in one call (the binding releases the GIL).
//
// Values are numbered: 0 .. num_inputs-1 are the model inputs, then one value per node, in
// the order nodes were added (a topological order: a node only reads earlier values).
// Sequential and functional models both compile to this.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "check.hpp"
#include "graph_fusion.hpp"
#include "kernels/chunks.hpp"
#include "layer.hpp"
#include "logits_output.hpp"
#include "losses.hpp"
#include "optimizers.hpp"

namespace seqattn {

class Graph {
  friend class IncrementalDecoder;  // kv_cache.hpp: reads the nodes, shares and input readers

 public:
  explicit Graph(int num_inputs);
  // Adds a call of `layer` on the given values (-1 = absent optional input) with that call's
  // options; returns the id of the value it produces.
  //
  // Layer sharing: a layer keeps one call's activations between forward and backward, so a
  // second call of a layer in one graph runs on a copy of it (`layer`, built like `shares`),
  // whose weights are copied from `shares` before every forward pass and whose gradients are
  // added into `shares`'s after every backward pass (in node order: fixed sums). params() and
  // the optimizer see only `shares`.
  int add_node(std::shared_ptr<Layer> layer, std::vector<int> inputs, CallOptions options = {},
               std::shared_ptr<Layer> shares = nullptr);

  // The boundary for model input i: the caller's array as the tensor its readers expect
  // (token ids checked against the smallest vocabulary among the embeddings reading it, or
  // float features), its shape checked against `expected` (-1: any). Messages name the
  // layer that reads the ids, or `who` ("Input 0 of model 'm'") for the shape.
  Tensor input_tensor(int i, const ArrayRef& a, const Shape& expected, const std::string& who);

  // Everything a step touches: the graph's own state and every layer's caches and weights.
  // Locks the graph's mutex, then its layers' in address order (one global order, so graphs
  // that share layers never deadlock); allocates nothing. Take it without holding the GIL.
  class Lock {
   public:
    explicit Lock(Graph& g);
    ~Lock();
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
   private:
    Graph& g_;
  };
  void set_outputs(std::vector<int> values);
  // One loss per output (null: the output is not trained); the training loss is
  // Σ_i loss_weights[i] · loss_i.
  void compile(std::vector<std::shared_ptr<Loss>> losses, std::vector<double> loss_weights,
               std::shared_ptr<Optimizer> optimizer);

  // One training step: forward (training mode), losses, backward, update. Returns the total
  // (weighted) loss; last_losses() has each output's.
  double train_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                    const float* sample_weight);
  // Forward, losses and backward without an update: leaves dL/dparam in every Param::grad.
  double compute_gradients(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                           const float* sample_weight, bool training);

  // Data-parallel training (seqattn.distributed) splits train_step in two around an
  // allreduce: gradient_step = compute_gradients (training mode) + pack_gradients;
  // apply_gradients(scale) = unpack_gradients(scale) + the optimizer update + ++step.
  // The flat buffer is every Param::grad back to back in params() order (its length is
  // num_gradient_values()), so the caller reduces one contiguous float32 array.
  // The buffer holds the gradients times pack_scale (a rank's sample count, so the
  // reduced sum weighs ranks by their batch sizes).
  double gradient_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                       const float* sample_weight, float pack_scale);
  void apply_gradients(float scale);
  float* gradient_buffer();
  std::size_t num_gradient_values();
  // Dropout streams of data-parallel replicas: the step's stream is step·replicas + replica,
  // so ranks draw different masks, each reproducible; 0 of 1 is the single-process stream.
  std::uint64_t replica = 0, replicas = 1;
  // Inference-mode forward; returns the total loss on (inputs, y_true).
  double test_step(const std::vector<Tensor>& inputs, const std::vector<Tensor>& y_true,
                   const float* sample_weight);
  // Inference-mode forward only.
  void predict_step(const std::vector<Tensor>& inputs);

  int num_inputs() const { return num_inputs_; }
  std::size_t num_outputs() const { return outputs_.size(); }
  const Tensor& output(std::size_t i) const { return values_[outputs_[i]]; }
  // Output i's padding mask after the last forward pass (empty: none).
  const Mask& output_mask(std::size_t i) const { return masks_[outputs_[i]]; }
  const std::vector<double>& last_losses() const { return last_losses_; }
  // Every layer's params, node order (Keras get_weights order).
  const std::vector<Param*>& params();
  const std::vector<std::shared_ptr<Layer>>& layers() const { return layers_; }
  std::shared_ptr<Optimizer> optimizer() const { return optimizer_; }
  std::uint64_t step = 0;  // completed training steps: the dropout stream

  // Per-node wall time (seconds, summed over steps) while `profiling` is on: where a step's
  // time goes, layer by layer (benchmarks/profile_layers.py prints it). Off: no clock reads.
  // A fused step's time is charged to the node it stands for (AddLayerNorm: the LN's; the
  // absorbed Add shows 0).
  struct NodeTimes { double forward = 0.0, backward = 0.0; };
  bool profiling = false;
  const std::vector<NodeTimes>& node_times() const { return node_times_; }
  double loss_seconds() const { return loss_seconds_; }
  double update_seconds() const { return update_seconds_; }
  void reset_profile();
  // The layer behind node i (nodes in the order they were added).
  const Layer& node_layer(std::size_t i) const { return *nodes_[i].layer; }
  std::size_t num_nodes() const { return nodes_.size(); }

 private:
  // What the passes run: a layer call after the fusion rewrite (graph_fusion.hpp), with its
  // inputs' values, masks and gradients wired once (wire()) so a step builds no vectors.
  struct Step {
    LayerCall call;
    std::size_t node;                // the added node it stands for (profiling)
    std::vector<Shape> seen_shapes;  // input shapes last validated
    LayerInputs in;
    std::vector<Tensor*> dx;
  };
  // Runs the fusion pass over the nodes, points every step at its inputs' values, masks and
  // gradients, and lists the params; run before the first step after nodes, outputs or losses
  // changed (values_ may have moved).
  void wire();
  // Makes grads_[v] a zero tensor shaped like values_[v], once per backward pass: the first
  // gradient contribution then accumulates into zeros, and a value nobody reads is zeroed
  // only when its producer needs it.
  Tensor& zeroed_grad(int v);
  // Σ over params of l1·Σ|w| + l2·Σw² (Keras's weight regularization losses, which Keras adds
  // to the reported loss in fit and evaluate); with_grad adds l1·sign(w) + 2·l2·w to every
  // Param::grad. Summed per fixed chunk, then in chunk order: the same at any thread count.
  double regularize(bool with_grad);
  void forward(const std::vector<Tensor>& inputs, bool training);
  // Every output's loss; with_grad also clears all gradients and seeds the outputs' ones.
  double losses_and_seeds(const std::vector<Tensor>& y_true, const float* sample_weight,
                          bool with_grad);
  void backward();
  // One step's share of each pass; Timer is Untimed or Timed (profiling), chosen per pass.
  void forward_step(Step& s);
  void backward_step(Step& s);
  template <class Timer> void forward_steps(const Timer& timer);
  template <class Timer> void backward_steps(const Timer& timer);
  // Runs work, adding its wall time to `seconds` while profiling.
  template <class Work> void timed(double& seconds, Work&& work);

  std::mutex mutex_;
  std::vector<std::mutex*> layer_mutexes_;  // unique, in address order (add_node)
  int num_inputs_;
  std::vector<int> outputs_;
  std::vector<LayerCall> nodes_;  // as added
  // Per model input, who reads it (kept by add_node, so a step's conversion looks nothing up):
  // the embedding with the smallest vocabulary among its id readers, and a float reader.
  struct InputReaders {
    const Layer* ids = nullptr;
    Index limit = 0;
    std::string ids_who;  // "Layer 'name'", for to_token_ids' messages
    const Layer* features = nullptr;
    std::string features_who;
  };
  std::vector<InputReaders> input_readers_;
  std::vector<Step> steps_;       // run order (wire())
  struct Share {
    Layer* copy;
    Layer* source;
  };
  std::vector<Share> shares_;  // second calls of a layer (add_node), in node order
  void copy_shared_weights();  // source -> copy, before a forward pass
  void add_shared_grads();     // copy -> source, after a backward pass; clears the copy's
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<Tensor> values_;  // forward values, indexed by value id
  std::vector<Mask> masks_;     // their padding masks (empty = none)
  std::vector<Tensor> grads_;   // dL/dvalue, for float values produced by nodes
  std::vector<char> grad_zeroed_;  // per value: grads_[v] zeroed in this backward pass
  std::vector<Param*> params_;     // every layer's params (wire())
  std::vector<ParamChunk> grad_chunks_;  // params_ in fixed chunks, cleared in parallel
  std::vector<double> chunk_penalty_;    // per chunk of grad_chunks_: its regularization sum
  std::vector<float> flat_grads_;        // gradient_step's packed gradients (allocated once)
  std::vector<std::size_t> flat_offset_;  // per param: where its gradient starts in flat_grads_
  void pack_gradients(float scale);
  void unpack_gradients(float scale);
  bool wired_ = false;
  std::vector<std::shared_ptr<Loss>> losses_;  // one per output
  std::vector<double> loss_weights_;
  std::shared_ptr<Optimizer> optimizer_;
  std::vector<const LogitsOutput*> logits_;  // per output: the step whose logits its loss reads
  std::vector<double> last_losses_;
  Tensor seed_;                      // scratch: one loss's gradient before weighting
  std::vector<NodeTimes> node_times_;  // per node, while profiling
  double loss_seconds_ = 0.0, update_seconds_ = 0.0;
  Context ctx_;
};

}  // namespace seqattn
