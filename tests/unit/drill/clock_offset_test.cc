// A region's clock offset from one status call, and when it is worth correcting.
#include "common/model/drill/clock_offset.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(ClockOffset, MidpointEstimate) {
  // Sent at 100 ms, answered at 110 ms, the remote said 5105 ms: 5 s ahead.
  EXPECT_EQ(estimate_clock_offset_ns(100 * kMs, 110 * kMs, 5105 * kMs), 5000 * kMs);
}

TEST(ClockOffset, AnEstimateWithinHalfTheRoundTripIsNoise) {
  // A slow first call (a TLS handshake: 6 ms) to a region whose clock is right, answered late
  // in the call: the midpoint says +2.5 ms, which the call cannot tell from 0.
  EXPECT_EQ(estimate_clock_offset_ns(0, 6 * kMs, 5'500'000), 2'500'000);
  EXPECT_EQ(significant_clock_offset_ns(0, 6 * kMs, 5'500'000), 0);
  EXPECT_EQ(significant_clock_offset_ns(0, 6 * kMs, 3 * kMs - 3 * kMs), 0);
  // An injected skew is far outside it.
  EXPECT_EQ(significant_clock_offset_ns(0, 6 * kMs, 3 * kMs + 200 * kMs), 200 * kMs);
  EXPECT_EQ(significant_clock_offset_ns(0, 6 * kMs, 3 * kMs - 5000 * kMs), -5000 * kMs);
}

}  // namespace
}  // namespace drsim::model
