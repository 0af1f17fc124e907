// TmHealthTracker: Azure's tolerated-failures rule plus drsim's success threshold on the way
// back from Degraded, on the manual clock, and driven beside HealthMonitor's probe schedule.
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/health_tracker.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kOk = ProbeOutcome::kSuccess;
constexpr auto kFail = ProbeOutcome::kFailure;
constexpr Time kStart = kTimeZero + 1h;

// Feeds `n` results to endpoint 0, one interval apart, returning the status changes.
std::vector<EndpointStatusChanged> feed(TmHealthTracker& t, ProbeOutcome outcome, int n,
                                        ManualClock& clock) {
  std::vector<EndpointStatusChanged> events;
  for (int i = 0; i < n; ++i) {
    clock.advance(100ms);
    if (auto e = t.on_probe_result(0, outcome, clock.now())) events.push_back(*e);
  }
  return events;
}

TEST(TmHealthTracker, EveryEndpointStartsCheckingEndpoint) {
  TmHealthTracker t(3, 2, 4);
  ASSERT_EQ(t.endpoint_count(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(t.status(i), EndpointStatus::kCheckingEndpoint);
    EXPECT_EQ(t.consecutive_failures(i), 0u);
    EXPECT_EQ(t.consecutive_successes(i), 0u);
  }
}

TEST(TmHealthTracker, FirstSuccessTurnsCheckingOnlineWhateverTheThreshold) {
  TmHealthTracker t(3, 5, 1);
  auto e = t.on_probe_result(0, kOk, kStart);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->from, EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(e->to, EndpointStatus::kOnline);
  EXPECT_EQ(e->at, kStart);
}

class TmHealthTrackerTolerated : public ::testing::TestWithParam<uint32_t> {};

TEST_P(TmHealthTrackerTolerated, DegradedOnFailureNumberToleratedPlusOne) {
  const uint32_t tolerated = GetParam();
  TmHealthTracker t(tolerated, 1, 1);
  ManualClock clock(kStart);
  feed(t, kOk, 1, clock);
  EXPECT_TRUE(feed(t, kFail, static_cast<int>(tolerated), clock).empty());
  EXPECT_EQ(t.status(0), EndpointStatus::kOnline);
  auto events = feed(t, kFail, 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, EndpointStatus::kDegraded);
  EXPECT_EQ(events[0].consecutive_failures, tolerated + 1);
  EXPECT_EQ(events[0].at, clock.now());
  EXPECT_TRUE(feed(t, kFail, 3, clock).empty());  // staying down is not another change
}

TEST_P(TmHealthTrackerTolerated, CheckingEndpointDegradesWithoutBeingOnline) {
  const uint32_t tolerated = GetParam();
  TmHealthTracker t(tolerated, 1, 1);
  ManualClock clock(kStart);
  auto events = feed(t, kFail, static_cast<int>(tolerated) + 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(events[0].to, EndpointStatus::kDegraded);
}

INSTANTIATE_TEST_SUITE_P(ZeroToNine, TmHealthTrackerTolerated, ::testing::Range(0u, 10u),
                         [](const auto& param_info) {
                           return "tolerated" + std::to_string(param_info.param);
                         });

TEST(TmHealthTracker, ThresholdOneReturnsOnTheFirstSuccessLikeAzure) {
  TmHealthTracker t(0, 1, 1);
  ManualClock clock(kStart);
  feed(t, kFail, 1, clock);
  ASSERT_EQ(t.status(0), EndpointStatus::kDegraded);
  auto events = feed(t, kOk, 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, EndpointStatus::kDegraded);
  EXPECT_EQ(events[0].to, EndpointStatus::kOnline);
}

TEST(TmHealthTracker, DegradedNeedsThresholdSuccessesInARow) {
  TmHealthTracker t(1, 3, 1);
  ManualClock clock(kStart);
  feed(t, kFail, 2, clock);
  ASSERT_EQ(t.status(0), EndpointStatus::kDegraded);
  EXPECT_TRUE(feed(t, kOk, 2, clock).empty());
  EXPECT_EQ(t.status(0), EndpointStatus::kDegraded);
  EXPECT_EQ(t.consecutive_successes(0), 2u);
  EXPECT_EQ(t.consecutive_failures(0), 0u);
  auto events = feed(t, kOk, 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].to, EndpointStatus::kOnline);
  EXPECT_EQ(events[0].consecutive_failures, 0u);
}

TEST(TmHealthTracker, AFailureRestartsTheSuccessStreak) {
  TmHealthTracker t(3, 3, 1);
  ManualClock clock(kStart);
  feed(t, kFail, 4, clock);
  feed(t, kOk, 2, clock);
  // One failure is tolerated, but the endpoint is still Degraded and must start over.
  EXPECT_TRUE(feed(t, kFail, 1, clock).empty());
  EXPECT_EQ(t.consecutive_successes(0), 0u);
  EXPECT_TRUE(feed(t, kOk, 2, clock).empty());
  EXPECT_EQ(t.status(0), EndpointStatus::kDegraded);
  EXPECT_EQ(feed(t, kOk, 1, clock).size(), 1u);
  EXPECT_EQ(t.status(0), EndpointStatus::kOnline);
}

TEST(TmHealthTracker, FlappingEndpointStaysDegradedWithThresholdTwo) {
  TmHealthTracker t(0, 2, 1);
  ManualClock clock(kStart);
  feed(t, kFail, 1, clock);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(feed(t, kOk, 1, clock).empty());
    EXPECT_TRUE(feed(t, kFail, 1, clock).empty());
  }
  EXPECT_EQ(t.status(0), EndpointStatus::kDegraded);
}

TEST(TmHealthTracker, FlappingEndpointComesBackEachTimeWithThresholdOne) {
  // The contrast to the test above: Azure's behaviour re-admits a flapping endpoint.
  TmHealthTracker t(0, 1, 1);
  ManualClock clock(kStart);
  feed(t, kFail, 1, clock);
  int changes = 0;
  for (int i = 0; i < 20; ++i) {
    changes += static_cast<int>(feed(t, kOk, 1, clock).size());
    changes += static_cast<int>(feed(t, kFail, 1, clock).size());
  }
  EXPECT_EQ(changes, 40);
}

TEST(TmHealthTracker, SuccessResetsTheFailureCount) {
  TmHealthTracker t(2, 1, 1);
  ManualClock clock(kStart);
  feed(t, kOk, 1, clock);
  feed(t, kFail, 2, clock);
  feed(t, kOk, 1, clock);
  EXPECT_TRUE(feed(t, kFail, 2, clock).empty());
  EXPECT_EQ(t.status(0), EndpointStatus::kOnline);
}

TEST(TmHealthTracker, EndpointsAreIndependent) {
  TmHealthTracker t(0, 1, 2);
  EXPECT_TRUE(t.on_probe_result(1, kFail, kStart).has_value());
  EXPECT_EQ(t.status(0), EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(t.status(1), EndpointStatus::kDegraded);
  auto e = t.on_probe_result(0, kOk, kStart);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->endpoint, 0u);
}

TEST(TmHealthTracker, TakesToleranceAndThresholdFromTheConfig) {
  TmMonitorConfig c;
  c.tolerated_failures = 1;
  c.success_threshold = 2;
  TmHealthTracker t(c, 1);
  ManualClock clock(kStart);
  EXPECT_TRUE(feed(t, kFail, 1, clock).empty());
  EXPECT_EQ(feed(t, kFail, 1, clock).size(), 1u);
  EXPECT_TRUE(feed(t, kOk, 1, clock).empty());
  EXPECT_EQ(feed(t, kOk, 1, clock).size(), 1u);
}

TEST(TmHealthTracker, DegradesAtToleratedPlusOneIntervalsOnHealthMonitorsSchedule) {
  // HealthMonitor says when to probe; the tracker says what the results mean.
  TmMonitorConfig c;
  c.interval = 100ms;
  c.timeout = 50ms;
  c.tolerated_failures = 2;
  c.success_threshold = 2;
  ASSERT_TRUE(c.validate(TmTimingRules::kScaled).is_ok());
  HealthMonitor schedule(to_monitor_config(c), 1, kStart);
  TmHealthTracker tracker(c, 1);
  ManualClock clock(kStart);

  auto probe_at_deadline = [&](ProbeOutcome outcome) {
    clock.set(schedule.next_deadline());
    EXPECT_EQ(schedule.due_probes(clock.now()), std::vector<size_t>{0});
    clock.advance(10ms);  // the answer (or timeout) arrives
    schedule.on_probe_result(0, outcome, clock.now());
    return tracker.on_probe_result(0, outcome, clock.now());
  };
  ASSERT_TRUE(probe_at_deadline(kOk).has_value());     // t = 0: Online
  EXPECT_FALSE(probe_at_deadline(kFail).has_value());  // the outage starts before t = 100
  EXPECT_FALSE(probe_at_deadline(kFail).has_value());
  auto degraded = probe_at_deadline(kFail);
  ASSERT_TRUE(degraded.has_value());
  EXPECT_EQ(degraded->to, EndpointStatus::kDegraded);
  EXPECT_EQ(degraded->at, kStart + 310ms);           // third failed probe, 10 ms after its slot
  EXPECT_FALSE(probe_at_deadline(kOk).has_value());  // threshold 2: one success is not enough
  // HealthMonitor's own rule (one success) would already have it back.
  EXPECT_EQ(schedule.status(0), EndpointStatus::kOnline);
  EXPECT_EQ(tracker.status(0), EndpointStatus::kDegraded);
  auto online = probe_at_deadline(kOk);
  ASSERT_TRUE(online.has_value());
  EXPECT_EQ(online->at, kStart + 510ms);
}

}  // namespace
}  // namespace drsim::model
