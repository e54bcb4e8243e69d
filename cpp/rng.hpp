// Counter-based random numbers: the value for element i of a draw depends only on
// (seed, stream, i), never on thread count or on the order threads run in. Used for dropout.
#pragma once
#include <cstdint>

namespace seqattn {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform float in [0, 1) for element i of the draw identified by (seed, stream).
inline float uniform01(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
  std::uint64_t h = splitmix64(seed ^ splitmix64(stream ^ splitmix64(i)));
  return static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // 24 random bits
}

}  // namespace seqattn
