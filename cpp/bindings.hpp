// What the binding units share (bindings.cpp is the module; bindings_layers.cpp,
// bindings_training.cpp and bindings_graph.cpp each add one part of it): the includes, the
// array alias and the functions that add each part's classes to the module.
#pragma once
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

namespace seqattn {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

void bind_layers(py::module_& m);    // Layer and every layer class, run_layer
void bind_training(py::module_& m);  // losses and optimizers
void bind_graph(py::module_& m);     // Graph and IncrementalDecoder

}  // namespace seqattn
