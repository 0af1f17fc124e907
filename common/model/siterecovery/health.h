// Replication health of a protected VM or consistency group: Healthy, Warning, Critical or
// Not applicable (facts.md, Site Recovery), from how stale the target's copy is. Pure; the
// protection lifecycle gathers the signals and the driver reports the result.
//
// The rule drsim applies, in order:
//   1. not replicating (not protected, failed over, committed) → Not applicable;
//   2. a replication error reported since data last arrived → Critical;
//   3. lag > 2 × rpo_threshold → Critical; lag > rpo_threshold → Warning; else Healthy.
// Lag while replicating is the age of the newest recovery point (the RPO a failover would get
// now). During initial replication or a re-protect sync there is no point yet, so lag is the
// time since data (or a heartbeat) last arrived. Both are measured from the start of the
// replication when nothing arrived since.
#pragma once

#include <optional>
#include <string>

#include "common/core/time.h"

namespace drsim::model {

enum class ReplicationHealth { kHealthy, kWarning, kCritical, kNotApplicable };
const char* replication_health_name(ReplicationHealth h);  // "Healthy", ..., "Not applicable"

enum class ReplicationActivity { kNotReplicating, kSyncing, kReplicating };

struct ReplicationSignals {
  ReplicationActivity activity = ReplicationActivity::kNotReplicating;
  Time replicating_since = kTimeZero;  // when the current replication (or sync) began
  std::optional<Time> newest_point;
  std::optional<Time> last_heard;  // data or heartbeat from the source
  std::optional<std::string> error;
};

struct HealthAssessment {
  ReplicationHealth health = ReplicationHealth::kNotApplicable;
  std::optional<Duration> lag;  // nullopt when not applicable
  std::string reason;           // one sentence for status output
  // Without new data, health gets worse just after this instant (kNever when it cannot).
  Time escalates_after = kNever;
};

HealthAssessment assess_replication_health(const ReplicationSignals& signals,
                                           Duration rpo_threshold, Time now);

}  // namespace drsim::model
