// Restoring Site Recovery state from what a driver persisted: a lifecycle restored from its
// record behaves exactly like the one that wrote it (same points, same next point, same
// refusals), bad records are refused naming the field, and checkpoints that settle at newer seqs
// or fail change the point log as the driver needs. Also the job table and the point schedule.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/core/clock.h"
#include "common/model/siterecovery/recovery_point_log.h"
#include "common/model/siterecovery/recovery_point_schedule.h"
#include "common/model/siterecovery/job.h"
#include "common/model/siterecovery/lifecycle.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using S = ProtectionState;
using K = RecoveryPointChoiceKind;
constexpr Time kT0 = kTimeZero + 1000h;

ProtectionLifecycle vm(std::optional<Duration> app = std::nullopt) {
  ReplicationPolicy p;
  p.app_consistent_interval = app;
  return ProtectionLifecycle("vm-web", ProtectionScope::kSingleVm, {"vm-web"}, "eastus", "westus",
                             p);
}

// Protected with three points (seqs 10, 20, 30), 15 minutes after the sync.
ProtectionLifecycle protected_with_points(ManualClock& clock,
                                          std::optional<Duration> app = std::nullopt) {
  ProtectionLifecycle lc = vm(app);
  EXPECT_TRUE(lc.enable_replication(clock.now()).is_ok());
  EXPECT_TRUE(lc.on_replicated("vm-web", Seq(10), clock.now()).is_ok());
  EXPECT_TRUE(lc.on_sync_completed(clock.now()).is_ok());
  for (uint64_t seq : {20, 30}) {
    clock.advance(5min);
    EXPECT_TRUE(lc.on_replicated("vm-web", Seq(seq), clock.now()).is_ok());
    EXPECT_TRUE(lc.tick(clock.now()).cut.has_value());
  }
  clock.advance(1min);
  EXPECT_TRUE(lc.on_replicated("vm-web", Seq(35), clock.now()).is_ok());
  return lc;
}

std::vector<uint64_t> ids(const ProtectionLifecycle& lc) {
  std::vector<uint64_t> out;
  for (const auto& p : lc.points().points()) out.push_back(p.id.value());
  return out;
}

TEST(ProtectionRestore, RestoredProtectedLifecycleCutsTheSameNextPointAsTheOriginal) {
  ManualClock clock(kT0);
  ProtectionLifecycle original = protected_with_points(clock, 1h);
  ProtectionLifecycle restored = vm(1h);
  ASSERT_TRUE(restored.restore(original.record()).is_ok());

  EXPECT_EQ(restored.state(), S::kProtected);
  EXPECT_EQ(ids(restored), ids(original));
  EXPECT_EQ(restored.next_deadline(), original.next_deadline());
  EXPECT_EQ(restored.points().replicated().at("vm-web"), Seq(35));
  // Both cut point 4 at the same time, holding the unprocessed seq 35; then an app-consistent one.
  for (int i = 0; i < 12; ++i) {
    clock.advance(5min);
    auto a = original.tick(clock.now());
    auto b = restored.tick(clock.now());
    ASSERT_EQ(a.cut.has_value(), b.cut.has_value()) << "tick " << i;
    if (a.cut) {
      EXPECT_EQ(a.cut->id, b.cut->id);
      EXPECT_EQ(a.cut->type, b.cut->type);
      EXPECT_EQ(a.cut->seqs, b.cut->seqs);
    }
    EXPECT_EQ(a.pruned, b.pruned);
    (void)original.on_heartbeat(clock.now());
    (void)restored.on_heartbeat(clock.now());
  }
  EXPECT_EQ(ids(restored), ids(original));
  EXPECT_NE(restored.points().latest_app_consistent(), nullptr);
}

TEST(ProtectionRestore, RestoredFailedOverLifecycleCommitsToItsPointAndReprotects) {
  ManualClock clock(kT0);
  ProtectionLifecycle original = protected_with_points(clock);
  ASSERT_TRUE(original
                  .unplanned_failover(RecoveryPointChoice::custom_point(RecoveryPointId(2)), {},
                                      clock.now())
                  .is_ok());
  ProtectionLifecycle restored = vm();
  ASSERT_TRUE(restored.restore(original.record()).is_ok());
  EXPECT_EQ(restored.state(), S::kFailedOver);
  EXPECT_EQ(restored.active_region(), "westus");
  EXPECT_EQ(restored.next_deadline(), kNever);
  // Still failed over: re-protect is refused until commit, as before the restart.
  EXPECT_EQ(restored.reprotect(OriginalDisks::kPresent, clock.now()).status().code(),
            StatusCode::kFailedPrecondition);
  auto committed = restored.commit(clock.now());
  ASSERT_TRUE(committed.is_ok());
  EXPECT_EQ(committed->point->id, RecoveryPointId(2));
  EXPECT_EQ(committed->point->seqs.at("vm-web"), Seq(20));
  EXPECT_EQ(ids(restored), std::vector<uint64_t>{2});
  ASSERT_TRUE(restored.reprotect(OriginalDisks::kPresent, clock.now()).is_ok());
  EXPECT_EQ(restored.peer_region(), "eastus");
}

TEST(ProtectionRestore, RestoredPendingCleanupKeepsItsTestPoint) {
  ManualClock clock(kT0);
  ProtectionLifecycle original = protected_with_points(clock);
  ASSERT_TRUE(
      original.test_failover(RecoveryPointChoice::of(K::kLatestProcessed), clock.now()).is_ok());
  ProtectionLifecycle restored = vm();
  ASSERT_TRUE(restored.restore(original.record()).is_ok());
  ASSERT_TRUE(restored.test_failover_point().has_value());
  EXPECT_EQ(restored.test_failover_point()->id, RecoveryPointId(3));
  EXPECT_TRUE(restored.cleanup_test_failover(clock.now()).is_ok());
  EXPECT_EQ(restored.state(), S::kProtected);
}

TEST(ProtectionRestore, PointIdsContinueAfterTheRestoredLastIdEvenWhenTheNewestWasDropped) {
  ManualClock clock(kT0);
  ProtectionLifecycle original = protected_with_points(clock);
  ASSERT_TRUE(original.drop_point(RecoveryPointId(3)).is_ok());
  ProtectionLifecycle restored = vm();
  ASSERT_TRUE(restored.restore(original.record()).is_ok());
  clock.advance(5min);
  auto tick = restored.tick(clock.now());
  ASSERT_TRUE(tick.cut.has_value());
  EXPECT_EQ(tick.cut->id, RecoveryPointId(4));  // 3 is never reused
}

TEST(ProtectionRestore, RecordsThatCannotBeThisLifecycleAreRefusedAndChangeNothing) {
  ManualClock clock(kT0);
  ProtectionLifecycle original = protected_with_points(clock);
  const ProtectionRecord good = original.record();
  struct Case {
    const char* what;
    void (*spoil)(ProtectionRecord&);
    const char* field;
  };
  const Case cases[] = {
      {"unknown region", [](ProtectionRecord& r) { r.active_region = "northpole"; },
       "active_region"},
      {"schedule while failed over",
       [](ProtectionRecord& r) {
         r.state = S::kFailedOver;
         r.failover_point = r.points.back();
       },
       "next_crash_consistent_due"},
      {"failed over without a point",
       [](ProtectionRecord& r) {
         r.state = S::kCommitted;
         r.next_crash_consistent_due.reset();
       },
       "failover_point"},
      {"app point with app snapshots off",
       [](ProtectionRecord& r) { r.next_app_consistent_due = kT0; }, "next_app_consistent_due"},
      {"points out of order", [](ProtectionRecord& r) { std::swap(r.points[0], r.points[1]); },
       "points[1]"},
      {"id past the last id", [](ProtectionRecord& r) { r.last_point_id = RecoveryPointId(2); },
       "points[2]"},
      {"replicated behind the newest point",
       [](ProtectionRecord& r) { r.replicated["vm-web"] = Seq(5); }, "replicated.vm-web"},
      {"sync kind while protected", [](ProtectionRecord& r) { r.sync = SyncKind::kDelta; }, "sync"},
  };
  for (const auto& c : cases) {
    ProtectionRecord bad = good;
    c.spoil(bad);
    ProtectionLifecycle lc = vm();
    Status s = lc.restore(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << c.what << ": " << s.message();
    EXPECT_EQ(lc.state(), S::kNotProtected) << c.what;
    EXPECT_TRUE(lc.points().points().empty()) << c.what;
  }
}

TEST(ProtectionRestore, SettledPointListsTheSeqsItsCheckpointHolds) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = protected_with_points(clock);
  // Point 3 was cut at seq 30, its checkpoint was taken once seq 33 was applied.
  ASSERT_TRUE(lc.settle_point(RecoveryPointId(3), {{"vm-web", Seq(33)}}).is_ok());
  EXPECT_EQ(lc.points().find(RecoveryPointId(3))->seqs.at("vm-web"), Seq(33));
  EXPECT_EQ(lc.points().replicated().at("vm-web"), Seq(35));
  // Behind the listed seq, or a workload the point does not hold: refused, nothing changes.
  EXPECT_EQ(lc.settle_point(RecoveryPointId(3), {{"vm-web", Seq(31)}}).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(lc.settle_point(RecoveryPointId(3), {{"vm-db", Seq(40)}}).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(lc.points().find(RecoveryPointId(3))->seqs.at("vm-web"), Seq(33));
  EXPECT_EQ(lc.settle_point(RecoveryPointId(9), {{"vm-web", Seq(40)}}).code(),
            StatusCode::kNotFound);
}

TEST(ProtectionRestore, SettlingPastTheReplicatedSeqMovesTheReplicatedSeqAndTheFailoverPoint) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = protected_with_points(clock);
  ASSERT_TRUE(lc.test_failover(RecoveryPointChoice::of(K::kLatestProcessed), clock.now()).is_ok());
  ASSERT_TRUE(lc.settle_point(RecoveryPointId(3), {{"vm-web", Seq(40)}}).is_ok());
  EXPECT_EQ(lc.points().replicated().at("vm-web"), Seq(40));
  EXPECT_EQ(lc.test_failover_point()->seqs.at("vm-web"), Seq(40));
  EXPECT_FALSE(lc.points().has_unprocessed_data());
}

TEST(ProtectionRestore, DroppedPointIsNoLongerAChoice) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = protected_with_points(clock);
  ASSERT_TRUE(lc.drop_point(RecoveryPointId(2)).is_ok());
  EXPECT_EQ(ids(lc), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(lc.drop_point(RecoveryPointId(2)).code(), StatusCode::kNotFound);
  EXPECT_EQ(
      lc.unplanned_failover(RecoveryPointChoice::custom_point(RecoveryPointId(2)), {}, clock.now())
          .status()
          .code(),
      StatusCode::kNotFound);
}

TEST(RecoveryPointScheduleResume, ResumedScheduleIsDueWhereTheOriginalWas) {
  RecoveryPointSchedule original(2h, kT0);
  (void)original.take_due(kT0 + 6min);
  auto resumed = RecoveryPointSchedule::resume(2h, original.next_crash_consistent_due(),
                                               original.next_app_consistent_due());
  EXPECT_EQ(resumed.next_crash_consistent_due(), kT0 + 10min);
  EXPECT_EQ(resumed.next_app_consistent_due(), kT0 + 2h);
  EXPECT_EQ(resumed.take_due(kT0 + 2h), RecoveryPointType::kAppConsistent);
  auto off = RecoveryPointSchedule::resume(std::nullopt, kT0 + 5min, kT0);
  EXPECT_EQ(off.next_app_consistent_due(), kNever);
}

TEST(JobTableRestore, RestoredTableKeepsJobsAndContinuesIds) {
  JobTable table;
  auto a = table.create(JobKind::kEnableReplication, "vm-web", kT0);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(table.transition(*a, JobState::kInProgress, kT0).is_ok());
  ASSERT_TRUE(table.transition(*a, JobState::kFailed, kT0 + 1s, "no target").is_ok());
  auto b = table.create(JobKind::kTestFailover, "vm-web", kT0 + 2s);
  ASSERT_TRUE(b.is_ok());
  auto restored = JobTable::restore(table.jobs());
  ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
  ASSERT_EQ(restored->jobs().size(), 2u);
  EXPECT_EQ(restored->find(*a)->error, "no target");
  EXPECT_EQ(restored->find(*a)->ended_at, kT0 + 1s);
  // The unfinished job still blocks its target; new ids continue after the highest.
  EXPECT_EQ(restored->create(JobKind::kCommit, "vm-web", kT0).status().code(),
            StatusCode::kFailedPrecondition);
  auto c = restored->create(JobKind::kCommit, "vm-db", kT0);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->value(), 3u);
}

TEST(JobTableRestore, DuplicateIdsAndFailedJobsWithoutErrorAreRefused) {
  Job j{.id = JobId(1), .kind = JobKind::kCommit, .target = "vm-web"};
  EXPECT_EQ(JobTable::restore({j, j}).status().code(), StatusCode::kInvalidArgument);
  Job failed = j;
  failed.state = JobState::kFailed;
  EXPECT_EQ(JobTable::restore({failed}).status().code(), StatusCode::kInvalidArgument);
  Job zero = j;
  zero.id = JobId(0);
  EXPECT_EQ(JobTable::restore({zero}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace drsim::model
