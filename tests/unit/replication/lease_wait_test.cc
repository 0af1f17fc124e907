// model::after_witness / wait_over: what a promoting standby does with the lease witness's
// answer to FenceLease, and whether it may promote when its wait is over
// (RegionNode::wait_out_old_lease acts on these).
#include "common/model/replication/lease_wait.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using Kind = LeaseWaitStep::Kind;

constexpr Time t0 = kTimeZero + 10s;

LeaseWaitFacts facts() {
  LeaseWaitFacts f;
  f.region = "secondary";
  f.peer = "primary";
  f.witness_address = "127.0.0.1:9";
  f.next = Epoch(3);
  f.promotion_epoch = Epoch(3);
  f.now = t0;
  f.own_until = t0 + 400ms;
  f.full_lease = 1050ms;
  return f;
}

WitnessFenceAnswer granted(Duration remaining) {
  WitnessFenceAnswer a;
  a.remaining = remaining;
  return a;
}

TEST(LeaseWait, TheWitnessAnswerWaitsForTheLaterOfBothGrantsAndProvesTheEpoch) {
  LeaseWaitStep longer = after_witness(facts(), granted(900ms));
  EXPECT_EQ(longer.kind, Kind::kWaitUntil);
  EXPECT_EQ(longer.until, t0 + 900ms);
  EXPECT_TRUE(longer.proven);
  EXPECT_FALSE(longer.without_witness);
  LeaseWaitStep own = after_witness(facts(), granted(100ms));
  EXPECT_EQ(own.until, t0 + 400ms) << "this region's own grant ends later";
  EXPECT_EQ(after_witness(facts(), granted(0ms)).until, t0 + 400ms);
}

TEST(LeaseWait, AWitnessThatKnowsANewerEpochIsRetriedBeyondItOnce) {
  WitnessFenceAnswer refused;
  refused.refused = true;
  refused.highest = Epoch(5);
  refused.reason = "epoch 3 is not newer than 5";
  LeaseWaitStep retry = after_witness(facts(), refused);
  EXPECT_EQ(retry.kind, Kind::kRetryBeyond);
  EXPECT_EQ(retry.highest, Epoch(5));
  LeaseWaitFacts used = facts();
  used.retry_allowed = false;
  LeaseWaitStep no = after_witness(used, refused);
  EXPECT_EQ(no.kind, Kind::kRefuse);
  EXPECT_EQ(no.refusal.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(no.refusal.message(),
            "the lease witness trafficmgr refused the failover: epoch 3 is not newer than 5");
  // A refusal naming an older epoch than this promotion's is no reason to go further.
  refused.highest = Epoch(2);
  EXPECT_EQ(after_witness(facts(), refused).kind, Kind::kRefuse);
}

TEST(LeaseWait, AnUnreachableWitnessRefusesUnlessTheOperatorForcesAFullLease) {
  WitnessFenceAnswer down;
  down.call = unavailable("connection refused");
  LeaseWaitStep refuse = after_witness(facts(), down);
  EXPECT_EQ(refuse.kind, Kind::kRefuse);
  EXPECT_EQ(refuse.refusal.code(), StatusCode::kUnavailable);
  EXPECT_EQ(refuse.refusal.message(),
            "the lease witness trafficmgr at 127.0.0.1:9 is unreachable (connection refused): "
            "region secondary cannot prove that primary's lease expired (it may still renew "
            "there), so it was not promoted; retry when the witness answers, or pass "
            "--force-without-witness to wait a full lease (1050 ms) and promote anyway");
  LeaseWaitFacts forced = facts();
  forced.force_without_witness = true;
  LeaseWaitStep wait = after_witness(forced, down);
  EXPECT_EQ(wait.kind, Kind::kWaitUntil);
  EXPECT_EQ(wait.until, t0 + 1050ms);
  EXPECT_TRUE(wait.without_witness);
  EXPECT_FALSE(wait.proven);
  WitnessFenceAnswer slow;
  slow.call = Status(StatusCode::kDeadlineExceeded, "deadline");
  EXPECT_EQ(after_witness(forced, slow).kind, Kind::kWaitUntil) << "no answer in time = down";
}

TEST(LeaseWait, AnyOtherWitnessErrorRefusesEvenWhenForced) {
  WitnessFenceAnswer bad;
  bad.call = Status(StatusCode::kPermissionDenied, "identity secondary may not fence");
  LeaseWaitFacts forced = facts();
  forced.force_without_witness = true;
  LeaseWaitStep step = after_witness(forced, bad);
  EXPECT_EQ(step.kind, Kind::kRefuse);
  EXPECT_EQ(step.refusal.message(),
            "the lease witness trafficmgr refused the failover: identity secondary may not fence");
}

TEST(LeaseWait, AStandbyThatLearnedANewerEpochWhileWaitingIsRefused) {
  EXPECT_TRUE(wait_over("secondary", Epoch(3), true, Epoch(3), Epoch(2)).is_ok());
  EXPECT_TRUE(wait_over("secondary", Epoch(3), false, Epoch(5), Epoch(4)).is_ok())
      << "no longer a standby: failover() answers why";
  Status s = wait_over("secondary", Epoch(3), true, Epoch(5), Epoch(4));
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("to become active at epoch 3, it learned epoch 4: another failover "
                             "is under way or done"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace drsim::model
