// SyncAckTracker: the sync writes an active region holds until the standby has them durable,
// answered on the standby's acks, on their deadline, or all at once (RegionNode's write path).
#include "common/model/replication/sync_acks.h"

#include <gtest/gtest.h>

#include <vector>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using Ids = std::vector<SyncAckTracker::WriteId>;

constexpr Time t0 = kTimeZero;

TEST(SyncAckTracker, AWriteIsAnsweredWhenTheStandbyHasItsNewestSeq) {
  SyncAckTracker t(2, 1s);
  t.add(1, t0, {{0, Seq(3)}});
  t.add(2, t0, {{0, Seq(5)}});
  EXPECT_EQ(t.on_acked(0, Seq(2)), Ids{});
  EXPECT_EQ(t.on_acked(0, Seq(4)), Ids{1});
  EXPECT_EQ(t.waiting(), 1u);
  EXPECT_EQ(t.on_acked(1, Seq(100)), Ids{}) << "another workload's ack answers nothing";
  EXPECT_EQ(t.on_acked(0, Seq(9)), Ids{2});
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.next_deadline());
}

TEST(SyncAckTracker, AWriteAcrossWorkloadsWaitsForEachOfThem) {
  SyncAckTracker t(3, 1s);
  t.add(7, t0, {{0, Seq(1)}, {2, Seq(4)}});
  EXPECT_EQ(t.on_acked(2, Seq(4)), Ids{});
  EXPECT_EQ(t.on_acked(0, Seq(1)), Ids{7});
  // Waits added later to a write already waiting keep its deadline.
  t.add(8, t0, {{1, Seq(1)}});
  t.add(8, t0 + 500ms, {{1, Seq(2)}});
  EXPECT_EQ(t.next_deadline(), t0 + 1s);
  EXPECT_EQ(t.on_acked(1, Seq(1)), Ids{});
  EXPECT_EQ(t.on_acked(1, Seq(2)), Ids{8});
}

TEST(SyncAckTracker, TheDeadlineAnswersAWriteOnceAndALaterAckDoesNotAgain) {
  SyncAckTracker t(2, 1s);
  t.add(1, t0, {{0, Seq(1)}, {1, Seq(1)}});
  t.add(2, t0 + 300ms, {{0, Seq(2)}});
  EXPECT_EQ(t.next_deadline(), t0 + 1s);
  EXPECT_EQ(t.expire(t0 + 999ms), Ids{});
  EXPECT_EQ(t.on_acked(1, Seq(1)), Ids{}) << "write 1 still waits for workload 0";
  EXPECT_EQ(t.expire(t0 + 1s), Ids{1}) << "deadline = started + timeout, inclusive";
  EXPECT_EQ(t.next_deadline(), t0 + 1300ms);
  EXPECT_EQ(t.expire(t0 + 1s), Ids{});
  EXPECT_EQ(t.on_acked(0, Seq(1)), Ids{}) << "write 1 was answered by its deadline";
  EXPECT_EQ(t.on_acked(0, Seq(2)), Ids{2});
  EXPECT_TRUE(t.empty());
}

TEST(SyncAckTracker, ExpiryIsByDeadlineNotByPlaceInTheWorkload) {
  // A write that waited longer before its seq was assigned times out first, even behind a
  // younger one in its workload.
  SyncAckTracker t(1, 1s);
  t.add(1, t0 + 200ms, {{0, Seq(1)}});
  t.add(2, t0, {{0, Seq(2)}});
  EXPECT_EQ(t.next_deadline(), t0 + 1s);
  EXPECT_EQ(t.expire(t0 + 1100ms), Ids{2});
  EXPECT_EQ(t.on_acked(0, Seq(2)), Ids{1});
}

TEST(SyncAckTracker, TakeAllAnswersEveryWaitingWriteOnceInWorkloadOrder) {
  SyncAckTracker t(3, 1s);
  t.add(1, t0, {{2, Seq(1)}});
  t.add(2, t0, {{0, Seq(1)}, {2, Seq(2)}});
  t.add(3, t0, {{1, Seq(1)}});
  EXPECT_EQ(t.take_all(), (Ids{2, 3, 1}));
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.next_deadline());
  EXPECT_EQ(t.on_acked(2, Seq(5)), Ids{});
  EXPECT_EQ(t.expire(t0 + 1h), Ids{});
}

TEST(SyncAckTracker, AStandbyThatNeverAcksLeavesNothingBehindOnceWritesTimeOut) {
  // Timed-out waits must not pile up behind a silent standby.
  SyncAckTracker t(2, 1s);
  for (uint64_t i = 1; i <= 1000; ++i) {
    t.add(i, t0 + std::chrono::milliseconds(i), {{0, Seq(i)}, {1, Seq(i)}});
  }
  EXPECT_EQ(t.waits_held(), 2000u);
  EXPECT_EQ(t.expire(t0 + 1h).size(), 1000u);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.waits_held(), 0u) << "timed-out waits left behind";
}

TEST(SyncAckTracker, AWriteWithNoWaitIsNotKept) {
  SyncAckTracker t(1, 1s);
  t.add(1, t0, {});
  EXPECT_TRUE(t.empty());
  EXPECT_FALSE(t.next_deadline());
}

}  // namespace
}  // namespace drsim::model
