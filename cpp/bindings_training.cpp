// Losses and optimizers in _core: a loss on arrays checks them as a model's targets are.
#include "bindings.hpp"

using namespace seqattn;

namespace {

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

}  // namespace

void seqattn::bind_training(py::module_& m) {
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
}
