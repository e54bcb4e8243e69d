// NumPy arrays <-> tensors for the bindings: the caller's object as check.hpp sees it on the
// way in, and fresh NumPy arrays on the way out. The only pybind11 code besides bindings.cpp.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "check.hpp"
#include "tensor.hpp"

namespace seqattn {

namespace py = pybind11;

Shape shape_of(const py::array& a);

// A caller's object as check.hpp sees it: C-contiguous, its own dtype kept (so the boundary
// can tell 2**32 + 3 from 3, and 1.5 from 1), floats other than float32/64 widened to float64.
// `held` keeps the NumPy array alive while `ref` points into it.
struct HeldArray {
  py::array held;
  ArrayRef ref;
};
HeldArray array_ref(const py::handle& obj, const std::string& who);

// Float32 values for targets and weights: numbers only (object or string arrays would be
// turned into garbage by a forced cast).
Tensor to_float_tensor(const py::handle& a, const std::string& who);
// Optional per-sample weights; empty when None.
std::vector<float> to_weights(const py::object& sw);
// A (B, T) padding mask from booleans or 0/1 numbers.
Mask to_mask(const py::handle& a, const std::string& who);

py::array_t<float> to_array(const float* data, const Shape& shape);
py::array_t<float> to_array(const Tensor& t);
py::array to_numpy(const Tensor& t);  // float32 or int32, as the tensor holds
py::object mask_to_array(const Mask& m);  // None for an empty mask

}  // namespace seqattn
