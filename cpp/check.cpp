#include "check.hpp"

#include "layer.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace seqattn {

std::string position_str(const Shape& shape, Index i) {
  std::vector<Index> pos(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    const Index n = shape[d] > 0 ? shape[d] : 1;
    pos[d] = i % n;
    i /= n;
  }
  return shape_str(pos);
}

namespace {

// Reads element i of a C-contiguous array of the given kind and width as T (the caller picked
// T wide enough: int64/uint64 for integers, double for floats).
template <class T>
T element(const ArrayRef& a, Index i) {
  const char* p = static_cast<const char*>(a.data) + i * a.itemsize;
  auto as = [p](auto zero) {
    decltype(zero) v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<T>(v);
  };
  switch (a.kind) {
    case 'b': return static_cast<T>(*p != 0);
    case 'i':
      switch (a.itemsize) {
        case 1: return as(std::int8_t{});
        case 2: return as(std::int16_t{});
        case 4: return as(std::int32_t{});
        default: return as(std::int64_t{});
      }
    case 'u':
      switch (a.itemsize) {
        case 1: return as(std::uint8_t{});
        case 2: return as(std::uint16_t{});
        case 4: return as(std::uint32_t{});
        default: return as(std::uint64_t{});
      }
    default: return a.itemsize == 4 ? as(float{}) : as(double{});
  }
}

bool numeric(char kind) { return kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f'; }

}  // namespace

std::string number_str(double v) {
  std::string r;
  for (int digits = 6; digits <= 17; ++digits) {
    std::ostringstream s;
    s.precision(digits);
    s << v;
    r = s.str();
    if (std::strtod(r.c_str(), nullptr) == v || std::isnan(v)) break;
  }
  return r;
}

namespace {

std::string outside(Index limit) { return "outside [0, " + std::to_string(limit) + ")"; }

[[noreturn]] void bad_id(const std::string& who, const Shape& shape, Index i,
                         const std::string& value, const std::string& dtype, Index limit,
                         const std::string& problem) {
  throw std::invalid_argument(who + " received token id " + value + " at position " +
                              position_str(shape, i) + ", " + problem + " (dtype " + dtype +
                              "). Token ids must be whole numbers in [0, " + std::to_string(limit) +
                              "); raise the vocabulary size (input_dim) or check the "
                              "vectorizer's vocabulary.");
}

}  // namespace

Tensor to_token_ids(const ArrayRef& a, const std::string& who, Index limit) {
  if (a.kind == 'b' || !numeric(a.kind))
    throw type_error(who + " expects integer token ids; received an array of dtype " + a.dtype +
                     (a.kind == 'b' ? " (cast booleans to int explicitly if they are ids)" : "") +
                     ".");
  Tensor t;
  t.dtype = DType::Int32;
  t.resize(a.shape);
  const Index n = t.size();
  std::int32_t* out = t.ids.data();
  if (a.kind == 'f') {
    for (Index i = 0; i < n; ++i) {
      const double v = element<double>(a, i);
      if (!(v >= 0.0 && v < static_cast<double>(limit)) || v != std::floor(v))
        bad_id(who, a.shape, i, number_str(v), a.dtype, limit,
               std::isnan(v) ? "which is NaN" : std::isinf(v) ? "which is infinite"
               : v != std::floor(v) ? "which is not a whole number" : outside(limit));
      out[i] = static_cast<std::int32_t>(v);
    }
  } else if (a.kind == 'u') {
    for (Index i = 0; i < n; ++i) {
      const std::uint64_t v = element<std::uint64_t>(a, i);
      if (v >= static_cast<std::uint64_t>(limit))
        bad_id(who, a.shape, i, std::to_string(v), a.dtype, limit, outside(limit));
      out[i] = static_cast<std::int32_t>(v);
    }
  } else {
    for (Index i = 0; i < n; ++i) {
      const std::int64_t v = element<std::int64_t>(a, i);
      if (v < 0 || v >= limit) bad_id(who, a.shape, i, std::to_string(v), a.dtype, limit, outside(limit));
      out[i] = static_cast<std::int32_t>(v);
    }
  }
  return t;
}

Tensor to_features(const ArrayRef& a, const std::string& who) {
  if (!numeric(a.kind))
    throw type_error(who + " expects a numeric array (bool, integer or float); received an "
                     "array of dtype " + a.dtype + ".");
  Tensor t;
  t.resize(a.shape);
  const Index n = t.size();
  float* out = t.ptr();
  if (a.kind == 'f' && a.itemsize == 4) {
    if (n > 0) std::memcpy(out, a.data, static_cast<std::size_t>(n) * sizeof(float));
  } else if (a.kind == 'f') {
    constexpr double kMax = std::numeric_limits<float>::max();
    for (Index i = 0; i < n; ++i) {
      const double v = element<double>(a, i);
      if (std::isfinite(v) && std::fabs(v) > kMax)
        throw std::invalid_argument(who + " received the value " + number_str(v) +
                                    " at position " + position_str(a.shape, i) + " (dtype " +
                                    a.dtype + "), which does not fit in float32 (|x| <= 3.4e38).");
      out[i] = static_cast<float>(v);
    }
  } else {
    for (Index i = 0; i < n; ++i) out[i] = element<float>(a, i);
  }
  return t;
}

void check_shape(const Shape& got, const Shape& expected, const std::string& who) {
  bool ok = got.size() == expected.size();
  for (std::size_t d = 0; ok && d < got.size(); ++d)
    ok = expected[d] < 0 || expected[d] == got[d];
  if (ok) return;
  std::string e = "(";
  for (std::size_t d = 0; d < expected.size(); ++d)
    e += (d ? ", " : "") + (expected[d] < 0 ? std::string("None") : std::to_string(expected[d]));
  e += expected.size() == 1 ? ",)" : ")";
  throw std::invalid_argument(who + " is incompatible: expected shape " + e + ", received " +
                              shape_str(got) + ".");
}

Index checked_weight_size(const Shape& shape, const std::string& weight) {
  // A weight lives with its gradient, its initial values drawn in NumPy and up to two
  // optimizer slots: about 32 bytes per element at the peak. Refuse before allocating what
  // this machine cannot hold, instead of a std::bad_alloc (or the OOM killer) half-way
  // through building or training a model.
  double elements = 1.0;
  for (Index d : shape) {
    if (d < 0) throw std::invalid_argument("weight '" + weight + "' has a negative size in " +
                                           shape_str(shape));
    elements *= static_cast<double>(d);
  }
  double memory = 0.0;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
  memory = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
#endif
  const double limit = (memory > 0.0 ? memory : 9.0e18) / 32.0;
  if (elements > limit) {
    std::ostringstream s;
    s.precision(3);
    s << "weight '" << weight << "' of shape " << shape_str(shape) << " would hold " << elements
      << " floats (" << elements * 32.0 / (1024.0 * 1024.0 * 1024.0)
      << " GiB with its gradient, initial values and optimizer slots), more than this "
         "machine's memory ("
      << memory / (1024.0 * 1024.0 * 1024.0) << " GiB)";
    throw std::invalid_argument(s.str());
  }
  return static_cast<Index>(elements);
}

void Layer::check_inputs(const LayerInputs& in) const {
  // Runs every step: strings are built only on the way to an exception (no allocation).
  for (std::size_t i = 0; i < in.x.size(); ++i) {
    const Tensor* x = in.x[i];
    if (!x) continue;
    for (int d = 1; d < x->rank(); ++d)
      if (x->dim(d) == 0)
        throw std::invalid_argument("Layer '" + name + "' (" + kind() + ") received input " +
                                    std::to_string(i) + " of shape " + shape_str(x->shape) +
                                    " with an empty axis " + std::to_string(d) +
                                    "; only the batch axis may be empty.");
    const Index limit = id_limit(i);
    if (limit > 0 && x->dtype != DType::Int32)
      throw type_error("Layer '" + name + "' (" + kind() + ") expects integer token ids as input " +
                       std::to_string(i) + "; received float32 features of shape " +
                       shape_str(x->shape) + ".");
    if (limit == 0 && x->dtype != DType::Float32)
      throw std::invalid_argument(
          "Input " + std::to_string(i) + " of layer '" + name + "' (" + kind() +
          ") must hold float32 features; received int32 token ids of shape " +
          shape_str(x->shape) + " (token ids go through an Embedding first)");
  }
  check_values(in);
}

}  // namespace seqattn
