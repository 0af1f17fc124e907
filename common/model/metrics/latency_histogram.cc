#include "common/model/metrics/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace drsim::model {

int LatencyHistogram::bucket_of(uint64_t ns) {
  if (ns < kSubBuckets) return static_cast<int>(ns);
  int power = 63 - std::countl_zero(ns);         // ns >= 2^power
  int shift = power - 4;                          // keep 4 bits below the top bit
  int sub = static_cast<int>((ns >> shift) & (kSubBuckets - 1));
  int bucket = (power - 3) * kSubBuckets + sub;
  return std::min(bucket, kSubBuckets * kPowers - 1);
}

uint64_t LatencyHistogram::bucket_upper(int bucket) {
  if (bucket < kSubBuckets) return static_cast<uint64_t>(bucket);
  int power = bucket / kSubBuckets + 3;
  int sub = bucket % kSubBuckets;
  int shift = power - 4;
  return ((static_cast<uint64_t>(kSubBuckets + sub) + 1) << shift) - 1;
}

void LatencyHistogram::record(Duration d) {
  uint64_t ns = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  ++buckets_[bucket_of(ns)];
  ++count_;
  max_ = std::max(max_, Duration(static_cast<int64_t>(ns)));
  sum_ += Duration(static_cast<int64_t>(ns));
}

uint64_t LatencyHistogram::count_at_most(Duration d) const {
  if (d.count() < 0) return 0;
  if (d >= max_) return count_;
  // Buckets below d's hold only smaller samples; d's own bucket is counted whole.
  const int last = bucket_of(static_cast<uint64_t>(d.count()));
  uint64_t n = 0;
  for (int b = 0; b <= last; ++b) n += buckets_[b];
  return n;
}

Duration LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return Duration(0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * count_));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= rank) {
      // The top bucket also holds every larger sample: its upper bound would under-report.
      if (b + 1 == buckets_.size()) return max_;
      return std::min(Duration(static_cast<int64_t>(bucket_upper(static_cast<int>(b)))), max_);
    }
  }
  return max_;
}

}  // namespace drsim::model
