#include "common/model/replication/region_protection.h"

namespace drsim::model {

const char* protection_name(Protection p) {
  switch (p) {
    case Protection::kProtected:
      return "protected";
    case Protection::kUnprotected:
      return "unprotected";
    case Protection::kResyncing:
      return "resyncing";
  }
  return "?";
}

Status check_reprotect(const RegionFacts& f) {
  if (f.outage) {
    return failed_precondition("region " + f.region +
                               " is in an injected outage; end it before re-protecting");
  }
  if (f.role != Role::kActive) {
    return failed_precondition("region " + f.region + " is the standby; re-protect runs on the " +
                               "active region (" + f.peer + "), which then replicates to " +
                               f.region);
  }
  if (!f.confirmed) {
    return failed_precondition("region " + f.region +
                               " is confirming its epoch with its peer after a restart; retry "
                               "when it serves");
  }
  if (f.handover) {
    return failed_precondition("a planned failover of region " + f.region + " is under way");
  }
  if (!f.behind_standby.empty()) {
    // Re-protecting from here would copy this region's older history over the standby's.
    return failed_precondition("region " + f.region + " must not re-protect: " +
                               f.behind_standby);
  }
  if (f.protection == Protection::kResyncing) {
    return failed_precondition("re-protect of region " + f.region +
                               " is already running; GetStatus shows its progress");
  }
  if (f.protection == Protection::kProtected && !f.replication_stopped) {
    return failed_precondition("region " + f.region + " is already protected: it replicates to " +
                               f.peer + "; re-protect follows a failover");
  }
  if (!f.peer_address_known) {
    return failed_precondition("region " + f.region + " does not know where " + f.peer +
                               " is; set it with SetPeer first");
  }
  return Status::ok();
}

Status check_planned_failover(const RegionFacts& f) {
  if (f.outage) {
    return failed_precondition("region " + f.region +
                               " is in an injected outage; end it before failing over to it");
  }
  if (f.role == Role::kActive) {
    return failed_precondition("region " + f.region +
                               " is already the active region; run the planned failover on the "
                               "standby (" +
                               f.peer + ")");
  }
  if (f.copy_incomplete) {
    return failed_precondition("region " + f.region + " is receiving a full copy from " + f.peer +
                               " (re-protect); its data is not a usable copy yet");
  }
  if (f.handover) {
    return failed_precondition("a planned failover to region " + f.region + " is under way");
  }
  if (!f.source_streaming) {
    return unavailable("the active region " + f.peer + " is not replicating to " + f.region +
                       " (unreachable, or not protected): a planned failover needs it to drain "
                       "its writes here; use an unplanned failover (Failover) instead");
  }
  return Status::ok();
}

Status check_hand_over(const RegionFacts& f) {
  if (f.outage) return failed_precondition("region " + f.region + " is in an injected outage");
  if (f.role != Role::kActive || !f.confirmed) {
    return failed_precondition("region " + f.region + " is not the confirmed active region");
  }
  if (f.handover) {
    return failed_precondition("region " + f.region + " is already handing over");
  }
  if (f.protection != Protection::kProtected || f.replication_stopped) {
    return failed_precondition("region " + f.region + " is " + protection_name(f.protection) +
                               (f.replication_stopped ? " (replication stopped)" : "") +
                               ": its standby does not hold every write; re-protect first");
  }
  return Status::ok();
}

Status check_unplanned_failover_of_healthy_region(const UnplannedFailoverFacts& f) {
  if (!f.active_answers || !f.active_serving) return Status::ok();
  if (f.unprotected) {
    return failed_precondition(
        "region " + f.active + " is active, healthy and unprotected (failed over, re-protect "
        "pending): the writes it acknowledged since it became active" +
        (f.writes_only_here > 0 ? " (" + std::to_string(f.writes_only_here) + " at least)" : "") +
        " are on no other region, sync ones too, and an unplanned failover to " + f.target +
        " gives them up. To go back with nothing lost: `drsim reprotect`, then `drsim "
        "failback`; to fail over anyway (rehearsing an operator's decision), add --force");
  }
  if (!f.replicating) return Status::ok();
  std::string loss =
      f.async_workloads == 0
          ? "every workload is sync, so no acknowledged write is lost, but the switch fails "
            "writes in flight and leaves " + f.target + " unprotected until re-protect"
          : std::to_string(f.unreplicated_writes) + " acknowledged write(s) of its " +
                std::to_string(f.async_workloads) +
                " async workload(s) not yet at " + f.target + " would be lost, and more if "
                "clients keep writing until the switch";
  return failed_precondition(
      "region " + f.active + " is active, healthy and replicating to " + f.target +
      ": an unplanned failover would fence a working region (" + loss +
      "). For a switch with nothing lost run `drsim failover --planned`; to fail over anyway "
      "(rehearsing an operator's decision), add --force");
}

}  // namespace drsim::model
