// LayerNormalization(a + b) as one graph step, for a residual sum that nothing but the
// LayerNormalization reads. The fusion pass (graph_fusion.hpp) puts it in place of the LN's
// call, reading the Add's two inputs. Without masks it runs LayerNormalization::forward_add
// and backward_add: the sum is written and normalised in one pass over each row, and no
// gradient buffer is made for it. With a mask on either input it runs Add, then
// LayerNormalization, since the Add must merge the masks. Either way the results are bit for bit
// those of the two layers called in turn.
//
// Its parameters are the LN's (the graph lists parameters from the layers it was given, so their
// order is unchanged); the sum and its gradient are this step's own buffers. It runs under the
// Add's and the LN's mutexes, which the graph holds for the whole step.
#pragma once
#include <memory>

#include "layer_norm.hpp"
#include "merge.hpp"

namespace seqattn {

class AddLayerNorm : public Layer {
 public:
  AddLayerNorm(std::shared_ptr<Add> add, std::shared_ptr<LayerNormalization> ln);
  std::string kind() const override { return "AddLayerNorm"; }
  // The Add's checks and messages, then the LN's on the sum's shape.
  Shape output_shape(const std::vector<Shape>& in) const override;
  // The Add's: the sum of two checked float inputs is a float tensor without empty axes,
  // which the LN's own check would accept.
  void check_inputs(const LayerInputs& in) const override { add_->check_inputs(in); }
  void forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) override;
  void backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                const std::vector<Tensor*>& dx, const Context& ctx) override;

 private:
  std::shared_ptr<Add> add_;
  std::shared_ptr<LayerNormalization> ln_;
  bool one_pass_ = false;  // the last forward had no mask to merge; backward follows it
  LayerOutput sum_;        // a + b, and its mask when the Add made one
  Tensor dsum_;            // dL/d(a + b), used only when the two layers run in turn
  // Wired once (the constructor) so a step builds no vectors: the LN's view of the sum.
  LayerInputs sum_in_;
  std::vector<Tensor*> dsum_out_;
};

}  // namespace seqattn
