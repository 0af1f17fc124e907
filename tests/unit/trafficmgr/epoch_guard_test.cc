// TmEpochGuard: a SERVING answer at an epoch older than the newest the profile has seen is not
// routable; the newest epoch never goes down; answers without an epoch pass unchanged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/model/trafficmgr/epoch_guard.h"
#include "common/model/trafficmgr/failover_meter.h"
#include "common/model/trafficmgr/health_tracker.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

constexpr auto kFail = ProbeOutcome::kFailure;
constexpr auto kOk = ProbeOutcome::kSuccess;

RegionClaim active_at(uint64_t epoch) { return {Epoch(epoch), Role::kActive}; }
RegionClaim standby_at(uint64_t epoch) { return {Epoch(epoch), Role::kStandby}; }

TmEpochGuard pair() { return TmEpochGuard({"primary", "secondary"}); }

TEST(TmEpochGuard, ServingAtTheNewestEpochIsASuccess) {
  TmEpochGuard g = pair();
  auto j = g.on_probe_result(0, kOk, active_at(1));
  EXPECT_EQ(j.outcome, kOk);
  EXPECT_TRUE(j.superseded.empty());
  EXPECT_EQ(g.newest().value(), 1u);
  EXPECT_EQ(g.claim(0)->epoch.value(), 1u);
}

TEST(TmEpochGuard, ServingAtAnOlderEpochThanAnotherEndpointReportedIsAFailureWithAReason) {
  TmEpochGuard g = pair();
  ASSERT_EQ(g.on_probe_result(0, kOk, active_at(1)).outcome, kOk);
  ASSERT_EQ(g.on_probe_result(1, kOk, active_at(2)).outcome, kOk);  // failed over
  auto j = g.on_probe_result(0, kOk, active_at(1));  // the old primary, resumed, not yet fenced
  EXPECT_EQ(j.outcome, kFail);
  EXPECT_EQ(j.superseded,
            "superseded: answered SERVING as active at epoch 1, but secondary reported epoch 2");
  EXPECT_EQ(g.superseded(0), j.superseded);
  EXPECT_TRUE(g.superseded(1).empty());
}

TEST(TmEpochGuard, AStandbyClaimRaisesTheNewestEpochToo) {
  TmEpochGuard g = pair();
  g.on_probe_result(1, kFail, standby_at(3));  // NOT_SERVING, but it follows epoch 3
  EXPECT_EQ(g.newest().value(), 3u);
  EXPECT_EQ(g.on_probe_result(0, kOk, active_at(2)).outcome, kFail);
}

TEST(TmEpochGuard, TheNewestEpochNeverGoesDown) {
  TmEpochGuard g = pair();
  g.on_probe_result(1, kOk, active_at(5));
  g.on_probe_result(1, kFail, std::nullopt);  // probe failed: no claim
  g.on_probe_result(1, kOk, active_at(4));    // (cannot happen, but must not lower it)
  EXPECT_EQ(g.newest().value(), 5u);
  EXPECT_EQ(g.on_probe_result(0, kOk, active_at(4)).outcome, kFail);
}

TEST(TmEpochGuard, TheFencedRegionBecomesRoutableAgainOnceItReportsTheNewestEpoch) {
  TmEpochGuard g = pair();
  g.on_probe_result(1, kOk, active_at(2));
  EXPECT_EQ(g.on_probe_result(0, kOk, active_at(1)).outcome, kFail);
  // It stepped down (NOT_SERVING at 2), later a failback promotes it at 3.
  EXPECT_EQ(g.on_probe_result(0, kFail, standby_at(2)).outcome, kFail);
  EXPECT_EQ(g.on_probe_result(0, kOk, active_at(3)).outcome, kOk);
  EXPECT_TRUE(g.superseded(0).empty());
  EXPECT_EQ(g.on_probe_result(1, kOk, active_at(2)).outcome, kFail);
}

TEST(TmEpochGuard, AnswersWithoutAClaimPassUnchanged) {
  TmEpochGuard g = pair();
  g.on_probe_result(1, kOk, active_at(7));
  EXPECT_EQ(g.on_probe_result(0, kOk, std::nullopt).outcome, kOk);  // TCP probe, or external
  EXPECT_EQ(g.on_probe_result(0, kFail, std::nullopt).outcome, kFail);
  EXPECT_FALSE(g.claim(0).has_value());
}

TEST(TmEpochGuard, AFailureStaysAFailureWhateverItsEpoch) {
  TmEpochGuard g = pair();
  auto j = g.on_probe_result(0, kFail, active_at(9));
  EXPECT_EQ(j.outcome, kFail);
  EXPECT_TRUE(j.superseded.empty());
}

// The issue-13 sequence on the models the Traffic Manager drives: the primary freezes and is
// degraded, the route fails over, then the primary resumes and answers one probe SERVING at its
// old epoch before it learns it is fenced. Judged by the guard, that answer keeps the failure
// streak going: the endpoint never comes back Online, and the meter keeps the measured
// failover instead of recording the flap as a new one.
TEST(TmFailoverMeter, AStaleEpochAnswerAfterResumeIsNoFlapAndKeepsTheMeasuredFailover) {
  TmEpochGuard guard = pair();
  TmHealthTracker tracker(/*tolerated_failures=*/2, /*success_threshold=*/1, 2);
  TmFailoverMeter meter(2);
  Time t = kTimeZero + 10s;
  auto feed = [&](size_t e, ProbeOutcome o, std::optional<RegionClaim> c) {
    ProbeOutcome judged = guard.on_probe_result(e, o, c).outcome;
    meter.on_probe_result(e, judged, t);
    tracker.on_probe_result(e, judged, t);
    t += 100ms;
  };
  feed(0, kOk, active_at(1));
  feed(1, kFail, standby_at(1));
  const Time frozen = t;
  for (int i = 0; i < 3; ++i) feed(0, kFail, std::nullopt);  // SIGSTOP: timeouts
  ASSERT_EQ(tracker.status(0), EndpointStatus::kDegraded);
  std::vector<size_t> left{0};
  auto first = meter.on_route_change(left, t);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->first_failure, frozen);
  feed(1, kOk, active_at(2));  // failover: the secondary serves at epoch 2
  feed(0, kOk, active_at(1));  // SIGCONT: one SERVING answer at epoch 1
  EXPECT_EQ(tracker.status(0), EndpointStatus::kDegraded) << "routed back to a fenced region";
  EXPECT_EQ(meter.streak_start(0), frozen) << "the stale answer ended the failure streak";
  feed(0, kFail, standby_at(2));  // fenced: NOT_SERVING as standby
  EXPECT_EQ(meter.last()->first_failure, frozen);
  EXPECT_EQ(meter.last()->took(), first->took());
}

}  // namespace
}  // namespace drsim::model
