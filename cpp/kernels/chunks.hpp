// Fixed parameter chunks: the library's parameters cut into pieces of kParamChunk floats
// (never spanning two parameters), for one parallel loop over all of them instead of one loop
// (and one thread wake-up) per parameter. Used by the optimizer's update and clip norm and by
// the graph's clearing of gradients.
//
// The chunk size is part of the arithmetic: the optimizer's clip norm sums Σ g² per chunk,
// then the partial sums in chunk order, so changing kParamChunk changes clipped results (not
// their independence from the thread count: chunks are fixed, threads only share them out).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../tensor.hpp"

namespace seqattn {

constexpr Index kParamChunk = 16384;

// Elements [begin, end) of params[param].
struct ParamChunk {
  std::size_t param;
  Index begin, end;
};

// Cuts `params` into chunks, parameter by parameter in list order, ascending within each.
inline void chunk_params(const std::vector<Param*>& params, std::vector<ParamChunk>& chunks) {
  chunks.clear();
  for (std::size_t i = 0; i < params.size(); ++i)
    for (Index b = 0; b < params[i]->size(); b += kParamChunk)
      chunks.push_back({i, b, std::min(b + kParamChunk, params[i]->size())});
}

}  // namespace seqattn
