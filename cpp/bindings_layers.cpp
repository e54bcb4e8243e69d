// The layers in _core: Layer (weights, gradients, checks under the layer's lock) and every
// layer class with its named constructor arguments; run_layer (one layer alone on arrays).
#include "bindings.hpp"

using namespace seqattn;

namespace {

// Runs `work` on `layer` under its mutex, acquired without the GIL (a thread waiting for a
// layer never holds the GIL, so a thread holding the layer can always get the GIL back);
// `work` runs with the GIL held again, so it may build Python objects.
template <class F>
auto with_layer(const Layer& layer, F&& work) {
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(layer.mutex());
  py::gil_scoped_acquire acquire;
  return work();
}

py::list get_weights(Layer& l) {
  return with_layer(l, [&] {
    py::list out;
    for (auto& p : l.params()) out.append(to_array(p.value.data(), p.shape));
    return out;
  });
}

// Weights as NumPy hands them over: numeric, finite, in the layer's shapes, all checked
// before the first one is copied in (a refused list changes nothing).
std::vector<Tensor> checked_weights(const Layer& layer, const py::handle& weights) {
  Layer& l = const_cast<Layer&>(layer);
  auto& ps = l.params();
  const std::string who = "Layer '" + l.name + "'";
  if (!py::isinstance<py::list>(weights) && !py::isinstance<py::tuple>(weights))
    throw type_error(who + ": set_weights expects a list of arrays, received " +
                     std::string(py::str(py::type::of(weights).attr("__name__"))) + ".");
  py::sequence seq = py::reinterpret_borrow<py::sequence>(weights);
  if (seq.size() != ps.size())
    throw std::invalid_argument(who + " expects " + std::to_string(ps.size()) +
                                " weight arrays, received " + std::to_string(seq.size()));
  std::vector<Tensor> values;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const std::string what = who + ": weight " + std::to_string(i) + " ('" + ps[i].name + "')";
    HeldArray h = array_ref(seq[i], what);
    values.push_back(to_features(h.ref, what));
    const Tensor& t = values.back();
    if (t.shape != ps[i].shape)
      throw std::invalid_argument(what + " must have shape " + shape_str(ps[i].shape) +
                                  ", received " + shape_str(t.shape));
    for (Index j = 0; j < t.size(); ++j)
      if (!std::isfinite(t.data[j]))
        throw std::invalid_argument(what + " holds " + number_str(t.data[j]) + " at position " +
                                    position_str(t.shape, j) + "; weights must be finite numbers.");
  }
  return values;
}

void set_weights(Layer& l, const py::handle& weights) {
  std::vector<Tensor> values = checked_weights(l, weights);
  auto& ps = l.params();
  with_layer(l, [&] {
    for (std::size_t i = 0; i < ps.size(); ++i)
      std::copy(values[i].data.begin(), values[i].data.end(), ps[i].value.begin());
    return 0;
  });
}

py::list get_grads(Layer& l) {
  return with_layer(l, [&] {
    py::list out;
    for (auto& p : l.params()) out.append(to_array(p.grad.data(), p.shape));
    return out;
  });
}

// Runs one layer alone: forward, then (when dy is given) backward with fresh zero grads.
// Eager layer calls and the tests' comparisons with the float64 reference go through here;
// inputs are converted by the layer's own rule (id_limit), so an eager call and a model
// refuse the same arrays with the same message.
py::dict run_layer(Layer& layer, const py::list& inputs, const py::list& masks, py::object dy,
                   bool training, std::uint64_t step, py::object causal, bool scores) {
  const std::string who = "Layer '" + layer.name + "'";
  std::vector<Tensor> xs;
  std::vector<bool> present;
  std::vector<std::size_t> owner;  // inputs given as the same Python object share a gradient
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    py::handle item = inputs[i];
    present.push_back(!item.is_none());
    owner.push_back(i);
    for (std::size_t j = 0; j < i; ++j)
      if (present[j] && present[i] && inputs[j].ptr() == item.ptr()) { owner[i] = j; break; }
    if (item.is_none()) { xs.emplace_back(); continue; }
    HeldArray h = array_ref(item, who);
    const Index limit = layer.id_limit(i);
    xs.push_back(limit > 0 ? to_token_ids(h.ref, who, limit) : to_features(h.ref, who));
  }
  std::vector<Mask> ms(xs.size());
  for (std::size_t i = 0; i < masks.size() && i < ms.size(); ++i)
    if (!masks[i].is_none())
      ms[i] = to_mask(masks[i], who + ": the mask of input " + std::to_string(i));
  Tensor g;
  const bool with_grad = !dy.is_none();
  if (with_grad) g = to_float_tensor(dy, "dy");
  const bool set_causal = !causal.is_none();
  const bool causal_value = set_causal && causal.cast<bool>();
  MultiHeadAttention* attention = dynamic_cast<MultiHeadAttention*>(&layer);
  if (scores && !attention) throw std::invalid_argument(who + " has no attention scores");

  return with_layer(layer, [&] {
    LayerInputs in;
    std::vector<Shape> shapes;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      in.x.push_back(present[i] ? &xs[i] : nullptr);
      in.mask.push_back(&ms[i]);
      shapes.push_back(present[i] ? xs[i].shape : Shape{});
    }
    if (set_causal) {
      CallOptions o;
      o.causal = causal_value;
      layer.apply_call_options(o);
    }
    LayerOutput out;
    std::vector<Tensor> dxs(xs.size());
    std::vector<Tensor*> dx(xs.size(), nullptr);
    {
      py::gil_scoped_release compute;
      layer.output_shape(shapes);
      layer.check_inputs(in);
      Context ctx;
      ctx.training = training;
      ctx.step = step;
      layer.forward(in, out, ctx);
      if (with_grad) {
        if (g.shape != out.y.shape)
          throw std::invalid_argument("dy must have the output's shape " + shape_str(out.y.shape));
        for (auto& p : layer.params()) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
        for (std::size_t i = 0; i < xs.size(); ++i) {
          if (!present[i] || xs[i].dtype != DType::Float32) continue;
          if (owner[i] != i) {
            in.x[i] = in.x[owner[i]];
            dx[i] = dx[owner[i]];
            continue;
          }
          dxs[i].resize(xs[i].shape);
          dxs[i].zero();
          dx[i] = &dxs[i];
        }
        layer.backward(in, out, g, dx, ctx);
      }
    }
    py::dict r;
    r["y"] = to_array(out.y);
    r["mask"] = mask_to_array(out.mask);
    if (scores) r["scores"] = to_array(attention->attention_scores());
    if (with_grad) {
      py::list dxl;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        bool own = dx[i] == &dxs[i];
        dxl.append(own ? py::object(to_array(dxs[i])) : py::object(py::none()));
      }
      r["dx"] = dxl;
      py::list grads;
      for (auto& p : layer.params()) grads.append(to_array(p.grad.data(), p.shape));
      r["grads"] = grads;
    }
    return r;
  });
}

}  // namespace

void seqattn::bind_layers(py::module_& m) {
  py::class_<Layer, std::shared_ptr<Layer>>(m, "Layer")
      .def_property_readonly("kind", &Layer::kind)
      .def_readwrite("name", &Layer::name)
      .def_readwrite("seed", &Layer::seed)
      .def("get_weights", &get_weights)
      .def("set_weights", &set_weights)
      .def("check_weights", [](const Layer& l, const py::handle& w) { checked_weights(l, w); },
           "Raises as set_weights would, changing nothing (models check every layer first).")
      .def("get_grads", &get_grads)
      .def("param_names", [](Layer& l) {
        std::vector<std::string> r;
        for (auto& p : l.params()) r.push_back(p.name);
        return r;
      })
      .def("output_shape", &Layer::output_shape)
      .def("set_regularization", [](Layer& l, std::size_t i, float l1, float l2) {
        auto& ps = l.params();
        if (i >= ps.size())
          throw std::out_of_range(l.name + ": no weight " + std::to_string(i) + " (it has " +
                                  std::to_string(ps.size()) + ")");
        ps[i].l1 = l1;
        ps[i].l2 = l2;
      }, py::arg("index"), py::arg("l1"), py::arg("l2"),
         "Keras weight regularizer of weight `index`: the training loss gains "
         "l1*sum|w| + l2*sum(w^2).")
      .def("get_regularization", [](Layer& l) {
        std::vector<std::pair<float, float>> r;
        for (auto& p : l.params()) r.emplace_back(p.l1, p.l2);
        return r;
      });

  py::class_<Embedding, Layer, std::shared_ptr<Embedding>>(m, "Embedding")
      .def(py::init<Index, Index, bool>(), py::arg("input_dim"), py::arg("output_dim"), py::arg("mask_zero"));
  py::class_<TokenAndPositionEmbedding, Layer, std::shared_ptr<TokenAndPositionEmbedding>>(m, "TokenAndPositionEmbedding")
      .def(py::init<Index, Index, Index, bool>(), py::arg("vocabulary_size"), py::arg("sequence_length"),
           py::arg("embedding_dim"), py::arg("mask_zero"));
  py::class_<Dense, Layer, std::shared_ptr<Dense>>(m, "Dense")
      .def(py::init<Index, Index, const std::string&, bool>(), py::arg("input_dim"), py::arg("units"),
           py::arg("activation"), py::arg("use_bias"));
  py::class_<GlobalAveragePooling1D, Layer, std::shared_ptr<GlobalAveragePooling1D>>(m, "GlobalAveragePooling1D")
      .def(py::init<>());
  py::class_<GlobalMaxPooling1D, Layer, std::shared_ptr<GlobalMaxPooling1D>>(m, "GlobalMaxPooling1D")
      .def(py::init<>());
  py::class_<MultiHeadAttention, Layer, std::shared_ptr<MultiHeadAttention>>(m, "MultiHeadAttention")
      .def(py::init<Index, Index, Index, Index, Index, Index, float, bool, Index>(), py::arg("query_dim"),
           py::arg("value_dim_in"), py::arg("key_dim_in"), py::arg("num_heads"), py::arg("key_dim"),
           py::arg("value_dim"), py::arg("dropout"), py::arg("use_bias"), py::arg("output_dim"))
      .def_readwrite("use_causal_mask", &MultiHeadAttention::use_causal_mask)
      .def_readwrite("use_reference_kernel", &MultiHeadAttention::use_reference_kernel)
      .def("attention_scores", [](MultiHeadAttention& l) {
        return with_layer(l, [&] { return to_array(l.attention_scores()); });
      })
      .def("cache_bytes", [](MultiHeadAttention& l) {
        return with_layer(l, [&] { return l.cache_bytes(); });
      });
  py::class_<LayerNormalization, Layer, std::shared_ptr<LayerNormalization>>(m, "LayerNormalization")
      .def(py::init<Index, float, bool, bool>(), py::arg("channels"), py::arg("epsilon"),
           py::arg("center"), py::arg("scale"));
  py::class_<Dropout, Layer, std::shared_ptr<Dropout>>(m, "Dropout")
      .def(py::init<float>(), py::arg("rate"));
  py::class_<Merge, Layer, std::shared_ptr<Merge>>(m, "Merge")
      .def(py::init<const std::string&>(), py::arg("op"))
      .def_property_readonly("op", &Merge::op_name);
  py::class_<Add, Merge, std::shared_ptr<Add>>(m, "Add")
      .def(py::init<>());
  py::class_<Concatenate, Layer, std::shared_ptr<Concatenate>>(m, "Concatenate")
      .def(py::init<int>(), py::arg("axis"))
      .def_property_readonly("axis", &Concatenate::axis);
  py::class_<Reshape, Layer, std::shared_ptr<Reshape>>(m, "Reshape")
      .def(py::init<Shape>(), py::arg("target_shape"))
      .def_property_readonly("target_shape", &Reshape::target_shape);
  py::class_<Permute, Layer, std::shared_ptr<Permute>>(m, "Permute")
      .def(py::init<std::vector<int>>(), py::arg("perm"))
      .def_property_readonly("perm", &Permute::perm);
  py::class_<RepeatVector, Layer, std::shared_ptr<RepeatVector>>(m, "RepeatVector")
      .def(py::init<Index>(), py::arg("n"))
      .def_property_readonly("n", &RepeatVector::n);
  py::class_<PositionEmbedding, Layer, std::shared_ptr<PositionEmbedding>>(m, "PositionEmbedding")
      .def(py::init<Index, Index>(), py::arg("sequence_length"), py::arg("channels"));
  py::class_<SinePositionEncoding, Layer, std::shared_ptr<SinePositionEncoding>>(m, "SinePositionEncoding")
      .def(py::init<double>(), py::arg("max_wavelength"));
  py::class_<ActivationLayer, Layer, std::shared_ptr<ActivationLayer>>(m, "Activation")
      .def(py::init<const std::string&>(), py::arg("activation"))
      .def_property_readonly("activation", &ActivationLayer::activation_name);

  py::class_<Flatten, Layer, std::shared_ptr<Flatten>>(m, "Flatten")
      .def(py::init<>());

  py::class_<Conv1D, Layer, std::shared_ptr<Conv1D>>(m, "Conv1D")
      .def(py::init<Index, Index, Index, Index, const std::string&, Index, const std::string&, bool>(),
           py::arg("input_dim"), py::arg("filters"), py::arg("kernel_size"), py::arg("strides"),
           py::arg("padding"), py::arg("dilation_rate"), py::arg("activation"), py::arg("use_bias"));
  py::class_<MaxPooling1D, Layer, std::shared_ptr<MaxPooling1D>>(m, "MaxPooling1D")
      .def(py::init<Index, Index, const std::string&>(), py::arg("pool_size"), py::arg("strides"),
           py::arg("padding"));
  py::class_<AveragePooling1D, Layer, std::shared_ptr<AveragePooling1D>>(m, "AveragePooling1D")
      .def(py::init<Index, Index, const std::string&>(), py::arg("pool_size"), py::arg("strides"),
           py::arg("padding"));

  py::class_<BinaryOp, Layer, std::shared_ptr<BinaryOp>>(m, "BinaryOp")
      .def(py::init<const std::string&>(), py::arg("op"))
      .def_property_readonly("op", &BinaryOp::op_name);

  py::class_<UnaryOp, Layer, std::shared_ptr<UnaryOp>>(m, "UnaryOp")
      .def(py::init<const std::string&, double, double>(), py::arg("op"), py::arg("scale") = 1.0,
           py::arg("shift") = 0.0)
      .def_property_readonly("op", &UnaryOp::op_name);

  py::class_<Where, Layer, std::shared_ptr<Where>>(m, "Where").def(py::init<>());

  py::class_<MatMul, Layer, std::shared_ptr<MatMul>>(m, "MatMul").def(py::init<>());

  py::class_<Reduce, Layer, std::shared_ptr<Reduce>>(m, "Reduce")
      .def(py::init<const std::string&, int, bool>(), py::arg("op"), py::arg("axis"),
           py::arg("keepdims"))
      .def_property_readonly("op", &Reduce::op_name);

  // value: int32 ids (any integer array, checked to fit int32) or float32 features.
  py::class_<Constant, Layer, std::shared_ptr<Constant>>(m, "Constant")
      .def(py::init([](const py::array& value) {
             HeldArray a = array_ref(value, "Constant");
             if (a.ref.kind == 'i' || a.ref.kind == 'u')
               return std::make_shared<Constant>(
                   to_token_ids(a.ref, "Constant", Index(1) << 31));
             return std::make_shared<Constant>(to_features(a.ref, "Constant"));
           }),
           py::arg("value"))
      .def_property_readonly("value", [](const Constant& c) { return to_numpy(c.value()); });

  py::class_<AttentionScores, Layer, std::shared_ptr<AttentionScores>>(m, "AttentionScores")
      .def(py::init<std::shared_ptr<MultiHeadAttention>>(), py::arg("attention"));

  m.def("run_layer", &run_layer, py::arg("layer"), py::arg("inputs"), py::arg("masks") = py::list(),
        py::arg("dy") = py::none(), py::arg("training") = false, py::arg("step") = 0,
        py::arg("causal") = py::none(), py::arg("scores") = false,
        "One layer alone on arrays (eager calls, tests): forward, then backward when dy is "
        "given. causal=None leaves the layer's use_causal_mask as it is.");
}
