// HealthMonitor: endpoint status rules (tolerated failures, one success back online,
// CheckingEndpoint first), probe scheduling on a fixed grid, and config validation.
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/model/trafficmgr/health_monitor.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr Time kStart = kTimeZero + 1h;

MonitorConfig config_with(uint32_t tolerated) {
  return MonitorConfig{
      .probe_interval = 100ms, .probe_timeout = 50ms, .tolerated_failures = tolerated};
}

// Feeds `n` results of `outcome` to endpoint 0, returning every status change.
std::vector<EndpointStatusChanged> feed(HealthMonitor& m, ProbeOutcome outcome, int n,
                                        ManualClock& clock) {
  std::vector<EndpointStatusChanged> events;
  for (int i = 0; i < n; ++i) {
    clock.advance(100ms);
    if (auto e = m.on_probe_result(0, outcome, clock.now())) events.push_back(*e);
  }
  return events;
}

TEST(HealthMonitor, EndpointIsCheckingBeforeTheFirstResult) {
  HealthMonitor m(config_with(2), 3, kStart);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.status(i), EndpointStatus::kCheckingEndpoint);
    EXPECT_EQ(m.consecutive_failures(i), 0u);
  }
  // A probe in flight does not change that either.
  EXPECT_EQ(m.due_probes(kStart).size(), 3u);
  EXPECT_EQ(m.status(0), EndpointStatus::kCheckingEndpoint);
}

TEST(HealthMonitor, FirstSuccessTurnsCheckingIntoOnline) {
  HealthMonitor m(config_with(2), 1, kStart);
  auto event = m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 3ms);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->endpoint, 0u);
  EXPECT_EQ(event->from, EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(event->to, EndpointStatus::kOnline);
  EXPECT_EQ(event->at, kStart + 3ms);
  EXPECT_EQ(event->consecutive_failures, 0u);
  // Further successes are not changes.
  EXPECT_FALSE(m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 103ms).has_value());
}

TEST(HealthMonitor, ToleratedFailuresKeepCheckingEndpointServed) {
  HealthMonitor m(config_with(3), 1, kStart);
  ManualClock clock(kStart);
  EXPECT_TRUE(feed(m, ProbeOutcome::kFailure, 3, clock).empty());
  EXPECT_EQ(m.status(0), EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(m.consecutive_failures(0), 3u);
}

// Every tolerated value Azure allows, 0..9.
class HealthMonitorTolerated : public ::testing::TestWithParam<uint32_t> {};

TEST_P(HealthMonitorTolerated, DegradedAfterToleratedPlusOneFailures) {
  const uint32_t tolerated = GetParam();
  HealthMonitor m(config_with(tolerated), 1, kStart);
  ManualClock clock(kStart);
  ASSERT_TRUE(m.on_probe_result(0, ProbeOutcome::kSuccess, clock.now()).has_value());

  EXPECT_TRUE(feed(m, ProbeOutcome::kFailure, static_cast<int>(tolerated), clock).empty());
  EXPECT_EQ(m.status(0), EndpointStatus::kOnline);

  auto events = feed(m, ProbeOutcome::kFailure, 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, EndpointStatus::kOnline);
  EXPECT_EQ(events[0].to, EndpointStatus::kDegraded);
  EXPECT_EQ(events[0].at, clock.now());
  EXPECT_EQ(events[0].consecutive_failures, tolerated + 1);
  EXPECT_EQ(m.status(0), EndpointStatus::kDegraded);

  // Staying down is not another change.
  EXPECT_TRUE(feed(m, ProbeOutcome::kFailure, 5, clock).empty());
  EXPECT_EQ(m.consecutive_failures(0), tolerated + 6);
}

TEST_P(HealthMonitorTolerated, CheckingEndpointDegradesWithoutEverBeingOnline) {
  const uint32_t tolerated = GetParam();
  HealthMonitor m(config_with(tolerated), 1, kStart);
  ManualClock clock(kStart);
  auto events = feed(m, ProbeOutcome::kFailure, static_cast<int>(tolerated) + 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(events[0].to, EndpointStatus::kDegraded);
}

TEST_P(HealthMonitorTolerated, OneSuccessAfterDegradedBringsOnline) {
  const uint32_t tolerated = GetParam();
  HealthMonitor m(config_with(tolerated), 1, kStart);
  ManualClock clock(kStart);
  feed(m, ProbeOutcome::kFailure, static_cast<int>(tolerated) + 1, clock);
  ASSERT_EQ(m.status(0), EndpointStatus::kDegraded);

  auto events = feed(m, ProbeOutcome::kSuccess, 1, clock);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].from, EndpointStatus::kDegraded);
  EXPECT_EQ(events[0].to, EndpointStatus::kOnline);
  EXPECT_EQ(events[0].consecutive_failures, 0u);
  EXPECT_EQ(m.consecutive_failures(0), 0u);
}

TEST_P(HealthMonitorTolerated, SuccessResetsTheFailureCount) {
  const uint32_t tolerated = GetParam();
  HealthMonitor m(config_with(tolerated), 1, kStart);
  ManualClock clock(kStart);
  feed(m, ProbeOutcome::kSuccess, 1, clock);
  feed(m, ProbeOutcome::kFailure, static_cast<int>(tolerated), clock);
  feed(m, ProbeOutcome::kSuccess, 1, clock);
  EXPECT_TRUE(feed(m, ProbeOutcome::kFailure, static_cast<int>(tolerated), clock).empty());
  EXPECT_EQ(m.status(0), EndpointStatus::kOnline);
}

INSTANTIATE_TEST_SUITE_P(ZeroToNine, HealthMonitorTolerated, ::testing::Range(0u, 10u),
                         [](const auto& param_info) {
                           return "tolerated" + std::to_string(param_info.param);
                         });

TEST(HealthMonitor, ToleratedZeroDegradesOnTheFirstFailure) {
  HealthMonitor m(config_with(0), 1, kStart);
  auto event = m.on_probe_result(0, ProbeOutcome::kFailure, kStart);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->to, EndpointStatus::kDegraded);
  EXPECT_EQ(event->consecutive_failures, 1u);
}

TEST(HealthMonitor, AlternatingFailureAndSuccessNeverDegradesWhenOneFailureIsTolerated) {
  for (uint32_t tolerated : {1u, 2u, 9u}) {
    HealthMonitor m(config_with(tolerated), 1, kStart);
    ManualClock clock(kStart);
    std::vector<EndpointStatusChanged> events;
    for (int i = 0; i < 50; ++i) {
      for (auto outcome : {ProbeOutcome::kFailure, ProbeOutcome::kSuccess}) {
        clock.advance(100ms);
        if (auto e = m.on_probe_result(0, outcome, clock.now())) events.push_back(*e);
        EXPECT_NE(m.status(0), EndpointStatus::kDegraded) << "tolerated=" << tolerated;
      }
    }
    // Only CheckingEndpoint → Online, on the first success.
    ASSERT_EQ(events.size(), 1u) << "tolerated=" << tolerated;
    EXPECT_EQ(events[0].to, EndpointStatus::kOnline);
  }
}

TEST(HealthMonitor, FlappingWithNoToleranceReportsEveryTransition) {
  HealthMonitor m(config_with(0), 1, kStart);
  ManualClock clock(kStart);
  std::vector<EndpointStatus> seen;
  for (int i = 0; i < 3; ++i) {
    for (auto outcome : {ProbeOutcome::kFailure, ProbeOutcome::kSuccess}) {
      clock.advance(100ms);
      if (auto e = m.on_probe_result(0, outcome, clock.now())) seen.push_back(e->to);
    }
  }
  EXPECT_EQ(seen,
            (std::vector<EndpointStatus>{EndpointStatus::kDegraded, EndpointStatus::kOnline,
                                         EndpointStatus::kDegraded, EndpointStatus::kOnline,
                                         EndpointStatus::kDegraded, EndpointStatus::kOnline}));
}

TEST(HealthMonitor, EndpointsAreIndependent) {
  HealthMonitor m(config_with(0), 2, kStart);
  ASSERT_TRUE(m.on_probe_result(1, ProbeOutcome::kFailure, kStart).has_value());
  EXPECT_EQ(m.status(0), EndpointStatus::kCheckingEndpoint);
  EXPECT_EQ(m.status(1), EndpointStatus::kDegraded);
}

// --- Probe scheduling ---

TEST(HealthMonitor, EveryEndpointIsDueAtStart) {
  HealthMonitor m(config_with(2), 3, kStart);
  EXPECT_EQ(m.next_deadline(), kStart);
  EXPECT_TRUE(m.due_probes(kStart - 1ms).empty());
  EXPECT_EQ(m.due_probes(kStart), (std::vector<size_t>{0, 1, 2}));
}

TEST(HealthMonitor, ProbeInFlightIsNotDueAgain) {
  HealthMonitor m(config_with(2), 1, kStart);
  ASSERT_EQ(m.due_probes(kStart).size(), 1u);
  EXPECT_TRUE(m.probe_in_flight(0));
  EXPECT_TRUE(m.due_probes(kStart).empty());
  // Nothing to wake up for until the result arrives.
  EXPECT_EQ(m.next_deadline(), kNever);
  // Even when the next slot passes while it is still in flight.
  EXPECT_TRUE(m.due_probes(kStart + 150ms).empty());

  m.on_probe_result(0, ProbeOutcome::kFailure, kStart + 160ms);
  EXPECT_FALSE(m.probe_in_flight(0));
  EXPECT_EQ(m.next_deadline(), kStart + 100ms);
  EXPECT_EQ(m.due_probes(kStart + 160ms), (std::vector<size_t>{0}));
  EXPECT_EQ(m.next_probe_due(0), kStart + 200ms);
}

TEST(HealthMonitor, NextDeadlineIsOneIntervalAfterTheFirstProbe) {
  HealthMonitor m(config_with(2), 2, kStart);
  m.due_probes(kStart);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 5ms);
  // Endpoint 1 still in flight: only endpoint 0's next slot counts.
  EXPECT_EQ(m.next_deadline(), kStart + 100ms);
  EXPECT_TRUE(m.due_probes(kStart + 99ms).empty());
  EXPECT_EQ(m.due_probes(kStart + 100ms), (std::vector<size_t>{0}));
}

TEST(HealthMonitor, LateTimerDoesNotShiftTheSchedule) {
  HealthMonitor m(config_with(2), 1, kStart);
  ManualClock clock(kStart);
  std::vector<Time> probed_at_due;
  for (int i = 0; i < 10; ++i) {
    Time due = m.next_deadline();
    probed_at_due.push_back(due);
    clock.set(due + 7ms);  // the timer always fires 7 ms late
    ASSERT_EQ(m.due_probes(clock.now()).size(), 1u);
    clock.advance(20ms);
    m.on_probe_result(0, ProbeOutcome::kSuccess, clock.now());
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(probed_at_due[i], kStart + i * 100ms);
}

TEST(HealthMonitor, FarBehindSkipsToTheNextIntervalBoundary) {
  HealthMonitor m(config_with(2), 1, kStart);
  m.due_probes(kStart);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 10ms);
  // The loop stalled for 1.05 s: one probe now, then back on the grid, no burst.
  ASSERT_EQ(m.due_probes(kStart + 1050ms).size(), 1u);
  EXPECT_EQ(m.next_probe_due(0), kStart + 1100ms);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 1060ms);
  EXPECT_TRUE(m.due_probes(kStart + 1099ms).empty());
  EXPECT_EQ(m.next_deadline(), kStart + 1100ms);
}

TEST(HealthMonitor, ExactlyOnABoundaryStillMovesToTheNextOne) {
  HealthMonitor m(config_with(2), 1, kStart);
  m.due_probes(kStart);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 10ms);
  ASSERT_EQ(m.due_probes(kStart + 300ms).size(), 1u);
  EXPECT_EQ(m.next_probe_due(0), kStart + 400ms);
}

TEST(HealthMonitor, ProbeRequestedNowIsDueAtOnceAndTheGridStays) {
  // A 5 s interval: a region that starts serving mid-interval is probed now, not 5 s later.
  HealthMonitor m(MonitorConfig{.probe_interval = 5s, .probe_timeout = 1s}, 2, kStart);
  ASSERT_EQ(m.due_probes(kStart).size(), 2u);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 10ms);
  m.on_probe_result(1, ProbeOutcome::kFailure, kStart + 10ms);
  EXPECT_EQ(m.next_deadline(), kStart + 5s);
  m.request_probe_now(kStart + 1200ms);
  EXPECT_EQ(m.next_deadline(), kStart + 1200ms);
  EXPECT_EQ(m.due_probes(kStart + 1200ms), (std::vector<size_t>{0, 1}));
  auto change = m.on_probe_result(1, ProbeOutcome::kSuccess, kStart + 1210ms);
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->to, EndpointStatus::kOnline);
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 1210ms);
  // One extra probe each, then the old grid.
  EXPECT_TRUE(m.due_probes(kStart + 1300ms).empty());
  EXPECT_EQ(m.next_deadline(), kStart + 5s);
  EXPECT_EQ(m.next_probe_due(1), kStart + 5s);
}

TEST(HealthMonitor, ProbeRequestedWhileOneIsInFlightFollowsItsResult) {
  HealthMonitor m(MonitorConfig{.probe_interval = 5s, .probe_timeout = 1s}, 1, kStart);
  ASSERT_EQ(m.due_probes(kStart).size(), 1u);
  // The answer in flight may predate what the request is about: probe once more after it.
  m.request_probe_now(kStart + 100ms);
  EXPECT_TRUE(m.due_probes(kStart + 100ms).empty());
  EXPECT_EQ(m.next_deadline(), kNever);
  m.on_probe_result(0, ProbeOutcome::kFailure, kStart + 150ms);
  EXPECT_EQ(m.next_deadline(), kStart + 100ms);  // already due
  EXPECT_EQ(m.due_probes(kStart + 150ms), (std::vector<size_t>{0}));
  m.on_probe_result(0, ProbeOutcome::kSuccess, kStart + 160ms);
  EXPECT_EQ(m.next_deadline(), kStart + 5s);
}

// --- Config validation ---

TEST(MonitorConfig, DefaultsAreValid) { EXPECT_TRUE(MonitorConfig{}.validate().is_ok()); }

TEST(MonitorConfig, TimeoutEqualToIntervalIsValid) {
  MonitorConfig c = config_with(2);
  c.probe_timeout = c.probe_interval;
  EXPECT_TRUE(c.validate().is_ok());
}

TEST(MonitorConfig, TimeoutLongerThanIntervalNamesBothFields) {
  MonitorConfig c = config_with(2);
  c.probe_timeout = 150ms;
  Status s = c.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "probe_timeout: 150ms must not exceed probe_interval 100ms");
}

TEST(MonitorConfig, NonPositiveIntervalIsRejected) {
  MonitorConfig c = config_with(2);
  c.probe_interval = 0ms;
  Status s = c.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "probe_interval: 0ms must be positive");
  c.probe_interval = -5ms;
  EXPECT_EQ(c.validate().message(), "probe_interval: -5ms must be positive");
}

TEST(MonitorConfig, NonPositiveTimeoutIsRejected) {
  MonitorConfig c = config_with(2);
  c.probe_timeout = 0ms;
  EXPECT_EQ(c.validate().message(), "probe_timeout: 0ms must be positive");
}

TEST(MonitorConfig, SubMillisecondValuesAreShownExactly) {
  MonitorConfig c = config_with(2);
  c.probe_interval = 500us;
  c.probe_timeout = 1500us;
  EXPECT_EQ(c.validate().message(), "probe_timeout: 1.5ms must not exceed probe_interval 0.5ms");
}

TEST(MonitorConfig, ToleratedFailuresAboveNineIsRejected) {
  MonitorConfig c = config_with(9);
  EXPECT_TRUE(c.validate().is_ok());
  c.tolerated_failures = 10;
  Status s = c.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "tolerated_failures: 10 is out of range 0..9");
}

TEST(EndpointStatus, NamesAreTheAzureWords) {
  EXPECT_STREQ(endpoint_status_name(EndpointStatus::kCheckingEndpoint), "CheckingEndpoint");
  EXPECT_STREQ(endpoint_status_name(EndpointStatus::kOnline), "Online");
  EXPECT_STREQ(endpoint_status_name(EndpointStatus::kDegraded), "Degraded");
}

}  // namespace
}  // namespace drsim::model
