#include "graph_fusion.hpp"

#include <algorithm>

#include "add_layer_norm.hpp"
#include "logits_output.hpp"
#include "output_fusion.hpp"

namespace seqattn {

FusedGraph fuse_graph(const std::vector<LayerCall>& nodes, int num_inputs,
                      const std::vector<int>& outputs,
                      const std::vector<std::string>& logits_activation) {
  const std::size_t num_values = static_cast<std::size_t>(num_inputs) + nodes.size();
  std::vector<int> readers(num_values, 0);  // nodes and outputs reading each value
  for (const LayerCall& n : nodes)
    for (int v : n.inputs)
      if (v >= 0) ++readers[v];
  for (int v : outputs) ++readers[v];
  auto producer = [&](int v) { return static_cast<std::size_t>(v - num_inputs); };

  // Residual + LayerNormalization: node j (the LN) becomes the fused step, reading the inputs
  // of Add node i, which is dropped (absorbed[i]).
  std::vector<std::shared_ptr<Layer>> replaced(nodes.size());
  std::vector<std::vector<int>> replaced_inputs(nodes.size());
  std::vector<char> absorbed(nodes.size(), 0);
  for (std::size_t j = 0; j < nodes.size(); ++j) {
    const LayerCall& ln = nodes[j];
    auto norm = std::dynamic_pointer_cast<LayerNormalization>(ln.layer);
    if (!norm || ln.inputs.size() != 1 || ln.inputs[0] < num_inputs || readers[ln.inputs[0]] != 1)
      continue;
    const std::size_t i = producer(ln.inputs[0]);
    const LayerCall& add = nodes[i];
    auto sum = std::dynamic_pointer_cast<Add>(add.layer);
    if (!sum || add.inputs.size() != 2 || add.inputs[0] < 0 || add.inputs[1] < 0) continue;
    replaced[j] = std::make_shared<AddLayerNorm>(std::move(sum), std::move(norm));
    replaced_inputs[j] = add.inputs;
    absorbed[i] = 1;
  }

  FusedGraph g;
  std::vector<int> step_of(num_values, -1);  // the step producing each value
  for (std::size_t j = 0; j < nodes.size(); ++j) {
    if (absorbed[j]) continue;
    LayerCall call = nodes[j];
    if (replaced[j]) {
      call.layer = replaced[j];
      call.inputs = replaced_inputs[j];
    }
    step_of[call.output] = static_cast<int>(g.steps.size());
    g.steps.push_back({std::move(call), j});
  }

  // Logits outputs.
  g.logits.assign(outputs.size(), nullptr);
  for (std::size_t o = 0; o < outputs.size() && o < logits_activation.size(); ++o) {
    const int v = outputs[o];
    if (logits_activation[o].empty() || readers[v] != 1 || step_of[v] < 0) continue;
    LayerCall& call = g.steps[step_of[v]].call;
    const std::shared_ptr<Layer>& layer = nodes[producer(v)].layer;
    const auto calls = std::count_if(nodes.begin(), nodes.end(),
                                     [&](const LayerCall& n) { return n.layer == layer; });
    OutputFusion* fusion = call.layer->output_fusion();
    if (calls > 1 || !fusion || !fusion->has_output_activation(logits_activation[o])) continue;
    auto step = std::make_shared<LogitsOutput>(call.layer);
    g.logits[o] = step.get();
    call.layer = std::move(step);
  }
  return g;
}

}  // namespace seqattn
