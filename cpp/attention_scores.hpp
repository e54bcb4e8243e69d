// AttentionScores: exposes a MultiHeadAttention call's (B, H, T, S) probabilities (before
// dropout) as a graph value, so a functional model can output them. Its input is the attention
// layer's output, which orders it after that layer in the graph. No gradient flows through it:
// the Python model refuses a loss on such an output.
#pragma once
#include <memory>

#include "attention.hpp"

namespace seqattn {

class AttentionScores : public Layer {
 public:
  explicit AttentionScores(std::shared_ptr<MultiHeadAttention> attention)
      : attention_(std::move(attention)) {}
  std::string kind() const override { return "AttentionScores"; }
  Shape output_shape(const std::vector<Shape>& in) const override { return in.at(0); }
  void forward(const LayerInputs&, LayerOutput& out, const Context&) override {
    out.y = attention_->attention_scores();  // copy: the next forward overwrites the cache
    out.mask.clear();
  }
  void backward(const LayerInputs&, const LayerOutput&, const Tensor&,
                const std::vector<Tensor*>&, const Context&) override {}

 private:
  std::shared_ptr<MultiHeadAttention> attention_;
};

}  // namespace seqattn
