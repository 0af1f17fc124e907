// Log-bucketed latency histogram (at most 6.25 % relative error) for replication
// lag, probe durations and client latencies: constant memory at any write rate. The /metrics
// answers export it as a Prometheus histogram (count_at_most at fixed bounds, sum, count).
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
  // Exact sum of every sample (negative samples count as 0).
  Duration sum() const { return sum_; }
  // Samples <= d, at the histogram's resolution: every sample <= d is counted, and so may be
  // samples up to 6.25 % above d (those sharing d's bucket). Exact when d >= max(). Monotone
  // in d; 0 for d < 0.
  uint64_t count_at_most(Duration d) const;
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
  Duration sum_{0};
};

}  // namespace drsim::model
