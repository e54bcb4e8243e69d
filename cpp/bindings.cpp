// The only file that includes pybind11: converts arrays at the boundary, releases the GIL
// around the work, and turns std::invalid_argument into ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Core>

#include "activation_layer.hpp"
#include "attention.hpp"
#include "attention_scores.hpp"
#include "dense.hpp"
#include "dropout.hpp"
#include "embedding.hpp"
#include "flatten.hpp"
#include "gemm.hpp"
#include "graph.hpp"
#include "layer_norm.hpp"
#include "losses.hpp"
#include "merge.hpp"
#include "optimizers.hpp"
#include "parallel.hpp"
#include "pooling.hpp"
#include "position.hpp"

namespace py = pybind11;
using namespace seqattn;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IdArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

Shape shape_of(const py::array& a) {
  Shape s;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s.push_back(a.shape(i));
  return s;
}

Tensor to_float_tensor(const py::handle& a) {
  FloatArray f = FloatArray::ensure(a);
  if (!f) throw py::type_error("expected a numeric array");
  Tensor t;
  t.resize(shape_of(f));
  std::copy(f.data(), f.data() + t.size(), t.data.begin());
  return t;
}

// Integer arrays become id tensors (the Python layer checked they fit in int32); anything
// else becomes float32.
Tensor to_tensor(const py::array& a) {
  const char kind = a.dtype().kind();
  if (kind != 'i' && kind != 'u') return to_float_tensor(a);
  IdArray ids = IdArray::ensure(a);
  Tensor t;
  t.dtype = DType::Int32;
  t.resize(shape_of(ids));
  std::copy(ids.data(), ids.data() + t.size(), t.ids.begin());
  return t;
}

// Optional per-sample weights; empty when None.
std::vector<float> to_weights(const py::object& sw) {
  if (sw.is_none()) return {};
  FloatArray a = FloatArray::ensure(sw);
  return std::vector<float>(a.data(), a.data() + a.size());
}

Mask to_mask(const py::array& a) {
  auto m = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!m || m.ndim() != 2) throw std::invalid_argument("a mask must have shape (B, T)");
  Mask r;
  r.B = m.shape(0);
  r.T = m.shape(1);
  r.data.assign(m.data(), m.data() + m.size());
  return r;
}

py::array_t<float> to_array(const float* data, const Shape& shape) {
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  py::array_t<float> a(s);
  std::copy(data, data + shape_size(shape), a.mutable_data());
  return a;
}
py::array_t<float> to_array(const Tensor& t) { return to_array(t.ptr(), t.shape); }

py::object mask_to_array(const Mask& m) {
  if (m.empty()) return py::none();
  py::array_t<bool> a({static_cast<py::ssize_t>(m.B), static_cast<py::ssize_t>(m.T)});
  for (std::size_t i = 0; i < m.data.size(); ++i) a.mutable_data()[i] = m.data[i] != 0;
  return a;
}

py::list get_weights(Layer& l) {
  py::list out;
  for (auto& p : l.params()) out.append(to_array(p.value.data(), p.shape));
  return out;
}

void set_weights(Layer& l, const py::list& weights) {
  auto& ps = l.params();
  if (weights.size() != ps.size())
    throw std::invalid_argument("Layer '" + l.name + "' expects " + std::to_string(ps.size()) +
                                " weight arrays, received " + std::to_string(weights.size()));
  for (std::size_t i = 0; i < ps.size(); ++i) {
    FloatArray a = FloatArray::ensure(weights[i]);
    if (!a) throw py::type_error("Layer '" + l.name + "': weight " + std::to_string(i) + " is not numeric");
    if (shape_of(a) != ps[i].shape)
      throw std::invalid_argument("Layer '" + l.name + "': weight " + std::to_string(i) + " ('" +
                                  ps[i].name + "') must have shape " + shape_str(ps[i].shape) +
                                  ", received " + shape_str(shape_of(a)));
  }
  for (std::size_t i = 0; i < ps.size(); ++i) {
    FloatArray a = FloatArray::ensure(weights[i]);
    std::copy(a.data(), a.data() + ps[i].size(), ps[i].value.begin());
  }
}

py::list get_grads(Layer& l) {
  py::list out;
  for (auto& p : l.params()) out.append(to_array(p.grad.data(), p.shape));
  return out;
}

// Runs one layer alone: forward, then (when dy is given) backward with fresh zero grads.
// The test harness for comparing every layer with the float64 reference.
py::dict run_layer(Layer& layer, const py::list& inputs, const py::list& masks, py::object dy,
                   bool training, std::uint64_t step) {
  std::vector<Tensor> xs;
  std::vector<bool> present;
  for (auto item : inputs) {
    present.push_back(!item.is_none());
    xs.push_back(item.is_none() ? Tensor{} : to_tensor(py::reinterpret_borrow<py::array>(item)));
  }
  std::vector<Mask> ms(xs.size());
  for (std::size_t i = 0; i < masks.size() && i < ms.size(); ++i)
    if (!masks[i].is_none()) ms[i] = to_mask(py::reinterpret_borrow<py::array>(masks[i]));
  LayerInputs in;
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    in.x.push_back(present[i] ? &xs[i] : nullptr);
    in.mask.push_back(&ms[i]);
    shapes.push_back(present[i] ? xs[i].shape : Shape{});
  }
  layer.output_shape(shapes);
  layer.check_values(in);
  Context ctx;
  ctx.training = training;
  ctx.step = step;
  LayerOutput out;
  layer.forward(in, out, ctx);
  py::dict r;
  r["y"] = to_array(out.y);
  r["mask"] = mask_to_array(out.mask);
  if (!dy.is_none()) {
    Tensor g = to_tensor(dy.cast<py::array>());
    if (g.shape != out.y.shape)
      throw std::invalid_argument("dy must have the output's shape " + shape_str(out.y.shape));
    for (auto& p : layer.params()) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
    std::vector<Tensor> dxs(xs.size());
    std::vector<Tensor*> dx(xs.size(), nullptr);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      if (!present[i] || xs[i].dtype != DType::Float32) continue;
      // Inputs given as the same Python object share one gradient (self-attention).
      std::size_t owner = i;
      for (std::size_t j = 0; j < i; ++j)
        if (present[j] && inputs[j].is(inputs[i])) owner = j;
      if (owner != i) {
        in.x[i] = in.x[owner];
        dx[i] = dx[owner];
        continue;
      }
      dxs[i].resize(xs[i].shape);
      dxs[i].zero();
      dx[i] = &dxs[i];
    }
    layer.backward(in, out, g, dx, ctx);
    py::list dxl;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      bool own = dx[i] == &dxs[i];
      dxl.append(own ? py::object(to_array(dxs[i])) : py::object(py::none()));
    }
    r["dx"] = dxl;
    r["grads"] = get_grads(layer);
  }
  return r;
}

// Targets: a list (one array per output) or, for a one-output model, a bare array.
std::vector<Tensor> to_float_tensors(const py::object& ys) {
  std::vector<Tensor> r;
  if (!py::isinstance<py::list>(ys) && !py::isinstance<py::tuple>(ys)) {
    r.push_back(to_float_tensor(ys));
    return r;
  }
  for (auto y : ys) r.push_back(to_float_tensor(y));
  return r;
}

py::list outputs_of(const Graph& g) {
  py::list r;
  for (std::size_t i = 0; i < g.num_outputs(); ++i) r.append(to_array(g.output(i)));
  return r;
}

std::vector<Tensor> to_tensors(const py::list& xs) {
  std::vector<Tensor> r;
  for (auto x : xs) r.push_back(to_tensor(py::reinterpret_borrow<py::array>(x)));
  return r;
}

std::string simd_in_use() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "seqattn C++ core: layers (forward and backward), losses, optimizers, graph execution";

  // std::invalid_argument -> ValueError is pybind11's default translation.
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw std::invalid_argument("set_num_threads: expected a positive integer, received " + std::to_string(n));
    set_num_threads(n);
  });
  m.def("get_num_threads", &num_threads);
  m.def("build_info", []() {
    py::dict d;
    d["version"] = SEQATTN_VERSION;
    d["compiler"] = SEQATTN_COMPILER;
    d["flags"] = SEQATTN_FLAGS;
    d["build_type"] = SEQATTN_BUILD_TYPE;
    d["eigen"] = SEQATTN_EIGEN;
    d["simd"] = simd_in_use();
    d["gemm_kernel"] = gemm_kernel_info();
    d["openmp"] = openmp_enabled();
    d["threads"] = num_threads();
    return d;
  });

  // Kernel entry points for the agreement tests (tests/test_gemm.py), not a public API.
  m.def("_gemm", [](const FloatArray& a, const FloatArray& b, py::array c_out, bool accumulate,
                    py::object bias, bool transpose_a, bool transpose_b, bool reference, bool relu) {
    // c (m, n) = / += op(a) · op(b) [+ bias]; op(x) = xᵀ when transpose_x. c is written in place.
    if (!py::isinstance<py::array_t<float>>(c_out) || !(c_out.flags() & py::array::c_style) ||
        !c_out.writeable())
      throw std::invalid_argument("_gemm: c must be a writable C-contiguous float32 array");
    auto c = py::reinterpret_borrow<py::array_t<float>>(c_out);
    if (a.ndim() != 2 || b.ndim() != 2 || c.ndim() != 2)
      throw std::invalid_argument("_gemm: expected 2-D a, b and c");
    const Index m = transpose_a ? a.shape(1) : a.shape(0), k = transpose_a ? a.shape(0) : a.shape(1);
    const Index kb = transpose_b ? b.shape(1) : b.shape(0), n = transpose_b ? b.shape(0) : b.shape(1);
    if (kb != k || c.shape(0) != m || c.shape(1) != n)
      throw std::invalid_argument("_gemm: shapes do not chain");
    std::vector<float> bv;
    if (!bias.is_none()) {
      FloatArray ba = FloatArray::ensure(bias);
      if (!ba || ba.size() != n) throw std::invalid_argument("_gemm: bias must have n entries");
      bv.assign(ba.data(), ba.data() + n);
    }
    const MatView A = transpose_a ? MatView{a.data(), 1, m} : MatView{a.data(), k, 1};
    const MatView B = transpose_b ? MatView{b.data(), 1, k} : MatView{b.data(), n, 1};
    float* C = c.mutable_data();
    const float* bp = bv.empty() ? nullptr : bv.data();
    py::gil_scoped_release release;
    if (reference) gemm_reference(m, n, k, A, B, C, n, accumulate, bp, relu);
    else gemm(m, n, k, A, B, C, n, accumulate, bp, relu);
  }, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("accumulate"), py::arg("bias"),
     py::arg("transpose_a"), py::arg("transpose_b"), py::arg("reference"), py::arg("relu") = false);

  py::class_<Layer, std::shared_ptr<Layer>>(m, "Layer")
      .def_property_readonly("kind", &Layer::kind)
      .def_readwrite("name", &Layer::name)
      .def_readwrite("seed", &Layer::seed)
      .def("get_weights", &get_weights)
      .def("set_weights", &set_weights)
      .def("get_grads", &get_grads)
      .def("param_names", [](Layer& l) {
        std::vector<std::string> r;
        for (auto& p : l.params()) r.push_back(p.name);
        return r;
      })
      .def("output_shape", &Layer::output_shape);

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
      .def("attention_scores", [](MultiHeadAttention& l) { return to_array(l.attention_scores()); })
      .def("cache_bytes", &MultiHeadAttention::cache_bytes);
  py::class_<LayerNormalization, Layer, std::shared_ptr<LayerNormalization>>(m, "LayerNormalization")
      .def(py::init<Index, float, bool, bool>(), py::arg("channels"), py::arg("epsilon"),
           py::arg("center"), py::arg("scale"));
  py::class_<Dropout, Layer, std::shared_ptr<Dropout>>(m, "Dropout")
      .def(py::init<float>(), py::arg("rate"));
  py::class_<Add, Layer, std::shared_ptr<Add>>(m, "Add")
      .def(py::init<>());
  py::class_<PositionEmbedding, Layer, std::shared_ptr<PositionEmbedding>>(m, "PositionEmbedding")
      .def(py::init<Index, Index>(), py::arg("sequence_length"), py::arg("channels"));
  py::class_<SinePositionEncoding, Layer, std::shared_ptr<SinePositionEncoding>>(m, "SinePositionEncoding")
      .def(py::init<double>(), py::arg("max_wavelength"));
  py::class_<ActivationLayer, Layer, std::shared_ptr<ActivationLayer>>(m, "Activation")
      .def(py::init<const std::string&>(), py::arg("activation"))
      .def_property_readonly("activation", &ActivationLayer::activation_name);

  py::class_<Flatten, Layer, std::shared_ptr<Flatten>>(m, "Flatten")
      .def(py::init<>());

  py::class_<AttentionScores, Layer, std::shared_ptr<AttentionScores>>(m, "AttentionScores")
      .def(py::init<std::shared_ptr<MultiHeadAttention>>(), py::arg("attention"));

  m.def("run_layer", &run_layer, py::arg("layer"), py::arg("inputs"), py::arg("masks") = py::list(),
        py::arg("dy") = py::none(), py::arg("training") = false, py::arg("step") = 0);

  py::class_<Loss, std::shared_ptr<Loss>>(m, "Loss")
      .def_property_readonly("name", &Loss::name)
      .def_readonly("from_logits", &Loss::from_logits)
      .def("__call__", [](const Loss& l, const py::array& y_true, const py::array& y_pred, py::object sw) {
        Tensor yt = to_float_tensor(y_true), yp = to_float_tensor(y_pred);
        l.check(yp, yt);
        Tensor g;
        std::vector<float> w = to_weights(sw);
        double v = l.forward_backward(yp, yt, w.empty() ? nullptr : w.data(), &g, l.from_logits);
        return py::make_tuple(v, to_array(g));
      }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none());
  py::class_<SparseCategoricalCrossentropy, Loss, std::shared_ptr<SparseCategoricalCrossentropy>>(m, "SparseCategoricalCrossentropy")
      .def(py::init<bool>(), py::arg("from_logits"));
  py::class_<BinaryCrossentropy, Loss, std::shared_ptr<BinaryCrossentropy>>(m, "BinaryCrossentropy")
      .def(py::init<bool>(), py::arg("from_logits"));

  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def_property_readonly("name", &Optimizer::name)
      .def_readwrite("learning_rate", &Optimizer::learning_rate)
      .def_readwrite("clipnorm", &Optimizer::clipnorm)
      .def_readwrite("iterations", &Optimizer::iterations)
      .def("apply_to", [](Optimizer& o, const std::vector<std::shared_ptr<Layer>>& layers) {
        std::vector<Param*> ps;
        for (auto& l : layers)
          for (auto& p : l->params()) ps.push_back(&p);
        py::gil_scoped_release release;
        o.apply(ps);
      }, "One update of the given layers' params from their current grads (tests use it).")
      .def("get_slots", [](Optimizer& o) {
        py::list out;
        for (auto* s : o.slots()) out.append(to_array(s->data(), {static_cast<Index>(s->size())}));
        return out;
      })
      .def("set_slots", [](Optimizer& o, const py::list& values) {
        std::vector<std::vector<float>*> slots = o.slots();
        if (values.size() != slots.size())
          throw std::invalid_argument("the optimizer has " + std::to_string(slots.size()) +
                                      " slot arrays; received " + std::to_string(values.size()));
        for (std::size_t i = 0; i < slots.size(); ++i) {
          FloatArray a = FloatArray::ensure(values[i]);
          if (!a || static_cast<std::size_t>(a.size()) != slots[i]->size())
            throw std::invalid_argument("optimizer slot " + std::to_string(i) + " holds " +
                                        std::to_string(slots[i]->size()) + " values; received " +
                                        (a ? std::to_string(a.size()) : std::string("no array")));
          std::copy(a.data(), a.data() + a.size(), slots[i]->begin());
        }
      }, "Copies saved slot values into the (already allocated) slots, in get_slots order.");
  py::class_<SGD, Optimizer, std::shared_ptr<SGD>>(m, "SGD")
      .def(py::init<double, double, bool, double>(), py::arg("learning_rate"), py::arg("momentum"),
           py::arg("nesterov"), py::arg("clipnorm"));
  py::class_<Adam, Optimizer, std::shared_ptr<Adam>>(m, "Adam")
      .def(py::init<double, double, double, double, double, double>(), py::arg("learning_rate"),
           py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("weight_decay"),
           py::arg("clipnorm"));

  py::class_<Graph, std::shared_ptr<Graph>>(m, "Graph")
      .def(py::init<int>(), py::arg("num_inputs"))
      .def("add_node", &Graph::add_node, py::arg("layer"), py::arg("inputs"))
      .def("set_outputs", &Graph::set_outputs, py::arg("values"))
      .def("compile", &Graph::compile, py::arg("losses"), py::arg("loss_weights"),
           py::arg("optimizer"))
      .def_readwrite("step", &Graph::step)
      .def("init_optimizer_slots", [](Graph& g) {
        if (!g.optimizer()) throw std::invalid_argument("the graph is not compiled");
        g.optimizer()->init_slots(g.params());
      }, "Allocates the compiled optimizer's slots for this graph's parameters (zeros).")
      .def("last_losses", &Graph::last_losses, "Each output's loss in the last step.")
      .def("train_step", [](Graph& g, const py::list& xs, const py::object& ys, py::object sw) {
        std::vector<Tensor> in = to_tensors(xs), yt = to_float_tensors(ys);
        std::vector<float> w = to_weights(sw);
        py::gil_scoped_release release;
        return g.train_step(in, yt, w.empty() ? nullptr : w.data());
      }, py::arg("inputs"), py::arg("ys"), py::arg("sample_weight") = py::none())
      .def("test_step", [](Graph& g, const py::list& xs, const py::object& ys, py::object sw) {
        std::vector<Tensor> in = to_tensors(xs), yt = to_float_tensors(ys);
        std::vector<float> w = to_weights(sw);
        double loss;
        {
          py::gil_scoped_release release;
          loss = g.test_step(in, yt, w.empty() ? nullptr : w.data());
        }
        return py::make_tuple(loss, outputs_of(g));
      }, py::arg("inputs"), py::arg("ys"), py::arg("sample_weight") = py::none())
      .def("compute_gradients", [](Graph& g, const py::list& xs, const py::object& ys, bool training) {
        std::vector<Tensor> in = to_tensors(xs), yt = to_float_tensors(ys);
        double loss;
        {
          py::gil_scoped_release release;
          loss = g.compute_gradients(in, yt, nullptr, training);
        }
        py::list grads;
        for (Param* p : g.params()) grads.append(to_array(p->grad.data(), p->shape));
        return py::make_tuple(loss, grads);
      }, py::arg("inputs"), py::arg("ys"), py::arg("training") = false,
         "Total loss and dL/dparam for every weight (get_weights order), without an update.")
      .def("predict_step", [](Graph& g, const py::list& xs) {
        std::vector<Tensor> in = to_tensors(xs);
        {
          py::gil_scoped_release release;
          g.predict_step(in);
        }
        return outputs_of(g);
      })
      .def("outputs", &outputs_of,
           "The outputs of the last step (training-mode outputs after train_step).")
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
}
