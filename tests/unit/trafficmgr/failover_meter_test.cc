// TmFailoverMeter on the manual clock: from the first failed probe of the streak to the route
// change that took the endpoint out.
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/model/trafficmgr/failover_meter.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kFail = ProbeOutcome::kFailure;
constexpr auto kOk = ProbeOutcome::kSuccess;

TEST(TmFailoverMeter, MeasuresFromTheFirstFailedProbeOfTheStreakToTheRouteChange) {
  TmFailoverMeter meter(2);
  Time t0 = kTimeZero + 10s;
  meter.on_probe_result(0, kOk, t0);
  meter.on_probe_result(0, kFail, t0 + 100ms);
  meter.on_probe_result(0, kFail, t0 + 200ms);  // still the same streak
  meter.on_probe_result(0, kFail, t0 + 300ms);
  std::vector<size_t> left{0};
  auto m = meter.on_route_change(left, t0 + 300ms);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->endpoint, 0u);
  EXPECT_EQ(m->took(), 200ms);
  EXPECT_EQ(meter.last()->took(), 200ms);
}

TEST(TmFailoverMeter, ASuccessEndsTheStreak) {
  TmFailoverMeter meter(1);
  meter.on_probe_result(0, kFail, kTimeZero + 1s);
  meter.on_probe_result(0, kOk, kTimeZero + 2s);
  meter.on_probe_result(0, kFail, kTimeZero + 3s);
  std::vector<size_t> left{0};
  EXPECT_EQ(meter.on_route_change(left, kTimeZero + 3500ms)->took(), 500ms);
}

TEST(TmFailoverMeter, LeavingWithoutFailuresMeasuresNothingAndKeepsTheLast) {
  TmFailoverMeter meter(2);
  meter.on_probe_result(0, kFail, kTimeZero);
  std::vector<size_t> first{0};
  ASSERT_TRUE(meter.on_route_change(first, kTimeZero + 1s).has_value());
  // Failback: the secondary leaves the route because the primary is back, not because it failed.
  std::vector<size_t> failback{1};
  EXPECT_FALSE(meter.on_route_change(failback, kTimeZero + 5s).has_value());
  EXPECT_EQ(meter.last()->endpoint, 0u);
  EXPECT_EQ(meter.last()->took(), 1s);
}

TEST(TmFailoverMeter, SeveralLeavingMeasureTheEarliestStreak) {
  TmFailoverMeter meter(3);
  meter.on_probe_result(2, kFail, kTimeZero + 2s);
  meter.on_probe_result(1, kFail, kTimeZero + 1s);
  std::vector<size_t> left{2, 1};
  auto m = meter.on_route_change(left, kTimeZero + 4s);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->endpoint, 1u);
  EXPECT_EQ(m->took(), 3s);
}

}  // namespace
}  // namespace drsim::model
