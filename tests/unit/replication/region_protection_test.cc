// Re-protect and planned-failover checks on a region's facts.
#include "common/model/replication/region_protection.h"

#include <gtest/gtest.h>

namespace drsim::model {
namespace {

RegionFacts failed_over_active() {
  RegionFacts f;
  f.region = "secondary";
  f.peer = "primary";
  f.role = Role::kActive;
  f.protection = Protection::kUnprotected;
  return f;
}

RegionFacts protected_standby() {
  RegionFacts f;
  f.region = "secondary";
  f.peer = "primary";
  f.role = Role::kStandby;
  f.source_streaming = true;
  return f;
}

bool contains(const Status& s, const std::string& needle) {
  return s.message().find(needle) != std::string::npos;
}

TEST(RegionProtection, ReprotectRunsOnAFailedOverActiveRegion) {
  EXPECT_TRUE(check_reprotect(failed_over_active()).is_ok());
  RegionFacts stopped = failed_over_active();
  stopped.protection = Protection::kProtected;
  stopped.replication_stopped = true;  // protected but diverged: re-protect repairs it
  EXPECT_TRUE(check_reprotect(stopped).is_ok());
}

TEST(RegionProtection, ReprotectRefusalsSayWhatToDoInstead) {
  struct Case {
    const char* what;
    RegionFacts f;
    const char* says;
  };
  RegionFacts standby = failed_over_active();
  standby.role = Role::kStandby;
  RegionFacts already = failed_over_active();
  already.protection = Protection::kProtected;
  RegionFacts running = failed_over_active();
  running.protection = Protection::kResyncing;
  RegionFacts outage = failed_over_active();
  outage.outage = true;
  RegionFacts unconfirmed = failed_over_active();
  unconfirmed.confirmed = false;
  RegionFacts no_peer = failed_over_active();
  no_peer.peer_address_known = false;
  RegionFacts handover = failed_over_active();
  handover.handover = true;
  RegionFacts behind = failed_over_active();
  behind.protection = Protection::kProtected;
  behind.replication_stopped = true;
  behind.behind_standby = "the standby primary holds vm-web up to seq 100: fail over to primary";
  for (const auto& c :
       {Case{"standby", standby, "runs on the active region (primary)"},
        Case{"already", already, "already protected"}, Case{"running", running, "already running"},
        Case{"outage", outage, "outage"}, Case{"unconfirmed", unconfirmed, "confirming"},
        Case{"no peer", no_peer, "SetPeer"}, Case{"handover", handover, "planned failover"},
        Case{"behind its standby", behind, "must not re-protect: the standby primary holds"}}) {
    Status s = check_reprotect(c.f);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << c.what;
    EXPECT_TRUE(contains(s, c.says)) << c.what << ": " << s.message();
  }
}

TEST(RegionProtection, PlannedFailoverNeedsTheActiveRegionStreamingToThisStandby) {
  EXPECT_TRUE(check_planned_failover(protected_standby()).is_ok());
  RegionFacts unreachable = protected_standby();
  unreachable.source_streaming = false;
  Status s = check_planned_failover(unreachable);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(contains(s, "unplanned failover")) << s.message();
  RegionFacts active = protected_standby();
  active.role = Role::kActive;
  EXPECT_EQ(check_planned_failover(active).code(), StatusCode::kFailedPrecondition);
  RegionFacts copying = protected_standby();
  copying.copy_incomplete = true;
  EXPECT_TRUE(contains(check_planned_failover(copying), "full copy"));
  RegionFacts busy = protected_standby();
  busy.handover = true;
  EXPECT_EQ(check_planned_failover(busy).code(), StatusCode::kFailedPrecondition);
}

TEST(RegionProtection, OnlyAProtectedConfirmedActiveRegionHandsOver) {
  RegionFacts f = failed_over_active();
  f.protection = Protection::kProtected;
  EXPECT_TRUE(check_hand_over(f).is_ok());
  RegionFacts unprotected = failed_over_active();
  EXPECT_TRUE(contains(check_hand_over(unprotected), "re-protect first"));
  RegionFacts resyncing = failed_over_active();
  resyncing.protection = Protection::kResyncing;
  EXPECT_EQ(check_hand_over(resyncing).code(), StatusCode::kFailedPrecondition);
  RegionFacts standby = f;
  standby.role = Role::kStandby;
  EXPECT_EQ(check_hand_over(standby).code(), StatusCode::kFailedPrecondition);
  EXPECT_STREQ(protection_name(Protection::kResyncing), "resyncing");
}

UnplannedFailoverFacts healthy_pair() {
  UnplannedFailoverFacts f;
  f.target = "secondary";
  f.active = "primary";
  f.active_answers = true;
  f.active_serving = true;
  f.replicating = true;
  f.unreplicated_writes = 12;
  f.async_workloads = 1;
  return f;
}

TEST(RegionProtection, UnplannedFailoverOfAHealthyReplicatingRegionNeedsForce) {
  Status s = check_unplanned_failover_of_healthy_region(healthy_pair());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("region primary is active, healthy and replicating to secondary"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("12 acknowledged write(s) of its 1 async workload(s)"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("drsim failover --planned"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--force"), std::string::npos) << s.message();
  auto sync_only = healthy_pair();
  sync_only.async_workloads = 0;
  s = check_unplanned_failover_of_healthy_region(sync_only);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("no acknowledged write is lost"), std::string::npos) << s.message();
}

// Failing over back at once, before re-protect: the writes the unprotected region acknowledged
// (sync ones too) are on no other region.
TEST(RegionProtection, UnplannedFailoverAwayFromAHealthyUnprotectedRegionNeedsForce) {
  auto after_failover = healthy_pair();
  after_failover.replicating = false;
  after_failover.unprotected = true;
  after_failover.async_workloads = 0;
  after_failover.writes_only_here = 14;
  Status s = check_unplanned_failover_of_healthy_region(after_failover);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("region primary is active, healthy and unprotected (failed over, "
                             "re-protect pending): the writes it acknowledged since it became "
                             "active (14 at least) are on no other region, sync ones too"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("`drsim reprotect`, then `drsim failback`"), std::string::npos);
  EXPECT_NE(s.message().find("--force"), std::string::npos);
  after_failover.active_serving = false;  // its outage: what the failover is for
  EXPECT_TRUE(check_unplanned_failover_of_healthy_region(after_failover).is_ok());
}

TEST(RegionProtection, UnplannedFailoverIsWhatAnUnhealthyOrCutOffRegionNeeds) {
  auto down = healthy_pair();
  down.active_answers = false;  // killed, frozen, unreachable
  EXPECT_TRUE(check_unplanned_failover_of_healthy_region(down).is_ok());
  auto outage = healthy_pair();
  outage.active_serving = false;  // outage, lease lost, already fenced
  EXPECT_TRUE(check_unplanned_failover_of_healthy_region(outage).is_ok());
  auto cut = healthy_pair();
  cut.replicating = false;  // replication partitioned, or not protected (after a failover)
  EXPECT_TRUE(check_unplanned_failover_of_healthy_region(cut).is_ok());
}

}  // namespace
}  // namespace drsim::model
