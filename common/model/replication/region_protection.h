// Whether a region pair is protected (the active region replicates to its peer), and the checks
// for the operator steps that change it: re-protect (run on the active region, reverses
// replication toward the former active region) and planned failover (run on the standby, swaps
// the roles with zero loss). Pure; the region driver fills RegionFacts from its state.
#pragma once

#include <string>

#include "common/core/status.h"
#include "common/model/replication/region_role.h"

namespace drsim::model {

enum class Protection {
  kProtected,    // the active region replicates to its standby
  kUnprotected,  // failed over: nothing replicates until re-protect
  kResyncing,    // re-protect running: a delta or full resync toward the standby
};
const char* protection_name(Protection p);  // "protected", "unprotected", "resyncing"

struct RegionFacts {
  std::string region;
  std::string peer;
  Role role = Role::kStandby;
  bool confirmed = true;
  Protection protection = Protection::kProtected;
  bool replication_stopped = false;  // protected, but the stream stopped (histories diverged)
  bool outage = false;
  bool peer_address_known = true;
  bool handover = false;          // a planned failover is under way
  bool copy_incomplete = false;   // a full copy into this region has not finished
  bool source_streaming = false;  // standby: the active region's stream is connected
  // Active: why its standby holds writes this region does not (it lost them: a host crash
  // without --fsync, an older data dir put back); empty when not so.
  std::string behind_standby;
};

// Re-protect on this region. FAILED_PRECONDITION with what to do instead.
Status check_reprotect(const RegionFacts& f);
// Planned failover on this region (the standby, the target). FAILED_PRECONDITION when it makes
// no sense here; UNAVAILABLE when the active region is not streaming to it (unreachable: that
// is what an unplanned failover is for).
Status check_planned_failover(const RegionFacts& f);
// This region (the active one) was asked by its standby to hand over.
Status check_hand_over(const RegionFacts& f);

// What an operator's unplanned failover would throw away, seen from outside (the CLI fills it
// from both regions' status before `drsim failover`).
struct UnplannedFailoverFacts {
  std::string target;  // the standby to promote
  std::string active;  // the region active now
  bool active_answers = false;          // the active region answered its status at all
  bool active_serving = false;          // active role, no outage, holds its lease
  bool replicating = false;             // protected, and its stream to the target is connected
  uint64_t unreplicated_writes = 0;     // acknowledged writes the target does not hold yet
  uint32_t async_workloads = 0;         // workloads whose acknowledged writes may be lost
  // Failed over and not yet re-protected: what it acknowledged since is on no other region.
  bool unprotected = false;
  uint64_t writes_only_here = 0;  // its seqs past the target's, summed over workloads (a floor)
};
// An unplanned failover is for an active region that is down, cut off or broken. When it is
// healthy and replicating, one fences a working region (and, with async workloads, loses what it
// acknowledged and had not replicated); when it is healthy and unprotected (failed over,
// re-protect pending), one gives up every write it acknowledged since, sync ones too (failing
// over back at once, the operator mistake of issue 13): FAILED_PRECONDITION saying so, offering
// the loss-free way (a planned failover; re-protect, then failback) and `--force`. OK otherwise.
Status check_unplanned_failover_of_healthy_region(const UnplannedFailoverFacts& f);

}  // namespace drsim::model
