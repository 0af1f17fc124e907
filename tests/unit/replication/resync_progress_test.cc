// ResyncProgress: targets, completion and counters of a re-protect resync.
#include "common/model/replication/resync_progress.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

ResyncPlan delta(uint64_t common, uint64_t rollback) {
  ResyncPlan p;
  p.kind = ResyncKind::kDelta;
  p.common = Seq(common);
  p.common_epoch = Epoch(1);
  p.rollback_entries = rollback;
  return p;
}

ResyncPlan full() {
  ResyncPlan p;
  p.kind = ResyncKind::kFull;
  p.reason = "no data";
  return p;
}

TEST(ResyncProgress, DeltaCompletesWhenEveryWorkloadReachedItsTarget) {
  ResyncProgress p(kTimeZero + 1s);
  EXPECT_TRUE(p.running());
  p.on_planned("web", delta(100, 20), Seq(130), 7);
  EXPECT_FALSE(p.complete(2));  // db has no plan yet
  p.on_planned("db", delta(50, 0), Seq(50), 0);
  EXPECT_FALSE(p.complete(2));
  EXPECT_NEAR(p.fraction(2), 0.5, 1e-9);  // db has nothing to send: done already
  p.on_changes("web", 30, 3000);
  p.on_reached("web", Seq(115));
  EXPECT_NEAR(p.workloads().at("web").fraction(), 0.5, 1e-9);
  p.on_reached("web", Seq(130));
  p.on_reached("db", Seq(50));
  EXPECT_TRUE(p.complete(2));
  p.finish(kTimeZero + 3s);
  EXPECT_FALSE(p.running());
  EXPECT_TRUE(p.started());
  EXPECT_EQ(p.kind(), ResyncKind::kDelta);
  EXPECT_EQ(p.changes(), 30u);
  EXPECT_EQ(p.bytes(), 3000u);
  EXPECT_EQ(p.rolled_back_entries(), 20u);
  EXPECT_EQ(p.restored_keys(), 7u);
  EXPECT_EQ(p.elapsed(kTimeZero + 10s), 2s);
  EXPECT_EQ(p.fraction(2), 1.0);
}

TEST(ResyncProgress, FullCopyWaitsForTheCopyAndTheSnapshotSeq) {
  ResyncProgress p(kTimeZero);
  p.on_planned("web", full(), Seq(10), 0);
  p.on_copy_started("web", Seq(12), 1000);
  EXPECT_EQ(p.workloads().at("web").target, Seq(12));
  p.on_copy_chunk("web", 5, 500);
  EXPECT_NEAR(p.fraction(1), 0.5, 1e-9);
  p.on_reached("web", Seq(12));
  EXPECT_FALSE(p.complete(1));  // the copy is not finished
  p.on_copy_finished("web");
  EXPECT_TRUE(p.complete(1));
  EXPECT_EQ(p.kind(), ResyncKind::kFull);
  EXPECT_EQ(p.keys_copied(), 5u);
}

TEST(ResyncProgress, ReplanAfterAReconnectKeepsCountersAndStaysFullOnceFull) {
  ResyncProgress p(kTimeZero);
  p.on_planned("web", full(), Seq(10), 0);
  p.on_copy_chunk("web", 3, 300);
  p.on_bytes(40);
  // The stream broke; the standby now plans a delta from what it holds.
  p.on_planned("web", delta(10, 0), Seq(15), 0);
  EXPECT_EQ(p.kind(), ResyncKind::kFull);
  EXPECT_EQ(p.bytes(), 340u);
  p.on_reached("web", Seq(15));
  EXPECT_TRUE(p.complete(1));
}

TEST(ResyncProgress, DefaultIsNotStarted) {
  ResyncProgress p;
  EXPECT_FALSE(p.running());
  EXPECT_FALSE(p.started());
  EXPECT_FALSE(p.complete(1));
  EXPECT_EQ(p.fraction(1), 0.0);
}

}  // namespace
}  // namespace drsim::model
