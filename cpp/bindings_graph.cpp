// The graph in _core: training, evaluation and prediction steps with the GIL released and
// the graph's locks held (with_graph), and the key/value-cache decoder of a causal graph.
#include "bindings.hpp"

using namespace seqattn;

namespace {

// Targets: a list (one array per output) or, for a one-output model, a bare array.
std::vector<Tensor> to_float_tensors(const py::object& ys) {
  std::vector<Tensor> r;
  if (!py::isinstance<py::list>(ys) && !py::isinstance<py::tuple>(ys)) {
    r.push_back(to_float_tensor(ys, "y"));
    return r;
  }
  for (auto y : ys) r.push_back(to_float_tensor(y, "y"));
  return r;
}

py::list outputs_of(const Graph& g) {
  py::list r;
  for (std::size_t i = 0; i < g.num_outputs(); ++i) r.append(to_array(g.output(i)));
  return r;
}

// Each output's padding mask after the step ((B, T) bool, or None): per-token metrics weight
// by it, as the loss does.
py::list masks_of(const Graph& g) {
  py::list r;
  for (std::size_t i = 0; i < g.num_outputs(); ++i) r.append(mask_to_array(g.output_mask(i)));
  return r;
}

// A step's inputs, each converted by the rule of the layers that read it (check.hpp).
std::vector<Tensor> to_tensors(Graph& g, const py::list& xs) {
  std::vector<Tensor> r;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const std::string who = "Input " + std::to_string(i);
    if (static_cast<int>(i) >= g.num_inputs())
      throw std::invalid_argument("Model expects " + std::to_string(g.num_inputs()) +
                                  " input(s), received " + std::to_string(xs.size()));
    r.push_back(g.input_tensor(static_cast<int>(i), array_ref(xs[i], who).ref, {}, who));
  }
  return r;
}

// Per-sample weights must cover the batch: the losses read one per sample.
void check_weights(const std::vector<float>& w, const std::vector<Tensor>& inputs) {
  if (!w.empty() && !inputs.empty() && inputs[0].rank() > 0 &&
      static_cast<Index>(w.size()) != inputs[0].dim(0))
    throw std::invalid_argument("sample_weight must hold one weight per sample (" +
                                std::to_string(inputs[0].dim(0)) + "), received " +
                                std::to_string(w.size()));
}

// Runs `work` holding every lock of graph `g` (taken without the GIL), then `finish` with the
// GIL back but the locks still held, so results are read before another thread's step.
template <class W, class F>
auto with_graph(Graph& g, W&& work, F&& finish) {
  py::gil_scoped_release release;
  Graph::Lock lock(g);
  work();
  py::gil_scoped_acquire acquire;
  return finish();
}

}  // namespace

void seqattn::bind_graph(py::module_& m) {
  py::class_<Graph, std::shared_ptr<Graph>>(m, "Graph")
      .def(py::init<int>(), py::arg("num_inputs"))
      .def("add_node", [](Graph& g, std::shared_ptr<Layer> layer, std::vector<int> inputs, bool causal,
                          std::shared_ptr<Layer> shares) {
        CallOptions o;
        o.causal = causal;
        return g.add_node(std::move(layer), std::move(inputs), o, std::move(shares));
      }, py::arg("layer"), py::arg("inputs"), py::arg("causal") = false,
         py::arg("shares") = nullptr)
      .def("set_outputs", &Graph::set_outputs, py::arg("values"))
      .def("compile", [](Graph& g, std::vector<std::shared_ptr<Loss>> losses,
                         std::vector<double> loss_weights, std::shared_ptr<Optimizer> optimizer) {
        with_graph(g, [&] { g.compile(losses, loss_weights, optimizer); }, [] { return 0; });
      }, py::arg("losses"), py::arg("loss_weights"), py::arg("optimizer"))
      .def_readwrite("step", &Graph::step)
      .def("prepare_input", [](Graph& g, int i, const py::object& x, std::vector<Index> expected,
                               const std::string& who) {
        Tensor t = g.input_tensor(i, array_ref(x, who).ref, expected, who);
        return to_numpy(t);
      }, py::arg("index"), py::arg("x"), py::arg("expected_shape"), py::arg("who"),
         "Input `index` as the step will read it (int32 ids or float32 features), checked "
         "whole: dtype, shape (-1 = any), token-id range. The data adapter calls it once per "
         "fit/predict on the caller's arrays, so errors give positions in the caller's data.")
      .def("init_optimizer_slots", [](Graph& g) {
        if (!g.optimizer()) throw std::invalid_argument("the graph is not compiled");
        with_graph(g, [&] { g.optimizer()->init_slots(g.params()); }, [] { return 0; });
      }, "Allocates the compiled optimizer's slots for this graph's parameters (zeros).")
      .def("train_step", [](Graph& g, const py::list& xs, const py::object& ys, py::object sw,
                            bool with_outputs) {
        std::vector<Tensor> in = to_tensors(g, xs), yt = to_float_tensors(ys);
        std::vector<float> w = to_weights(sw);
        check_weights(w, in);
        double loss = 0.0;
        return with_graph(g, [&] { loss = g.train_step(in, yt, w.empty() ? nullptr : w.data()); },
                          [&] {
                            py::object outs = py::none(), masks = py::none();
                            if (with_outputs) outs = outputs_of(g), masks = masks_of(g);
                            return py::make_tuple(loss, g.last_losses(), outs, masks);
                          });
      }, py::arg("inputs"), py::arg("ys"), py::arg("sample_weight") = py::none(),
         py::arg("with_outputs") = false,
         "One training step: (total loss, each output's loss, training-mode outputs and their "
         "padding masks, or None and None).")
      // Data-parallel training (seqattn.distributed): train_step split around an allreduce.
      .def("gradient_step", [](Graph& g, const py::list& xs, const py::object& ys, py::object sw,
                               bool with_outputs, float pack_scale) {
        std::vector<Tensor> in = to_tensors(g, xs), yt = to_float_tensors(ys);
        std::vector<float> w = to_weights(sw);
        check_weights(w, in);
        double loss = 0.0;
        return with_graph(g, [&] { loss = g.gradient_step(in, yt, w.empty() ? nullptr : w.data(), pack_scale); },
                          [&] {
                            py::object outs = py::none(), masks = py::none();
                            if (with_outputs) outs = outputs_of(g), masks = masks_of(g);
                            return py::make_tuple(loss, g.last_losses(), outs, masks);
                          });
      }, py::arg("inputs"), py::arg("ys"), py::arg("sample_weight") = py::none(),
         py::arg("with_outputs") = false, py::arg("pack_scale") = 1.0f,
         "Forward, loss and backward in training mode, no update; the gradients times "
         "pack_scale are packed into gradient_buffer(). Returns what train_step returns.")
      .def("gradient_buffer", [](py::object self) {
        Graph& g = self.cast<Graph&>();
        const std::size_t n = g.num_gradient_values();
        // A view (owndata=False) kept alive by the graph; valid until the graph is rewired
        // (new nodes, outputs or compile), so callers take it afresh each step.
        return py::array_t<float>({static_cast<py::ssize_t>(n)}, {sizeof(float)},
                                  g.gradient_buffer(), self);
      }, "Every parameter gradient back to back (params order), float32 (P,): a writable "
         "view to reduce in place between gradient_step and apply_gradients.")
      .def("apply_gradients", [](Graph& g, float scale) {
        with_graph(g, [&] { g.apply_gradients(scale); }, [] { return 0; });
      }, py::arg("scale") = 1.0f,
         "Copies gradient_buffer()·scale back into the gradients, then the optimizer update "
         "(clipping, weight decay) and the step count.")
      .def_readwrite("replica", &Graph::replica,
                     "This process's index among data-parallel replicas (dropout stream).")
      .def_readwrite("replicas", &Graph::replicas, "Number of data-parallel replicas.")
      .def("test_step", [](Graph& g, const py::list& xs, const py::object& ys, py::object sw) {
        std::vector<Tensor> in = to_tensors(g, xs), yt = to_float_tensors(ys);
        std::vector<float> w = to_weights(sw);
        check_weights(w, in);
        double loss = 0.0;
        return with_graph(g, [&] { loss = g.test_step(in, yt, w.empty() ? nullptr : w.data()); },
                          [&] {
                            return py::make_tuple(loss, g.last_losses(), outputs_of(g), masks_of(g));
                          });
      }, py::arg("inputs"), py::arg("ys"), py::arg("sample_weight") = py::none(),
         "Inference-mode loss: (total loss, each output's loss, outputs, their padding masks).")
      .def("compute_gradients", [](Graph& g, const py::list& xs, const py::object& ys, bool training) {
        std::vector<Tensor> in = to_tensors(g, xs), yt = to_float_tensors(ys);
        double loss = 0.0;
        return with_graph(g, [&] { loss = g.compute_gradients(in, yt, nullptr, training); }, [&] {
          py::list grads;
          for (Param* p : g.params()) grads.append(to_array(p->grad.data(), p->shape));
          return py::make_tuple(loss, grads);
        });
      }, py::arg("inputs"), py::arg("ys"), py::arg("training") = false,
         "Total loss and dL/dparam for every weight (get_weights order), without an update.")
      .def("predict_step", [](Graph& g, const py::list& xs,
                              const std::vector<std::shared_ptr<MultiHeadAttention>>& scores_of) {
        std::vector<Tensor> in = to_tensors(g, xs);
        return with_graph(g, [&] { g.predict_step(in); }, [&]() -> py::object {
          if (scores_of.empty()) return outputs_of(g);
          py::list scores;
          for (const auto& l : scores_of) scores.append(to_array(l->attention_scores()));
          return py::make_tuple(outputs_of(g), scores);
        });
      }, py::arg("inputs"), py::arg("scores_of") = std::vector<std::shared_ptr<MultiHeadAttention>>{},
         "Inference-mode outputs; with scores_of (attention layers of this graph), "
         "(outputs, their attention probabilities) from the same step.")
      .def_readwrite("profiling", &Graph::profiling,
                     "Time every node's forward and backward, the loss and the update.")
      .def("reset_profile", &Graph::reset_profile)
      .def("profile", [](const Graph& g) {
        py::list nodes;
        const auto& times = g.node_times();
        for (std::size_t i = 0; i < times.size() && i < g.num_nodes(); ++i) {
          py::dict d;
          d["name"] = g.node_layer(i).name;
          d["kind"] = g.node_layer(i).kind();
          d["forward"] = times[i].forward;
          d["backward"] = times[i].backward;
          nodes.append(d);
        }
        py::dict r;
        r["nodes"] = nodes;
        r["loss"] = g.loss_seconds();
        r["update"] = g.update_seconds();
        return r;
      }, "Seconds per node (forward, backward), loss and update, summed since reset_profile().");

  // Generation (kv_cache.hpp): the key/value cache of a causal language model's graph.
  py::class_<IncrementalDecoder, std::shared_ptr<IncrementalDecoder>>(m, "IncrementalDecoder")
      .def(py::init<std::shared_ptr<Graph>>(), py::arg("graph"),
           "Checks that the graph is made of position-wise layers and causal self-attention "
           "(ValueError naming the first layer that is not).")
      .def_property_readonly("max_length", &IncrementalDecoder::max_length,
                             "Positions the position encodings hold (0: no limit).")
      .def_property_readonly("vocabulary", &IncrementalDecoder::vocabulary,
                             "Token ids the input embedding reads: [0, vocabulary).")
      .def("reset", [](IncrementalDecoder& d, Index batch, Index capacity) {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> own(d.mutex());
        d.reset(batch, capacity);
      }, py::arg("batch"), py::arg("capacity"), "Empties the cache: `batch` rows of up to "
         "`capacity` positions.")
      .def("step", [](IncrementalDecoder& d,
                      py::array_t<std::int32_t, py::array::c_style | py::array::forcecast> ids,
                      py::array_t<Index, py::array::c_style | py::array::forcecast> start,
                      py::array_t<float, py::array::c_style> out) {
        if (ids.ndim() != 2 || start.ndim() != 1 || start.shape(0) != ids.shape(0) ||
            out.ndim() != 3 || out.shape(0) != ids.shape(0) || out.shape(1) != ids.shape(1))
          throw std::invalid_argument("IncrementalDecoder.step: expected ids (B, n), start (B,) "
                                      "and out (B, n, K)");
        const std::int32_t* id = ids.data();
        const Index* st = start.data();
        float* o = out.mutable_data();
        const Index B = ids.shape(0), n = ids.shape(1), K = out.shape(2);
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> own(d.mutex());
        Graph::Lock lock(d.graph());
        d.step(id, B, n, st);
        const Tensor& y = d.output();
        if (y.dim(2) != K)
          throw std::invalid_argument("IncrementalDecoder.step: the output has " +
                                      std::to_string(y.dim(2)) + " values per token, `out` " +
                                      std::to_string(K));
        std::copy(y.ptr(), y.ptr() + y.size(), o);
      }, py::arg("ids"), py::arg("start"), py::arg("out"),
         "Appends ids (B, n) at positions start[b] .. start[b]+n-1 of each row and writes the "
         "outputs there into out (B, n, K) float32; the GIL is released, the graph locked.");
}
