#include "add_layer_norm.hpp"

namespace seqattn {

AddLayerNorm::AddLayerNorm(std::shared_ptr<Add> add, std::shared_ptr<LayerNormalization> ln)
    : add_(std::move(add)), ln_(std::move(ln)) {
  name = ln_->name;
  sum_in_.x = {&sum_.y};
  sum_in_.mask = {&sum_.mask};
  dsum_out_ = {&dsum_};
}

Shape AddLayerNorm::output_shape(const std::vector<Shape>& in) const {
  return ln_->output_shape({add_->output_shape(in)});
}

void AddLayerNorm::forward(const LayerInputs& in, LayerOutput& out, const Context& ctx) {
  one_pass_ = in.mask_of(0) == nullptr && in.mask_of(1) == nullptr;
  if (one_pass_) {
    ln_->forward_add(*in.x[0], *in.x[1], sum_.y, out);
    sum_.mask.clear();
    return;
  }
  add_->forward(in, sum_, ctx);
  ln_->forward(sum_in_, out, ctx);
}

void AddLayerNorm::backward(const LayerInputs& in, const LayerOutput& out, const Tensor& dy,
                            const std::vector<Tensor*>& dx, const Context& ctx) {
  if (one_pass_) {
    ln_->backward_add(sum_.y, dy, dx[0] ? dx[0]->ptr() : nullptr, dx[1] ? dx[1]->ptr() : nullptr);
    return;
  }
  // As the graph runs two layers: the sum's gradient starts from zeros and accumulates.
  dsum_.resize(sum_.y.shape);
  dsum_.zero();
  ln_->backward(sum_in_, out, dy, dsum_out_, ctx);
  add_->backward(in, sum_, dsum_, dx, ctx);
}

}  // namespace seqattn
