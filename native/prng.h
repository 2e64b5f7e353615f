#pragma once
// C++ port of src/init/prng.ts: every weight is a pure function of (seed, tensor, index), bit-identical to the
// TypeScript reference. This translation unit must be compiled without FMA contraction or fast-math.

#include <cstddef>
#include <cstdint>

namespace swapnas {

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

inline uint32_t streamKey(uint32_t seed, uint32_t tensor, uint32_t index) {
  return mix32(mix32(mix32(seed ^ 0x9e3779b9u) ^ tensor) ^ index);
}

double detLog(double s);

float gaussian(uint32_t seed, uint32_t tensor, uint32_t index);

// out[i] = gaussian(seed, tensor, i) for i < count.
void fillGaussian(float* out, size_t count, uint32_t seed, uint32_t tensor);

// out[i] = bound * u_i, u_i uniform in (-1, 1) from mix32(streamKey(seed, tensor, i)): the `pytorch` init scheme's
// draws (src/proxies/init.ts), in double and bit-identical to it.
void fillUniform(double* out, size_t count, uint32_t seed, uint32_t tensor, double bound);

}  // namespace swapnas
