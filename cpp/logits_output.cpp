#include "logits_output.hpp"

namespace seqattn {

LogitsOutput::LogitsOutput(std::shared_ptr<Layer> layer)
    : layer_(std::move(layer)), fusion_(layer_->output_fusion()) {
  name = layer_->name;
}

void LogitsOutput::backward(const LayerInputs& in, const LayerOutput&, const Tensor& dz,
                            const std::vector<Tensor*>& dx, const Context&) {
  fusion_->backward_from_logits(in, dz, dx);
}

}  // namespace seqattn
