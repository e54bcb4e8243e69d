// The graph's fusion pass: turns the layer calls a model was built from into the steps its
// forward and backward passes run, so that those passes are plain loops over steps and only
// this pass knows particular layers.
//
//  * Residual + LayerNormalization: an Add of two present inputs whose value one
//    LayerNormalization reads and nothing else (no other node, not a model output) becomes one
//    AddLayerNorm step in the LN's place (add_layer_norm.hpp). The step decides per forward
//    pass whether it can run in one pass (no mask on either input).
//  * Logits outputs: an output whose loss can read pre-activation values (Loss::
//    fusable_activation) becomes a LogitsOutput step (logits_output.hpp) when the layer
//    producing it has that activation (Layer::output_fusion), is called once in the graph, and
//    the output feeds nothing else (no node, not listed twice as an output).
//
// Steps keep the order of the calls they replace, so every gradient is summed in the order
// the unfused graph would sum it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layer.hpp"

namespace seqattn {

class LogitsOutput;

// One call of a layer: the value ids it reads (-1 = absent optional input) and produces.
struct LayerCall {
  std::shared_ptr<Layer> layer;
  std::vector<int> inputs;
  int output;
  CallOptions options;
};

struct FusedGraph {
  struct Step {
    LayerCall call;
    std::size_t node;  // the call it stands for (profiling charges its time there)
  };
  std::vector<Step> steps;
  // Per output: the step whose logits its loss reads, or null.
  std::vector<const LogitsOutput*> logits;
};

// `nodes` in topological order; value ids 0 .. num_inputs-1 are the model inputs and node i
// produces value num_inputs + i. `logits_activation[i]`: the activation whose logits output
// i's loss would read, or empty (no loss, a loss already on logits, or not compiled).
FusedGraph fuse_graph(const std::vector<LayerCall>& nodes, int num_inputs,
                      const std::vector<int>& outputs,
                      const std::vector<std::string>& logits_activation);

}  // namespace seqattn
