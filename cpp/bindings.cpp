// The Python module _core: every class and function Python calls, the GIL released around
// the work and the locks taken without it. NumPy arrays become tensors in py_arrays.cpp;
// std::invalid_argument is ValueError, check.hpp's type_error TypeError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Core>

#include <cmath>

#include "activation_layer.hpp"
#include "check.hpp"
#include "conv1d.hpp"
#include "attention.hpp"
#include "attention_scores.hpp"
#include "dense.hpp"
#include "dropout.hpp"
#include "elementwise.hpp"
#include "embedding.hpp"
#include "flatten.hpp"
#include "gemm.hpp"
#include "graph.hpp"
#include "kv_cache.hpp"
#include "layer_norm.hpp"
#include "losses.hpp"
#include "matmul.hpp"
#include "merge.hpp"
#include "optimizers.hpp"
#include "parallel.hpp"
#include "pooling.hpp"
#include "pooling1d.hpp"
#include "reduce.hpp"
#include "reshape.hpp"
#include "position.hpp"
#include "py_arrays.hpp"

namespace py = pybind11;
using namespace seqattn;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

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

// A loss's (y_true, y_pred) from the caller's arrays, checked as a model's targets are.
std::pair<Tensor, Tensor> loss_arrays(const Loss& l, const py::object& y_true,
                                      const py::object& y_pred) {
  Tensor yt = to_float_tensor(y_true, l.name() + ": y_true");
  Tensor yp = to_float_tensor(y_pred, l.name() + ": y_pred");
  if (yp.rank() < 1 || yp.size() == 0)
    throw std::invalid_argument(l.name() + ": y_pred must hold at least one prediction "
                                "(shape (B, K) or (B,)), received shape " + shape_str(yp.shape));
  l.check(yp.shape, yt, "");
  return {std::move(yt), std::move(yp)};
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

std::string simd_in_use() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "seqattn C++ core: layers (forward and backward), losses, optimizers, graph execution";

  // std::invalid_argument -> ValueError is pybind11's default translation; check.hpp's
  // type_error (a wrong kind of array) is TypeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const type_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
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

  py::class_<Loss, std::shared_ptr<Loss>> loss_class(m, "Loss");
  loss_class
      .def_property_readonly("name", &Loss::name)
      .def_readonly("from_logits", &Loss::from_logits)
      .def("__call__", [](const Loss& l, const py::object& y_true, const py::object& y_pred, py::object sw) {
        auto [yt, yp] = loss_arrays(l, y_true, y_pred);
        Tensor g;
        std::vector<float> w = to_weights(sw);
        for (std::size_t i = 0; i < w.size(); ++i)
          if (!(w[i] >= 0.0f) || !std::isfinite(w[i]))  // as fit refuses them
            throw std::invalid_argument(l.name() + ": sample_weight must hold finite "
                                        "non-negative numbers; received " + number_str(w[i]) +
                                        " at index " + std::to_string(i) + ".");
        if (!w.empty() && static_cast<Index>(w.size()) != yp.dim(0))
          throw std::invalid_argument(l.name() + ": sample_weight must hold one weight per "
                                      "sample (" + std::to_string(yp.dim(0)) + "), received " +
                                      std::to_string(w.size()));
        double v = l.forward_backward(yp, yt, w.empty() ? nullptr : w.data(), yp.dim(0),
                                      nullptr, &g, l.from_logits);
        return py::make_tuple(v, to_array(g));
      }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none());
  loss_class.def("sample_losses", [](const Loss& l, const py::object& y_true, const py::object& y_pred) {
        auto [yt, yp] = loss_arrays(l, y_true, y_pred);
        return to_array(l.sample_losses(yp, yt, l.from_logits));
      }, py::arg("y_true"), py::arg("y_pred"),
      "Keras's loss functions: one loss per sample (pred.shape[:-1]; (B,) for 1-D predictions).");
  loss_class.def("prepare_targets", [](const Loss& l, const py::object& y, Shape pred_shape,
                                       const std::string& who) {
        // The data adapter's targets: numeric, one per prediction, labels in range, checked
        // whole (positions in the caller's array), returned as float32 for the steps.
        const std::string what = "`y` for " + who;
        HeldArray h = array_ref(y, what);
        if (h.ref.shape.empty() || pred_shape.empty() || h.ref.shape[0] != pred_shape[0])
          throw std::invalid_argument(
              "`x` and `y` must have the same number of samples; received " +
              std::to_string(pred_shape.empty() ? 0 : pred_shape[0]) + " inputs and y of shape " +
              shape_str(h.ref.shape) + ".");
        Tensor t = to_features(h.ref, what);
        l.check(pred_shape, t, who);
        return to_array(t);
      }, py::arg("y"), py::arg("pred_shape"), py::arg("who"));
  py::class_<SparseCategoricalCrossentropy, Loss, std::shared_ptr<SparseCategoricalCrossentropy>>(m, "SparseCategoricalCrossentropy")
      .def(py::init<bool>(), py::arg("from_logits"));
  py::class_<BinaryCrossentropy, Loss, std::shared_ptr<BinaryCrossentropy>>(m, "BinaryCrossentropy")
      .def(py::init<bool, double>(), py::arg("from_logits"), py::arg("label_smoothing") = 0.0)
      .def_readonly("label_smoothing", &BinaryCrossentropy::label_smoothing);
  py::class_<CategoricalCrossentropy, Loss, std::shared_ptr<CategoricalCrossentropy>>(m, "CategoricalCrossentropy")
      .def(py::init<bool, double>(), py::arg("from_logits"), py::arg("label_smoothing") = 0.0)
      .def_readonly("label_smoothing", &CategoricalCrossentropy::label_smoothing);
  py::class_<MeanSquaredError, Loss, std::shared_ptr<MeanSquaredError>>(m, "MeanSquaredError")
      .def(py::init<>());
  py::class_<MeanAbsoluteError, Loss, std::shared_ptr<MeanAbsoluteError>>(m, "MeanAbsoluteError")
      .def(py::init<>());
  py::class_<Huber, Loss, std::shared_ptr<Huber>>(m, "Huber")
      .def(py::init<double>(), py::arg("delta"))
      .def_readonly("delta", &Huber::delta);

  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def_property_readonly("name", &Optimizer::name)
      .def_readwrite("learning_rate", &Optimizer::learning_rate)
      .def_readwrite("clipnorm", &Optimizer::clipnorm)
      .def_readwrite("clipvalue", &Optimizer::clipvalue)
      .def_readwrite("weight_decay", &Optimizer::weight_decay)
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
      .def(py::init<double, double, double, double, double>(), py::arg("learning_rate"),
           py::arg("beta_1"), py::arg("beta_2"), py::arg("epsilon"), py::arg("clipnorm"));
  py::class_<RMSprop, Optimizer, std::shared_ptr<RMSprop>>(m, "RMSprop")
      .def(py::init<double, double, double, double, bool, double>(), py::arg("learning_rate"),
           py::arg("rho"), py::arg("momentum"), py::arg("epsilon"), py::arg("centered"),
           py::arg("clipnorm"));
  py::class_<Adagrad, Optimizer, std::shared_ptr<Adagrad>>(m, "Adagrad")
      .def(py::init<double, double, double, double>(), py::arg("learning_rate"),
           py::arg("initial_accumulator_value"), py::arg("epsilon"), py::arg("clipnorm"));

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
