#include "py_arrays.hpp"

namespace seqattn {

Shape shape_of(const py::array& a) {
  Shape s;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s.push_back(a.shape(i));
  return s;
}

HeldArray array_ref(const py::handle& obj, const std::string& who) {
  py::array a = py::array::ensure(obj, py::array::c_style);
  if (!a) {
    PyErr_Clear();
    throw type_error(who + " expects a rectangular numeric array; received " +
                     std::string(py::str(py::type::of(obj).attr("__name__"))) +
                     " that NumPy cannot turn into one (ragged lists need padding to one "
                     "length).");
  }
  char kind = a.dtype().kind();
  if (kind == 'f' && a.itemsize() != 4 && a.itemsize() != 8) {
    a = py::array::ensure(a.attr("astype")("float64"), py::array::c_style);
    kind = 'f';
  }
  HeldArray h{a, {}};
  h.ref.kind = kind;
  h.ref.itemsize = static_cast<int>(a.itemsize());
  h.ref.dtype = py::str(a.dtype());
  h.ref.shape = shape_of(a);
  h.ref.data = a.data();
  return h;
}

Tensor to_float_tensor(const py::handle& a, const std::string& who) {
  return to_features(array_ref(a, who).ref, who);
}

std::vector<float> to_weights(const py::object& sw) {
  if (sw.is_none()) return {};
  Tensor t = to_float_tensor(sw, "sample_weight");
  return std::move(t.data);
}

Mask to_mask(const py::handle& a, const std::string& who) {
  HeldArray h = array_ref(a, who);
  if (h.ref.kind != 'b' && h.ref.kind != 'i' && h.ref.kind != 'u' && h.ref.kind != 'f')
    throw type_error(who + " must hold booleans or 0/1 numbers; received an array of dtype " +
                     h.ref.dtype + ".");
  if (h.ref.shape.size() != 2)
    throw std::invalid_argument(who + " must have shape (B, T), received " +
                                shape_str(h.ref.shape) + ".");
  Tensor t = to_features(h.ref, who);
  Mask r;
  r.B = h.ref.shape[0];
  r.T = h.ref.shape[1];
  r.data.resize(t.data.size());
  for (std::size_t i = 0; i < t.data.size(); ++i) r.data[i] = t.data[i] != 0.0f;
  return r;
}

py::array_t<float> to_array(const float* data, const Shape& shape) {
  std::vector<py::ssize_t> s(shape.begin(), shape.end());
  py::array_t<float> a(s);
  std::copy(data, data + shape_size(shape), a.mutable_data());
  return a;
}
py::array_t<float> to_array(const Tensor& t) { return to_array(t.ptr(), t.shape); }

py::array to_numpy(const Tensor& t) {
  if (t.dtype == DType::Float32) return to_array(t);
  std::vector<py::ssize_t> s(t.shape.begin(), t.shape.end());
  py::array_t<std::int32_t> a(s);
  std::copy(t.ids.begin(), t.ids.end(), a.mutable_data());
  return a;
}

py::object mask_to_array(const Mask& m) {
  if (m.empty()) return py::none();
  py::array_t<bool> a({static_cast<py::ssize_t>(m.B), static_cast<py::ssize_t>(m.T)});
  for (std::size_t i = 0; i < m.data.size(); ++i) a.mutable_data()[i] = m.data[i] != 0;
  return a;
}

}  // namespace seqattn
