// The boundary: every array that comes from a caller is checked and converted here, before
// any kernel reads it. Token ids and float features have one rule each, whichever way they
// arrive (an eager layer call, a model's fit/predict), so the same mistake always gets the
// same message. bindings.cpp turns NumPy arrays into ArrayRefs; nothing here knows Python.
#pragma once

#include <stdexcept>
#include <string>

#include "tensor.hpp"

namespace seqattn {

// A C-contiguous array as the caller gave it, before conversion.
struct ArrayRef {
  char kind = 'f';        // NumPy's dtype kind: b bool, i signed, u unsigned, f float, other
  int itemsize = 4;       // bytes per element (1, 2, 4, 8 for b/i/u; 4 or 8 for f)
  std::string dtype;      // "float64", for messages
  Shape shape;
  const void* data = nullptr;
};

// Raised for an array of the wrong kind (strings, objects, bool ids): Python's TypeError.
// std::invalid_argument is ValueError.
class type_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Token ids for a layer with a vocabulary of `limit`: integers of any width, or floats holding
// whole numbers (Keras casts those), each in [0, limit). Bool, string, object and complex
// arrays are a TypeError; NaN, inf, fractions and ids out of range a ValueError naming `who`
// ("Layer 'embedding'"), the value and its position in the caller's array.
Tensor to_token_ids(const ArrayRef& a, const std::string& who, Index limit);

// Float features: any real dtype (bool, ints, floats) as float32. NaN and inf pass through
// (they propagate, as in Keras); a finite value beyond float32's range is a ValueError, since
// casting would turn it into inf silently.
Tensor to_features(const ArrayRef& a, const std::string& who);

// Rank and shape against an expected shape (-1 = any size on that axis; the batch axis is
// always -1). ValueError naming `who`, both shapes.
void check_shape(const Shape& got, const Shape& expected, const std::string& who);

// The shortest text that reads back as v: "1e+300", "0.5", "3" (messages).
std::string number_str(double v);

// "(0, 3)": the position of flat element i in an array of `shape`, for messages.
std::string position_str(const Shape& shape, Index i);

// The number of elements of a weight of `shape`, or a ValueError when it cannot be held
// (overflow, or more bytes than this machine has memory): checked before allocating.
Index checked_weight_size(const Shape& shape, const std::string& weight);

}  // namespace seqattn
