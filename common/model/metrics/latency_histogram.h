// Log-bucketed latency histogram (at most 6.25 % relative error) for replication
// lag and client latencies: constant memory at any write rate.
#pragma once

#include <array>
#include <cstdint>

#include "common/core/time.h"

namespace drsim::model {

class LatencyHistogram {
 public:
  void record(Duration d);
  void reset() { *this = LatencyHistogram(); }
  uint64_t count() const { return count_; }
  Duration max() const { return max_; }
  // q in [0, 1]; returns 0 when empty.
  Duration quantile(double q) const;

 private:
  static constexpr int kSubBuckets = 16;   // per power of two
  static constexpr int kPowers = 40;       // 1 ns .. ~2.4 hours, larger samples clamp to the max
  static int bucket_of(uint64_t ns);
  static uint64_t bucket_upper(int bucket);

  std::array<uint64_t, kSubBuckets * kPowers> buckets_{};
  uint64_t count_ = 0;
  Duration max_{0};
};

}  // namespace drsim::model
