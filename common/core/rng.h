// Seeded randomness with our own range helpers: std::mt19937_64's sequence is
// fixed by the standard, the std::uniform_* distributions are not.
#pragma once

#include <cstdint>
#include <random>

namespace drsim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  uint64_t next() { return engine_(); }
  // Uniform in [0, n) without modulo bias. n must be > 0.
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do { x = engine_(); } while (x >= limit);
    return x % n;
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace drsim
