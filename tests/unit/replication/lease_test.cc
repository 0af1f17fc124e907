// LeaseHolder / LeaseGrantor: expiry with the drift bound, renewal ordering, fencing, and the
// wait a promoting standby must observe — on plain Time values.
#include "common/model/replication/lease.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using std::chrono::milliseconds;

Time at(int64_t ms) { return kTimeZero + milliseconds(ms); }

LeaseTimes times_1s() {
  LeaseTimes t;
  t.lease = milliseconds(1000);
  t.renew_interval = milliseconds(250);
  t.drift = 0.05;
  return t;
}

TEST(LeaseTimes, DefaultsAreValidAndBoundsNameTheField) {
  EXPECT_TRUE(LeaseTimes{}.validate("replication").is_ok());
  LeaseTimes t = times_1s();
  t.renew_interval = milliseconds(600);
  Status s = t.validate("replication");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("replication.lease_renew_interval_ms"), std::string::npos);
  t = times_1s();
  t.lease = milliseconds(5);
  EXPECT_NE(t.validate("r").message().find("r.lease_ms"), std::string::npos);
  t = times_1s();
  t.drift = 0.5;
  EXPECT_FALSE(t.validate("r").is_ok());
}

TEST(LeaseHolder, NoLeaseBeforeTheFirstGrant) {
  LeaseHolder h(times_1s(), "secondary or trafficmgr");
  h.reset(Epoch(1), at(0));
  EXPECT_FALSE(h.valid(at(0)));
  EXPECT_EQ(h.lost_reason(at(300)),
            "no lease yet at epoch 1: no grant from secondary or trafficmgr for 300 ms");
}

TEST(LeaseHolder, GrantLastsLeaseTimesOneMinusDriftFromTheSending) {
  LeaseHolder h(times_1s(), "secondary or trafficmgr");
  h.reset(Epoch(1), at(0));
  uint64_t id = h.on_request_sent(at(100));
  // Received 400 ms later: the lease still counts from 100 ms.
  EXPECT_TRUE(h.on_granted(id, Epoch(1), at(500)));
  EXPECT_TRUE(h.valid(at(1049)));
  EXPECT_FALSE(h.valid(at(1050)));  // 100 + 1000 × 0.95
  EXPECT_EQ(h.expires_in(at(1000)), milliseconds(50));
  EXPECT_EQ(h.lost_reason(at(1400)), "lease expired: no renewal from secondary or trafficmgr for 900 ms");
}

TEST(LeaseHolder, LateGrantOfAnOlderRequestNeverShortensTheLease) {
  LeaseHolder h(times_1s(), "x");
  h.reset(Epoch(1), at(0));
  uint64_t first = h.on_request_sent(at(0));
  uint64_t second = h.on_request_sent(at(250));
  h.on_granted(second, Epoch(1), at(260));
  EXPECT_EQ(h.valid_until(), at(250 + 950));
  // The older request's grant arrives afterwards (another grantor): forgotten, changes nothing.
  EXPECT_FALSE(h.on_granted(first, Epoch(1), at(270)));
  EXPECT_EQ(h.valid_until(), at(1200));
}

TEST(LeaseHolder, GrantForAnotherEpochOrUnknownRequestIsIgnored) {
  LeaseHolder h(times_1s(), "x");
  h.reset(Epoch(2), at(0));
  uint64_t id = h.on_request_sent(at(10));
  EXPECT_FALSE(h.on_granted(id, Epoch(1), at(20)));
  EXPECT_FALSE(h.on_granted(id + 7, Epoch(2), at(20)));
  EXPECT_FALSE(h.valid(at(20)));
  // A grant for a request sent before a reset (the old epoch) does not carry over.
  h.reset(Epoch(3), at(30));
  EXPECT_FALSE(h.on_granted(id, Epoch(3), at(40)));
  EXPECT_FALSE(h.valid(at(40)));
}

TEST(LeaseHolder, RelinquishEndsTheLeaseAtOnce) {
  LeaseHolder h(times_1s(), "x");
  h.reset(Epoch(1), at(0));
  h.on_granted(h.on_request_sent(at(0)), Epoch(1), at(1));
  h.relinquish(at(100));
  EXPECT_FALSE(h.valid(at(100)));
  EXPECT_FALSE(h.on_granted(h.on_request_sent(at(110)), Epoch(1), at(120)));
  EXPECT_EQ(h.lost_reason(at(130)), "lease relinquished: handed over to the peer");
}

TEST(LeaseGrantor, GrantsTheHighestEpochAndRefusesOlderOnes) {
  LeaseGrantor g(times_1s(), at(0));
  EXPECT_TRUE(g.on_request("primary", Epoch(1), at(10)).granted);
  EXPECT_TRUE(g.on_request("secondary", Epoch(2), at(20)).granted);
  LeaseAnswer a = g.on_request("primary", Epoch(1), at(30));
  EXPECT_FALSE(a.granted);
  EXPECT_EQ(a.highest, Epoch(2));
  EXPECT_NE(a.reason.find("epoch 2 is newer"), std::string::npos);
}

TEST(LeaseGrantor, FencedGrantorRefusesTheOldEpochAndReportsTheRemainingBelief) {
  LeaseGrantor g(times_1s(), at(-5000));
  ASSERT_TRUE(g.on_request("primary", Epoch(1), at(1000)).granted);
  auto wait = g.fence(Epoch(2), at(1400));
  ASSERT_TRUE(wait.is_ok());
  EXPECT_EQ(*wait, milliseconds(650));  // 1000 + 1050 − 1400
  EXPECT_FALSE(g.on_request("primary", Epoch(1), at(1500)).granted);
  EXPECT_NE(g.on_request("primary", Epoch(1), at(1500)).reason.find("being promoted"),
            std::string::npos);
  // Long after the last grant: nothing left to wait for.
  LeaseGrantor quiet(times_1s(), at(-5000));
  quiet.on_request("primary", Epoch(1), at(0));
  EXPECT_EQ(*quiet.fence(Epoch(2), at(3000)), Duration::zero());
}

TEST(LeaseGrantor, TheHolderStopsBeforeTheGrantorStopsBelieving) {
  // The invariant the pair exists for, on the worst ordering: the request is granted the
  // instant it is sent, and the grantor fences right after.
  LeaseTimes t = times_1s();
  LeaseHolder h(t, "x");
  h.reset(Epoch(1), at(0));
  LeaseGrantor g(t, at(-10'000));
  uint64_t id = h.on_request_sent(at(100));
  ASSERT_TRUE(g.on_request("primary", Epoch(1), at(100)).granted);
  h.on_granted(id, Epoch(1), at(100));
  auto wait = g.fence(Epoch(2), at(100));
  ASSERT_TRUE(wait.is_ok());
  Time successor_starts = at(100) + *wait;
  // Even with the holder's clock slow by ε the holder has stopped when the successor starts.
  Duration holder_elapsed = std::chrono::duration_cast<Duration>((successor_starts - at(100)) * (1 - t.drift));
  EXPECT_FALSE(h.valid(at(100) + holder_elapsed));
}

// The same worst ordering with drifted clocks, in real time: the holder's lease lasts
// holder_validity / (1 + holder_rate), the grantor's belief grantor_belief / (1 + grantor_rate).
TEST(LeaseDrift, InsideTheBoundTheHolderStopsFirstBeyondItTwoRegionsOverlap) {
  LeaseTimes t = times_1s();  // ε = 0.05
  auto overlap_ms = [&](double holder_rate, double grantor_rate) {
    using ms = std::chrono::duration<double, std::milli>;
    double holder_stops = ms(t.holder_validity()).count() / (1 + holder_rate);
    double grantor_stops = ms(t.grantor_belief()).count() / (1 + grantor_rate);
    return holder_stops - grantor_stops;
  };
  // 2 % slow holder, 2 % fast grantor: inside the bound, and the holder stops first.
  EXPECT_TRUE(drift_within_bound(t, -0.02, 0.02));
  EXPECT_LT(overlap_ms(-0.02, 0.02), 0);
  // 4 % either way is still inside (the bound is on the ratio: about 2ε between two clocks).
  EXPECT_TRUE(drift_within_bound(t, -0.04, 0.04));
  EXPECT_LT(overlap_ms(-0.04, 0.04), 0);
  // 6 % either way: beyond it, and the holder acknowledges after the successor may start.
  EXPECT_FALSE(drift_within_bound(t, -0.06, 0.06));
  EXPECT_GT(overlap_ms(-0.06, 0.06), 0);
  // A fast holder or a slow grantor is always safe, however large.
  EXPECT_TRUE(drift_within_bound(t, 0.4, -0.4));
  // The boundary agrees with the overlap: the largest safe symmetric drift is ε exactly:
  // (1 + r)(1 − ε) ≤ (1 + ε)(1 − r) ⇔ r ≤ ε.
  EXPECT_TRUE(drift_within_bound(t, -0.05, 0.05));
  EXPECT_FALSE(drift_within_bound(t, -0.0501, 0.0501));
}

TEST(LeaseDrift, CheckNamesTheTwoProcessesAndIsSymmetricInWhoHolds) {
  LeaseTimes t = times_1s();
  EXPECT_TRUE(check_clock_drift(t, {{"primary", -0.02}, {"secondary", 0.02}, {"trafficmgr", 0}})
                  .is_ok());
  // Fast primary: safe while it holds, not once the secondary holds and it grants.
  Status s = check_clock_drift(t, {{"primary", 0.2}, {"secondary", 0.0}, {"trafficmgr", 0.0}});
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("a lease secondary holds could outlast primary's belief"),
            std::string::npos)
      << s.message();
}

TEST(LeaseGrantor, ARetriedPromotionFencesTheSameEpochAgain) {
  LeaseGrantor g(times_1s(), at(-5000));
  g.on_request("primary", Epoch(1), at(0));
  ASSERT_EQ(*g.fence(Epoch(2), at(100)), milliseconds(950));
  g.keep_fence();
  // The new active region renews at epoch 2; a retry of the fence still answers for epoch 1.
  EXPECT_TRUE(g.on_request("secondary", Epoch(2), at(200)).granted);
  auto again = g.fence(Epoch(2), at(300));
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*again, milliseconds(750));
  EXPECT_FALSE(g.fence(Epoch(1), at(300)).is_ok());
}

TEST(LeaseGrantor, RestartedGrantorAssumesItJustGranted) {
  LeaseGrantor g(times_1s(), at(500));
  EXPECT_EQ(*g.fence(Epoch(2), at(500)), milliseconds(1050));
}

TEST(LeaseGrantor, LiftedFenceGrantsTheOldEpochAgain) {
  LeaseGrantor g(times_1s(), at(0));
  g.on_request("primary", Epoch(1), at(0));
  ASSERT_TRUE(g.fence(Epoch(2), at(10)).is_ok());
  g.lift_fence();
  EXPECT_TRUE(g.on_request("primary", Epoch(1), at(20)).granted);
  // A fence for an epoch already known is refused.
  g.observe(Epoch(4));
  EXPECT_EQ(g.fence(Epoch(3), at(30)).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace drsim::model
