// A graph step for a layer call whose loss reads its logits (output_fusion.hpp): forward is the
// layer's own (the output still holds act(z) for the caller), backward starts from dL/dz, which
// is what the loss seeds into the output's gradient. Everything else is the wrapped layer's,
// including its name and kind in messages. Built by the fusion pass (graph_fusion.hpp); runs
// under the wrapped layer's mutex, which the graph holds for the whole step.
#pragma once
#include <memory>

#include "layer.hpp"
#include "output_fusion.hpp"

namespace seqattn {

class LogitsOutput : public Layer {
 public:
  explicit LogitsOutput(std::shared_ptr<Layer> layer);  // layer->output_fusion() is not null
  std::string kind() const override { return layer_->kind(); }
  Shape output_shape(const std::vector<Shape>& in) const override {
    return layer_->output_shape(in);
  }
  Index id_limit(std::size_t input) const override { return layer_->id_limit(input); }
  void check_inputs(const LayerInputs& in) const override { layer_->check_inputs(in); }
  void apply_call_options(const CallOptions& options) override {
    layer_->apply_call_options(options);
  }
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override {
    layer_->forward(in, out, ctx);
  }
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dz,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

  // What the output's loss reads.
  const Tensor& logits() const { return fusion_->logits(); }

 private:
  std::shared_ptr<Layer> layer_;
  OutputFusion* fusion_;
};

}  // namespace seqattn
