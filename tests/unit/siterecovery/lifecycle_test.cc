// ProtectionLifecycle: every step in every state (allowed ones land where the table says,
// refused ones change nothing and say what to do), the full failover → commit → re-protect →
// failback round trip, recovery point choices, guard rails, points and health on the clock.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/core/clock.h"
#include "common/model/siterecovery/recovery_point_loss.h"
#include "common/model/siterecovery/lifecycle.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using S = ProtectionState;
using P = ProtectionStep;
using K = RecoveryPointChoiceKind;
constexpr Time kT0 = kTimeZero + 1000h;
constexpr RegionReachability kBothUp{};

ReplicationPolicy policy_with_app(std::optional<Duration> app = std::nullopt) {
  ReplicationPolicy p;
  p.app_consistent_interval = app;
  return p;
}

ProtectionLifecycle single_vm(ReplicationPolicy policy = {}) {
  return ProtectionLifecycle("vm-web", ProtectionScope::kSingleVm, {"vm-web"}, "eastus", "westus",
                             policy);
}

ProtectionLifecycle group(ReplicationPolicy policy = {}) {
  return ProtectionLifecycle("grp-app", ProtectionScope::kMultiVmGroup, {"vm-a", "vm-b"}, "eastus",
                             "westus", policy);
}

// Drives a fresh lifecycle to `state` along the shortest path; replicated data: orders@10.
void drive_to(ProtectionLifecycle& lc, S state, ManualClock& clock) {
  auto ok = [](const auto& r) { ASSERT_TRUE(r.is_ok()) << r.status().to_string(); };
  if (state == S::kNotProtected) return;
  ok(lc.enable_replication(clock.now()));
  if (state == S::kInitialReplication) return;
  ASSERT_TRUE(lc.on_replicated("orders", Seq(10), clock.now()).is_ok());
  clock.advance(1min);
  ok(lc.on_sync_completed(clock.now()));
  if (state == S::kProtected) return;
  clock.advance(1min);
  if (state == S::kTestFailoverCleanupPending) {
    ok(lc.test_failover(RecoveryPointChoice::of(K::kLatestProcessed), clock.now()));
    return;
  }
  ok(lc.unplanned_failover(RecoveryPointChoice::of(K::kLatestProcessed), kBothUp, clock.now()));
  if (state == S::kFailedOver) return;
  clock.advance(1min);
  ok(lc.commit(clock.now()));
}

// Runs `step` with ordinary arguments.
Result<ProtectionChanged> apply(ProtectionLifecycle& lc, P step, Time now) {
  const auto processed = RecoveryPointChoice::of(K::kLatestProcessed);
  switch (step) {
    case P::kEnableReplication:
      return lc.enable_replication(now);
    case P::kSyncCompleted:
      return lc.on_sync_completed(now);
    case P::kTestFailover:
      return lc.test_failover(processed, now);
    case P::kTestFailoverCleanup:
      return lc.cleanup_test_failover(now);
    case P::kPlannedFailover:
      return lc.planned_failover({}, kBothUp, now);
    case P::kUnplannedFailover:
      return lc.unplanned_failover(processed, kBothUp, now);
    case P::kChangeRecoveryPoint:
      return lc.change_recovery_point(processed, now);
    case P::kCommit:
      return lc.commit(now);
    case P::kReprotect:
      return lc.reprotect(OriginalDisks::kPresent, now);
    case P::kDisableReplication:
      return lc.disable_replication(now);
  }
  return internal_error("unreachable");
}

const std::vector<S> kStates = {S::kNotProtected, S::kInitialReplication,
                                S::kProtected,    S::kTestFailoverCleanupPending,
                                S::kFailedOver,   S::kCommitted};
const std::vector<P> kSteps = {P::kEnableReplication,   P::kSyncCompleted,   P::kTestFailover,
                               P::kTestFailoverCleanup, P::kPlannedFailover, P::kUnplannedFailover,
                               P::kChangeRecoveryPoint, P::kCommit,          P::kReprotect,
                               P::kDisableReplication};

// The transition table, restated from the facts: (from, step) → to. Anything absent is refused.
const std::map<std::pair<S, P>, S> kAllowed = {
    {{S::kNotProtected, P::kEnableReplication}, S::kInitialReplication},
    {{S::kInitialReplication, P::kSyncCompleted}, S::kProtected},
    {{S::kInitialReplication, P::kDisableReplication}, S::kNotProtected},
    {{S::kProtected, P::kTestFailover}, S::kTestFailoverCleanupPending},
    {{S::kProtected, P::kPlannedFailover}, S::kFailedOver},
    {{S::kProtected, P::kUnplannedFailover}, S::kFailedOver},
    {{S::kProtected, P::kDisableReplication}, S::kNotProtected},
    {{S::kTestFailoverCleanupPending, P::kTestFailoverCleanup}, S::kProtected},
    {{S::kFailedOver, P::kChangeRecoveryPoint}, S::kFailedOver},
    {{S::kFailedOver, P::kCommit}, S::kCommitted},
    {{S::kCommitted, P::kReprotect}, S::kInitialReplication},
    {{S::kCommitted, P::kDisableReplication}, S::kNotProtected},
};

std::string label(S s, P p) {
  return std::string(protection_state_name(s)) + " + " + protection_step_name(p);
}

TEST(ProtectionLifecycle, EveryStepInEveryStateFollowsTheTransitionTable) {
  int allowed = 0, refused = 0;
  for (S from : kStates) {
    for (P step : kSteps) {
      ManualClock clock(kT0);
      ProtectionLifecycle lc = single_vm();
      drive_to(lc, from, clock);
      ASSERT_EQ(lc.state(), from);
      const std::string active_before = lc.active_region();
      const size_t points_before = lc.points().points().size();

      auto it = kAllowed.find({from, step});
      EXPECT_EQ(protection_step_allowed(from, step), it != kAllowed.end()) << label(from, step);
      auto result = apply(lc, step, clock.now() + 1min);
      if (it != kAllowed.end()) {
        ++allowed;
        ASSERT_TRUE(result.is_ok()) << label(from, step) << ": " << result.status().to_string();
        EXPECT_EQ(result->from, from) << label(from, step);
        EXPECT_EQ(result->to, it->second) << label(from, step);
        EXPECT_EQ(result->step, step);
        EXPECT_EQ(result->name, "vm-web");
        EXPECT_EQ(result->at, clock.now() + 1min);
        EXPECT_EQ(lc.state(), it->second) << label(from, step);
      } else {
        ++refused;
        ASSERT_FALSE(result.is_ok()) << label(from, step);
        EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition) << label(from, step);
        const std::string head = std::string(protection_step_name(step)) +
                                 " of vm-web refused (state " + protection_state_name(from) + "): ";
        EXPECT_EQ(result.status().message().rfind(head, 0), 0u) << result.status().message();
        // A refused step changes nothing.
        EXPECT_EQ(lc.state(), from) << label(from, step);
        EXPECT_EQ(lc.active_region(), active_before);
        EXPECT_EQ(lc.points().points().size(), points_before);
      }
    }
  }
  EXPECT_EQ(allowed, 12);
  EXPECT_EQ(refused, 6 * 10 - 12);
}

TEST(ProtectionLifecycle, RefusalsSayWhatToDoInstead) {
  struct Case {
    S state;
    P step;
    const char* says;
  };
  const Case cases[] = {
      {S::kFailedOver, P::kReprotect,
       "re-protect comes after commit: commit the failover first (`drsim commit vm-web`)"},
      {S::kFailedOver, P::kDisableReplication,
       "vm-web failed over to westus and the commit is pending; commit it first (`drsim commit "
       "vm-web`)"},
      {S::kTestFailoverCleanupPending, P::kUnplannedFailover,
       "a test failover of vm-web is pending cleanup; clean it up first (`drsim "
       "test-failover-cleanup vm-web`)"},
      {S::kTestFailoverCleanupPending, P::kDisableReplication, "`drsim test-failover-cleanup"},
      {S::kCommitted, P::kPlannedFailover,
       "vm-web runs in westus unprotected since the committed failover; re-protect it first "
       "(`drsim reprotect vm-web`)"},
      {S::kCommitted, P::kCommit, "already committed; re-protect next (`drsim reprotect"},
      {S::kCommitted, P::kChangeRecoveryPoint, "its recovery point is final"},
      {S::kNotProtected, P::kTestFailover,
       "vm-web is not protected; enable replication first (`drsim enable-replication vm-web`)"},
      {S::kInitialReplication, P::kUnplannedFailover,
       "the sync to westus has not finished, so there is no recovery point yet"},
      {S::kInitialReplication, P::kEnableReplication, "already replicating to westus"},
      {S::kProtected, P::kCommit, "nothing to commit: vm-web has not failed over"},
      {S::kProtected, P::kReprotect,
       "already protected, replicating eastus → westus; re-protect follows a committed failover"},
      {S::kProtected, P::kChangeRecoveryPoint, "only between a failover and its commit"},
      {S::kProtected, P::kTestFailoverCleanup, "there is no test failover to clean up"},
      {S::kProtected, P::kSyncCompleted, "no initial replication or re-protect sync"},
  };
  for (const Case& c : cases) {
    ManualClock clock(kT0);
    ProtectionLifecycle lc = single_vm();
    drive_to(lc, c.state, clock);
    auto r = apply(lc, c.step, clock.now());
    ASSERT_FALSE(r.is_ok()) << label(c.state, c.step);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << label(c.state, c.step) << ": " << r.status().message();
  }
}

TEST(ProtectionLifecycle, FullRoundTripFailoverCommitReprotectFailbackReprotect) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  EXPECT_EQ(lc.active_region(), "eastus");

  auto enabled = lc.enable_replication(clock.now());
  ASSERT_TRUE(enabled.is_ok());
  EXPECT_EQ(enabled->sync, SyncKind::kFull);
  EXPECT_EQ(enabled->replication_target, "westus");
  ASSERT_TRUE(lc.on_replicated("orders", Seq(50), clock.now()).is_ok());
  clock.advance(30min);
  auto synced = lc.on_sync_completed(clock.now());
  ASSERT_TRUE(synced.is_ok());
  ASSERT_TRUE(synced->point.has_value());
  EXPECT_EQ(synced->point->seqs.at("orders"), Seq(50));

  // Region-wide outage: unplanned failover to the latest data.
  ASSERT_TRUE(lc.on_replicated("orders", Seq(60), clock.now()).is_ok());
  clock.advance(2min);
  auto failed_over =
      lc.unplanned_failover(RecoveryPointChoice::of(K::kLatest),
                            {Reachability::kUnreachable, Reachability::kReachable}, clock.now());
  ASSERT_TRUE(failed_over.is_ok()) << failed_over.status().to_string();
  EXPECT_EQ(failed_over->active_region, "westus");
  EXPECT_EQ(failed_over->replication_target, "");
  EXPECT_EQ(failed_over->point->seqs.at("orders"), Seq(60));
  EXPECT_EQ(data_given_up(*failed_over->point, {{"orders", Seq(64)}}).known_writes, 4u);

  auto committed = lc.commit(clock.now());
  ASSERT_TRUE(committed.is_ok());
  EXPECT_EQ(lc.points().points().size(), 1u);

  // Original disks survived the outage: delta sync back to eastus.
  auto reprotected = lc.reprotect(OriginalDisks::kPresent, clock.now());
  ASSERT_TRUE(reprotected.is_ok());
  EXPECT_EQ(reprotected->sync, SyncKind::kDelta);
  EXPECT_EQ(reprotected->active_region, "westus");
  EXPECT_EQ(reprotected->replication_target, "eastus");
  EXPECT_TRUE(lc.points().points().empty()) << "the old direction's points are gone";
  ASSERT_TRUE(lc.on_replicated("orders", Seq(70), clock.now()).is_ok());
  clock.advance(10min);
  ASSERT_TRUE(lc.on_sync_completed(clock.now()).is_ok());
  EXPECT_EQ(lc.state(), S::kProtected);
  EXPECT_EQ(lc.peer_region(), "eastus");

  // Failback: a planned failover the other way, with nothing left behind.
  auto failback = lc.planned_failover({{"orders", Seq(70)}}, kBothUp, clock.now());
  ASSERT_TRUE(failback.is_ok()) << failback.status().to_string();
  EXPECT_EQ(failback->active_region, "eastus");
  EXPECT_EQ(data_given_up(*failback->point, {{"orders", Seq(70)}}).known_writes, 0u);
  ASSERT_TRUE(lc.commit(clock.now()).is_ok());
  auto home = lc.reprotect(OriginalDisks::kPresent, clock.now());
  ASSERT_TRUE(home.is_ok());
  EXPECT_EQ(home->replication_target, "westus");
  ASSERT_TRUE(lc.on_sync_completed(clock.now()).is_ok());
  EXPECT_EQ(lc.state(), S::kProtected);
  EXPECT_EQ(lc.active_region(), "eastus");
  EXPECT_EQ(lc.peer_region(), "westus");
}

TEST(ProtectionLifecycle, ReprotectWithoutTheOriginalDisksIsAFullSync) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kCommitted, clock);
  auto r = lc.reprotect(OriginalDisks::kDeleted, clock.now());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->sync, SyncKind::kFull);
  EXPECT_EQ(lc.sync_kind(), SyncKind::kFull);
}

// --- Test failover ---

TEST(ProtectionLifecycle, TestFailoverKeepsProductionReplicationGoing) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kProtected, clock);
  auto tested = lc.test_failover(RecoveryPointChoice::of(K::kLatestProcessed), clock.now());
  ASSERT_TRUE(tested.is_ok());
  EXPECT_EQ(tested->active_region, "eastus") << "production stays where it is";
  EXPECT_EQ(tested->replication_target, "westus");
  ASSERT_TRUE(lc.test_failover_point().has_value());

  // Points keep coming while the test copy runs.
  const size_t before = lc.points().points().size();
  ASSERT_TRUE(lc.on_replicated("orders", Seq(11), clock.now()).is_ok());
  clock.set(lc.next_deadline());
  EXPECT_TRUE(lc.tick(clock.now()).cut.has_value());
  EXPECT_EQ(lc.points().points().size(), before + 1);
  EXPECT_EQ(lc.health(clock.now()).health, ReplicationHealth::kHealthy);

  ASSERT_TRUE(lc.cleanup_test_failover(clock.now()).is_ok());
  EXPECT_FALSE(lc.test_failover_point().has_value());
  EXPECT_EQ(lc.state(), S::kProtected);
}

// --- Planned failover ---

TEST(ProtectionLifecycle, PlannedFailoverNeedsTheActiveRegion) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kProtected, clock);
  auto r =
      lc.planned_failover({}, {Reachability::kUnreachable, Reachability::kReachable}, clock.now());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("use an unplanned failover (`drsim unplanned-failover "
                                      "vm-web`)"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(lc.state(), S::kProtected);
}

TEST(ProtectionLifecycle, FailoverThatWouldLeaveNoActiveRegionIsRefused) {
  const RegionReachability peer_down{Reachability::kReachable, Reachability::kUnreachable};
  const RegionReachability both_down{Reachability::kUnreachable, Reachability::kUnreachable};
  for (auto reach : {peer_down, both_down}) {
    ManualClock clock(kT0);
    ProtectionLifecycle lc = single_vm();
    drive_to(lc, S::kProtected, clock);
    ASSERT_TRUE(lc.on_replicated("orders", Seq(12), clock.now()).is_ok());
    const size_t points = lc.points().points().size();

    auto unplanned = lc.unplanned_failover(RecoveryPointChoice::of(K::kLatest), reach, clock.now());
    EXPECT_EQ(unplanned.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(unplanned.status().message().find("would end up running in no region"),
              std::string::npos);
    if (reach.active == Reachability::kReachable) {
      auto planned = lc.planned_failover({}, reach, clock.now());
      EXPECT_EQ(planned.status().code(), StatusCode::kUnavailable);
      EXPECT_NE(planned.status().message().find("would end up running in no region"),
                std::string::npos);
    }
    EXPECT_EQ(lc.state(), S::kProtected);
    EXPECT_EQ(lc.active_region(), "eastus");
    EXPECT_EQ(lc.points().points().size(), points) << "Latest cut nothing";
  }
}

TEST(ProtectionLifecycle, PlannedFailoverWaitsForReplicationToCatchUp) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kProtected, clock);  // orders@10 at the target
  auto r = lc.planned_failover({{"orders", Seq(12)}}, kBothUp, clock.now());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "planned failover of vm-web refused: a planned failover gives up no data, and "
            "workload 'orders' is at seq 12 in eastus but 10 in westus; wait for replication "
            "to catch up");
  // A workload the target never saw counts as behind too.
  EXPECT_FALSE(lc.planned_failover({{"carts", Seq(1)}}, kBothUp, clock.now()).is_ok());

  ASSERT_TRUE(lc.on_replicated("orders", Seq(12), clock.now()).is_ok());
  clock.advance(1min);
  auto ok = lc.planned_failover({{"orders", Seq(12)}}, kBothUp, clock.now());
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  // The drained data became a fresh point: zero loss.
  EXPECT_EQ(ok->point->time, clock.now());
  EXPECT_EQ(ok->point->seqs.at("orders"), Seq(12));
  EXPECT_EQ(data_given_up(*ok->point, {{"orders", Seq(12)}}).known_writes, 0u);
}

// --- Recovery point choices ---

class ProtectionLifecycleChoices : public ::testing::Test {
 protected:
  // Points: #1 crash (orders@10, at sync), #2 app @ +1h, then crash points; orders grows by 1
  // per point; finally orders@1000 replicated but not in any point.
  void SetUp() override {
    drive_to(lc_, S::kProtected, clock_);
    for (uint64_t seq = 11; clock_.now() < kT0 + 2h; ++seq) {
      ASSERT_TRUE(lc_.on_replicated("orders", Seq(seq), clock_.now()).is_ok());
      clock_.set(lc_.next_deadline());
      lc_.tick(clock_.now());
    }
    ASSERT_TRUE(lc_.on_replicated("orders", Seq(1000), clock_.now()).is_ok());
  }
  Result<ProtectionChanged> failover(RecoveryPointChoice c) {
    return lc_.unplanned_failover(c, kBothUp, clock_.now());
  }

  ManualClock clock_{kT0};
  ProtectionLifecycle lc_ = single_vm(policy_with_app(1h));
};

TEST_F(ProtectionLifecycleChoices, LatestProcessesPendingDataIntoANewPoint) {
  const RecoveryPointId newest = lc_.points().latest()->id;
  auto r = failover(RecoveryPointChoice::of(K::kLatest));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->point->seqs.at("orders"), Seq(1000));
  EXPECT_EQ(r->point->time, clock_.now());
  EXPECT_EQ(r->point->id, newest.next());
}

TEST_F(ProtectionLifecycleChoices, LatestProcessedLeavesPendingDataBehind) {
  const RecoveryPoint newest = *lc_.points().latest();
  auto r = failover(RecoveryPointChoice::of(K::kLatestProcessed));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->point->id, newest.id);
  EXPECT_LT(r->point->seqs.at("orders"), Seq(1000));
}

TEST_F(ProtectionLifecycleChoices, LatestAppConsistentPicksTheNewestAppPoint) {
  auto r = failover(RecoveryPointChoice::of(K::kLatestAppConsistent));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->point->type, RecoveryPointType::kAppConsistent);
  EXPECT_EQ(r->point->id, lc_.points().latest_app_consistent()->id);
}

TEST_F(ProtectionLifecycleChoices, CustomPointOfASingleVm) {
  const RecoveryPoint second = lc_.points().points()[1];
  auto r = failover(RecoveryPointChoice::custom_point(second.id));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->point->id, second.id);
}

TEST_F(ProtectionLifecycleChoices, CustomPointThatIsNotRetainedIsNotFound) {
  auto r = failover(RecoveryPointChoice::custom_point(RecoveryPointId(9999)));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("point 9999 is not retained"), std::string::npos);
  EXPECT_EQ(lc_.state(), S::kProtected);
}

TEST_F(ProtectionLifecycleChoices, MultiVmChoicesAreForGroupsOnly) {
  for (K kind : {K::kLatestMultiVmProcessed, K::kLatestMultiVmAppConsistent}) {
    auto r = failover(RecoveryPointChoice::of(kind));
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("vm-web replicates on its own"), std::string::npos);
  }
  EXPECT_EQ(lc_.state(), S::kProtected);
}

TEST_F(ProtectionLifecycleChoices, ChangeRecoveryPointThenCommitKeepsOnlyTheChosenPoint) {
  ASSERT_TRUE(failover(RecoveryPointChoice::of(K::kLatest)).is_ok());
  const RecoveryPoint older = lc_.points().points()[1];
  auto changed =
      lc_.change_recovery_point(RecoveryPointChoice::custom_point(older.id), clock_.now());
  ASSERT_TRUE(changed.is_ok());
  EXPECT_EQ(changed->from, S::kFailedOver);
  EXPECT_EQ(changed->to, S::kFailedOver);
  EXPECT_EQ(lc_.failover_point()->id, older.id);
  ASSERT_GT(lc_.points().points().size(), 2u);

  auto committed = lc_.commit(clock_.now());
  ASSERT_TRUE(committed.is_ok());
  EXPECT_EQ(committed->point->id, older.id);
  ASSERT_EQ(lc_.points().points().size(), 1u);
  EXPECT_EQ(lc_.points().points()[0].id, older.id);
}

TEST(ProtectionLifecycle, AppConsistentChoiceExplainsWhyThereIsNone) {
  ManualClock clock(kT0);
  ProtectionLifecycle off = single_vm(policy_with_app(std::nullopt));
  drive_to(off, S::kProtected, clock);
  auto r = off.unplanned_failover(RecoveryPointChoice::of(K::kLatestAppConsistent), kBothUp,
                                  clock.now());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("app-consistent snapshots are off in the policy; choose "
                                      "latest processed"),
            std::string::npos);

  ProtectionLifecycle hourly = single_vm(policy_with_app(4h));
  drive_to(hourly, S::kProtected, clock);
  r = hourly.test_failover(RecoveryPointChoice::of(K::kLatestAppConsistent), clock.now());
  EXPECT_NE(r.status().message().find("no app-consistent point is retained yet (one every 4h)"),
            std::string::npos)
      << r.status().message();
}

// --- Multi-VM consistency group ---

TEST(ProtectionLifecycle, GroupSharesPointsAcrossItsVmsAndRefusesCustomPoints) {
  ManualClock clock(kT0);
  ProtectionLifecycle g = group(policy_with_app(1h));
  ASSERT_TRUE(g.enable_replication(clock.now()).is_ok());
  ASSERT_TRUE(g.on_replicated("vm-a/orders", Seq(5), clock.now()).is_ok());
  ASSERT_TRUE(g.on_replicated("vm-b/stock", Seq(9), clock.now()).is_ok());
  auto synced = g.on_sync_completed(clock.now());
  ASSERT_TRUE(synced.is_ok());
  EXPECT_EQ(synced->point->seqs.size(), 2u) << "one point for both VMs";

  auto custom = g.unplanned_failover(RecoveryPointChoice::custom_point(synced->point->id), kBothUp,
                                     clock.now());
  EXPECT_EQ(custom.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(custom.status().message().find("a custom point is for a single VM only"),
            std::string::npos);
  EXPECT_EQ(g.state(), S::kProtected);

  while (clock.now() < kT0 + 1h) {  // to the first app-consistent point
    ASSERT_TRUE(g.on_heartbeat(clock.now()).is_ok());
    clock.set(g.next_deadline());
    g.tick(clock.now());
  }
  auto app = g.test_failover(RecoveryPointChoice::of(K::kLatestMultiVmAppConsistent), clock.now());
  ASSERT_TRUE(app.is_ok()) << app.status().to_string();
  EXPECT_EQ(app->point->type, RecoveryPointType::kAppConsistent);
  ASSERT_TRUE(g.cleanup_test_failover(clock.now()).is_ok());

  auto processed = g.unplanned_failover(RecoveryPointChoice::of(K::kLatestMultiVmProcessed),
                                        kBothUp, clock.now());
  ASSERT_TRUE(processed.is_ok());
  EXPECT_EQ(processed->point->id, g.points().latest()->id);
  EXPECT_EQ(processed->point->seqs.at("vm-a/orders"), Seq(5));
  EXPECT_EQ(processed->point->seqs.at("vm-b/stock"), Seq(9));
  EXPECT_EQ(g.members(), (std::vector<std::string>{"vm-a", "vm-b"}));
}

// --- Points and health on the clock ---

TEST(ProtectionLifecycle, NoDeadlineUntilReplicationRunsAndNoneAfterFailover) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  EXPECT_EQ(lc.next_deadline(), kNever);
  ASSERT_TRUE(lc.enable_replication(clock.now()).is_ok());
  EXPECT_EQ(lc.next_deadline(), kNever) << "no points during the initial sync";
  EXPECT_FALSE(lc.tick(clock.now() + 1h).cut.has_value());
  ASSERT_TRUE(lc.on_sync_completed(clock.now()).is_ok());
  EXPECT_EQ(lc.next_deadline(), clock.now() + 5min);
  ASSERT_TRUE(
      lc.unplanned_failover(RecoveryPointChoice::of(K::kLatestProcessed), kBothUp, clock.now())
          .is_ok());
  EXPECT_EQ(lc.next_deadline(), kNever);
  EXPECT_FALSE(lc.tick(clock.now() + 1h).cut.has_value());
}

TEST(ProtectionLifecycle, StalledReplicationMakesNoPointsAndHealthDegrades) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();  // RPO threshold 15m
  drive_to(lc, S::kProtected, clock);
  const Time last_point = lc.points().latest()->time;
  std::vector<ReplicationHealth> seen;
  while (clock.now() < last_point + 40min) {
    clock.set(lc.next_deadline());
    EXPECT_FALSE(lc.tick(clock.now()).cut.has_value()) << "nothing heard, nothing to cut";
    seen.push_back(lc.health(clock.now()).health);
  }
  // 5, 10, 15 min: healthy; 20..30: warning; 35, 40: critical.
  EXPECT_EQ(seen, (std::vector<ReplicationHealth>{
                      ReplicationHealth::kHealthy, ReplicationHealth::kHealthy,
                      ReplicationHealth::kHealthy, ReplicationHealth::kWarning,
                      ReplicationHealth::kWarning, ReplicationHealth::kWarning,
                      ReplicationHealth::kCritical, ReplicationHealth::kCritical}));

  // Data again: the next tick cuts a point and health recovers.
  ASSERT_TRUE(lc.on_replicated("orders", Seq(11), clock.now()).is_ok());
  clock.set(lc.next_deadline());
  EXPECT_TRUE(lc.tick(clock.now()).cut.has_value());
  EXPECT_EQ(lc.health(clock.now()).health, ReplicationHealth::kHealthy);
}

TEST(ProtectionLifecycle, IdleVmWithHeartbeatsStaysHealthy) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kProtected, clock);
  for (int i = 0; i < 24; ++i) {
    ASSERT_TRUE(lc.on_heartbeat(clock.now()).is_ok());
    clock.set(lc.next_deadline());
    auto tick = lc.tick(clock.now());
    ASSERT_TRUE(tick.cut.has_value());
    EXPECT_EQ(tick.cut->seqs.at("orders"), Seq(10));
  }
  EXPECT_EQ(lc.health(clock.now()).health, ReplicationHealth::kHealthy);
}

TEST(ProtectionLifecycle, ReplicationErrorIsCriticalUntilDataArrives) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kProtected, clock);
  ASSERT_TRUE(lc.on_replication_error("disk churn above 54 MB/s").is_ok());
  auto h = lc.health(clock.now());
  EXPECT_EQ(h.health, ReplicationHealth::kCritical);
  EXPECT_EQ(h.reason, "replication error: disk churn above 54 MB/s");
  ASSERT_TRUE(lc.on_replicated("orders", Seq(11), clock.now()).is_ok());
  EXPECT_EQ(lc.health(clock.now()).health, ReplicationHealth::kHealthy);
}

TEST(ProtectionLifecycle, HealthIsNotApplicableUnlessReplicating) {
  for (S state : kStates) {
    ManualClock clock(kT0);
    ProtectionLifecycle lc = single_vm();
    drive_to(lc, state, clock);
    const bool replicating = state == S::kInitialReplication || state == S::kProtected ||
                             state == S::kTestFailoverCleanupPending;
    EXPECT_EQ(lc.health(clock.now()).health == ReplicationHealth::kNotApplicable, !replicating)
        << protection_state_name(state);
    // And replication input is refused where none is expected.
    EXPECT_EQ(lc.on_replicated("orders", Seq(99), clock.now()).is_ok(), replicating);
    EXPECT_EQ(lc.on_heartbeat(clock.now()).is_ok(), replicating);
    EXPECT_EQ(lc.on_replication_error("x").is_ok(), replicating);
  }
}

TEST(ProtectionLifecycle, DisableKeepsTheVmWhereItRunsAndDropsThePoints) {
  ManualClock clock(kT0);
  ProtectionLifecycle lc = single_vm();
  drive_to(lc, S::kCommitted, clock);
  auto r = lc.disable_replication(clock.now());
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->active_region, "westus");
  EXPECT_EQ(r->replication_target, "");
  EXPECT_TRUE(lc.points().points().empty());
  EXPECT_FALSE(lc.failover_point().has_value());
  // Enabling again replicates from where it runs now.
  auto again = lc.enable_replication(clock.now());
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->replication_target, "eastus");
}

TEST(ProtectionLifecycle, PointsArePrunedWhileProtected) {
  ManualClock clock(kT0);
  ReplicationPolicy p;
  p.retention = 3h;
  ProtectionLifecycle lc = single_vm(p);
  drive_to(lc, S::kProtected, clock);
  size_t pruned = 0;
  for (int i = 0; i < 12 * 6; ++i) {
    ASSERT_TRUE(lc.on_heartbeat(clock.now()).is_ok());
    clock.set(lc.next_deadline());
    pruned += lc.tick(clock.now()).pruned.size();
  }
  for (const auto& point : lc.points().points()) EXPECT_LE(clock.now() - point.time, 3h);
  EXPECT_GT(pruned, 0u);
}

}  // namespace
}  // namespace drsim::model
