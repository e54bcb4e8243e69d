#include "tensor.hpp"

#include "check.hpp"

namespace seqattn {

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) r += ", ";
    r += std::to_string(s[i]);
  }
  if (s.size() == 1) r += ",";
  return r + ")";
}

Param::Param(std::string n, Shape s) : name(std::move(n)), shape(std::move(s)) {
  const Index size = checked_weight_size(shape, name);
  value.assign(size, 0.0f);
  grad.assign(size, 0.0f);
}

}  // namespace seqattn
