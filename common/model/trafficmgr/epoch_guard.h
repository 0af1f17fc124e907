// TmEpochGuard: the Traffic Manager's memory of region epochs, one per profile. Region health
// answers carry the region's epoch and role (gRPC health metadata drsim-epoch / drsim-role, HTTP
// headers X-Drsim-Epoch / X-Drsim-Role); the guard keeps the newest epoch any endpoint of the
// profile reported and turns a SERVING answer at an older epoch into a failed probe, so a former
// primary that answers one probe before it learns it is fenced is never routed to (and its
// blip is no flap: TmHealthTracker and TmFailoverMeter see the failure streak go on).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/model/replication/region_role.h"
#include "common/model/trafficmgr/health_monitor.h"

namespace drsim::model {

// What one health answer said about the region behind it (its RegionRole's epoch and role).
struct RegionClaim {
  Epoch epoch;
  Role role = Role::kStandby;
};

struct EpochJudgement {
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  // Non-empty when a success was turned into a failure: "superseded: answered SERVING as active
  // at epoch 1, but secondary reported epoch 2".
  std::string superseded;
};

class TmEpochGuard {
 public:
  // `names` of the probed endpoints, by probe index (for the reasons).
  explicit TmEpochGuard(std::vector<std::string> names);

  // Rules: every claim raises the newest epoch seen (it never goes down; a standby's claim
  // counts too: it names the epoch it follows). A success whose claim is older than the newest
  // epoch becomes a failure with a reason; a success with no claim (TCP probes, endpoints that
  // are not drsim regions) and every failure pass unchanged.
  EpochJudgement on_probe_result(size_t endpoint, ProbeOutcome outcome,
                                 const std::optional<RegionClaim>& claim);

  // The newest epoch seen from any endpoint (0 before any claim) and which endpoint said it.
  Epoch newest() const { return newest_; }
  // What `endpoint` last claimed, if anything, and whether its last success was refused.
  const std::optional<RegionClaim>& claim(size_t endpoint) const;
  const std::string& superseded(size_t endpoint) const;

 private:
  struct EndpointState {
    std::optional<RegionClaim> claim;
    std::string superseded;
  };
  std::vector<std::string> names_;
  std::vector<EndpointState> endpoints_;
  Epoch newest_{0};
  size_t newest_from_ = 0;
};

}  // namespace drsim::model
