// The Python module _core: every class and function Python calls, the GIL released around
// the work and the locks taken without it. NumPy arrays become tensors in py_arrays.cpp;
// std::invalid_argument is ValueError, check.hpp's type_error TypeError. This file holds the
// module-wide functions (threads, build_info, the GEMM test entry points); the classes are
// added by bindings_layers.cpp, bindings_training.cpp and bindings_graph.cpp.
#include "bindings.hpp"
#include "fma_peak.hpp"

using namespace seqattn;

namespace {

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
    d["fma_peak_kernel"] = fma_peak_kernel();
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

  // The machine's FMA peak (fma_peak.hpp): the yardstick benchmarks/compare.py divides by.
  m.def("fma_peak_gflops", [](int threads, double seconds) {
    if (threads < 1)
      throw std::invalid_argument("fma_peak_gflops: threads must be a positive integer, received " +
                                  std::to_string(threads));
    if (!(seconds > 0.0) || !std::isfinite(seconds))
      throw std::invalid_argument(
          "fma_peak_gflops: seconds must be a positive finite number, received " +
          std::to_string(seconds));
    py::gil_scoped_release release;
    return fma_peak_gflops(threads, seconds);
  }, py::arg("threads"), py::arg("seconds"),
     "GFLOP/s of independent FMA chains on `threads` threads for about `seconds` (2 FLOPs per lane per FMA).");

  bind_layers(m);
  bind_training(m);
  bind_graph(m);
}
