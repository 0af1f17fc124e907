// RecoveryPointLog (points held at the target, unprocessed data, commit's keep-only) and the
// data given up by failing over to a point.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/model/siterecovery/recovery_point_log.h"
#include "common/model/siterecovery/recovery_point_loss.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
constexpr Time kT0 = kTimeZero + 1000h;

TEST(RecoveryPointLog, PointHoldsEverythingReplicatedSoFar) {
  RecoveryPointLog log;
  ASSERT_TRUE(log.on_replicated("orders", Seq(7)).is_ok());
  ASSERT_TRUE(log.on_replicated("carts", Seq(3)).is_ok());
  const RecoveryPoint& p = log.cut(RecoveryPointType::kAppConsistent, kT0);
  EXPECT_EQ(p.id, RecoveryPointId(1));
  EXPECT_EQ(p.time, kT0);
  EXPECT_EQ(p.type, RecoveryPointType::kAppConsistent);
  EXPECT_EQ(p.seqs, (std::map<std::string, Seq>{{"carts", Seq(3)}, {"orders", Seq(7)}}));
  // Later data does not change a cut point.
  ASSERT_TRUE(log.on_replicated("orders", Seq(9)).is_ok());
  EXPECT_EQ(log.find(RecoveryPointId(1))->seqs.at("orders"), Seq(7));
}

TEST(RecoveryPointLog, ReplicatedSeqNeverGoesBackwards) {
  RecoveryPointLog log;
  ASSERT_TRUE(log.on_replicated("orders", Seq(7)).is_ok());
  EXPECT_TRUE(log.on_replicated("orders", Seq(7)).is_ok()) << "a repeat is a no-op";
  Status s = log.on_replicated("orders", Seq(6));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "workload 'orders': replicated seq 6 is behind 7 already at the target");
  EXPECT_EQ(log.replicated().at("orders"), Seq(7));
}

TEST(RecoveryPointLog, IdsIncreaseAndAreNeverReusedAfterClear) {
  RecoveryPointLog log;
  EXPECT_EQ(log.cut(RecoveryPointType::kCrashConsistent, kT0).id, RecoveryPointId(1));
  EXPECT_EQ(log.cut(RecoveryPointType::kCrashConsistent, kT0 + 5min).id, RecoveryPointId(2));
  log.clear();
  EXPECT_TRUE(log.points().empty());
  EXPECT_TRUE(log.replicated().empty());
  EXPECT_EQ(log.cut(RecoveryPointType::kCrashConsistent, kT0 + 10min).id, RecoveryPointId(3));
}

TEST(RecoveryPointLog, UnprocessedDataIsWhatNoPointHoldsYet) {
  RecoveryPointLog log;
  EXPECT_FALSE(log.has_unprocessed_data());
  ASSERT_TRUE(log.on_replicated("orders", Seq(1)).is_ok());
  EXPECT_TRUE(log.has_unprocessed_data());
  log.cut(RecoveryPointType::kCrashConsistent, kT0);
  EXPECT_FALSE(log.has_unprocessed_data());
  ASSERT_TRUE(log.on_replicated("orders", Seq(2)).is_ok());
  EXPECT_TRUE(log.has_unprocessed_data());
  log.cut(RecoveryPointType::kCrashConsistent, kT0 + 5min);
  ASSERT_TRUE(log.on_replicated("carts", Seq(1)).is_ok());  // a new workload counts too
  EXPECT_TRUE(log.has_unprocessed_data());
}

TEST(RecoveryPointLog, LatestAndLatestAppConsistent) {
  RecoveryPointLog log;
  EXPECT_EQ(log.latest(), nullptr);
  EXPECT_EQ(log.latest_app_consistent(), nullptr);
  log.cut(RecoveryPointType::kCrashConsistent, kT0);
  EXPECT_EQ(log.latest_app_consistent(), nullptr);
  log.cut(RecoveryPointType::kAppConsistent, kT0 + 5min);
  log.cut(RecoveryPointType::kCrashConsistent, kT0 + 10min);
  EXPECT_EQ(log.latest()->id, RecoveryPointId(3));
  EXPECT_EQ(log.latest_app_consistent()->id, RecoveryPointId(2));
  EXPECT_EQ(log.find(RecoveryPointId(9)), nullptr);
}

TEST(RecoveryPointLog, KeepOnlyDropsEveryOtherPoint) {
  RecoveryPointLog log;
  for (int i = 0; i < 5; ++i) log.cut(RecoveryPointType::kCrashConsistent, kT0 + i * 5min);
  log.keep_only(RecoveryPointId(2));
  ASSERT_EQ(log.points().size(), 1u);
  EXPECT_EQ(log.points()[0].id, RecoveryPointId(2));
}

TEST(RecoveryPointLog, PruneReturnsTheRemovedIds) {
  RecoveryPointLog log;
  for (int i = 0; i <= 12 * 5; ++i) log.cut(RecoveryPointType::kCrashConsistent, kT0 + i * 5min);
  // At kT0 + 5h with 1-day retention: 00:00 .. 02:55 are older than 2h and thin to one per
  // hour (00:00, 01:00, 02:00); everything from 03:00 stays.
  auto removed = log.prune(kT0 + 5h, 24h);
  EXPECT_EQ(removed.size(), 36u - 3u);
  EXPECT_EQ(log.points().size(), 61u - 33u);
  EXPECT_EQ(log.points()[0].time, kT0);
  EXPECT_EQ(log.points()[1].time, kT0 + 1h);
  EXPECT_EQ(log.points()[2].time, kT0 + 2h);
  EXPECT_EQ(log.points()[3].time, kT0 + 3h);
  EXPECT_TRUE(log.prune(kT0 + 5h, 24h).empty()) << "pruning is idempotent";
}

// --- Data given up ---

RecoveryPoint point_with(std::map<std::string, Seq> seqs) {
  return RecoveryPoint{RecoveryPointId(1), kT0, RecoveryPointType::kCrashConsistent,
                       std::move(seqs)};
}

TEST(RecoveryPointLoss, WritesAfterThePointAreGivenUpPerWorkload) {
  auto loss = data_given_up(point_with({{"orders", Seq(100)}, {"carts", Seq(40)}}),
                            {{"orders", Seq(112)}, {"carts", Seq(40)}});
  ASSERT_EQ(loss.workloads.size(), 2u);
  EXPECT_EQ(loss.workloads[0].workload, "carts");
  EXPECT_EQ(loss.workloads[0].writes, 0u);
  EXPECT_EQ(loss.workloads[1].workload, "orders");
  EXPECT_EQ(loss.workloads[1].point_seq, Seq(100));
  EXPECT_EQ(loss.workloads[1].source_last_written, Seq(112));
  EXPECT_EQ(loss.workloads[1].writes, 12u);
  EXPECT_EQ(loss.known_writes, 12u);
  EXPECT_EQ(loss.unknown_workloads, 0u);
}

TEST(RecoveryPointLoss, UnknownSourceIsReportedNotGuessed) {
  // The source region is gone: nothing known about "orders".
  auto loss = data_given_up(point_with({{"orders", Seq(100)}}), {});
  ASSERT_EQ(loss.workloads.size(), 1u);
  EXPECT_FALSE(loss.workloads[0].source_last_written.has_value());
  EXPECT_FALSE(loss.workloads[0].writes.has_value());
  EXPECT_EQ(loss.known_writes, 0u);
  EXPECT_EQ(loss.unknown_workloads, 1u);
}

TEST(RecoveryPointLoss, WorkloadMissingFromThePointLosesEverything) {
  auto loss = data_given_up(point_with({}), {{"orders", Seq(5)}});
  ASSERT_EQ(loss.workloads.size(), 1u);
  EXPECT_EQ(loss.workloads[0].point_seq, Seq(0));
  EXPECT_EQ(loss.workloads[0].writes, 5u);
  EXPECT_EQ(loss.known_writes, 5u);
}

TEST(RecoveryPointLoss, PointAheadOfTheSourceGivesUpNothing) {
  auto loss = data_given_up(point_with({{"orders", Seq(10)}}), {{"orders", Seq(8)}});
  EXPECT_EQ(loss.workloads[0].writes, 0u);
  EXPECT_EQ(loss.known_writes, 0u);
}

}  // namespace
}  // namespace drsim::model
