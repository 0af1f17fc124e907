#include "common/model/siterecovery/health.h"

#include <algorithm>

#include "common/model/siterecovery/policy.h"

namespace drsim::model {

const char* replication_health_name(ReplicationHealth h) {
  switch (h) {
    case ReplicationHealth::kHealthy:
      return "Healthy";
    case ReplicationHealth::kWarning:
      return "Warning";
    case ReplicationHealth::kCritical:
      return "Critical";
    case ReplicationHealth::kNotApplicable:
      return "Not applicable";
  }
  return "Unknown";
}

HealthAssessment assess_replication_health(const ReplicationSignals& signals,
                                           Duration rpo_threshold, Time now) {
  HealthAssessment out;
  if (signals.activity == ReplicationActivity::kNotReplicating) {
    out.reason = "not replicating";
    return out;
  }
  const bool syncing = signals.activity == ReplicationActivity::kSyncing;
  const std::optional<Time>& mark = syncing ? signals.last_heard : signals.newest_point;
  const Time base = std::max(signals.replicating_since, mark.value_or(kTimeZero));
  out.lag = std::max(now - base, Duration::zero());
  const std::string what = syncing ? "no data from the source for " : "newest recovery point is ";
  // Whole seconds once it is a second or more ("11m21s old", not "681761ms old"); the exact lag
  // is `out.lag`.
  const Duration shown = *out.lag >= std::chrono::seconds(1)
                             ? Duration(std::chrono::floor<std::chrono::seconds>(*out.lag))
                             : *out.lag;
  const std::string lag_text = recovery_duration_text(shown) + (syncing ? "" : " old");

  if (signals.error) {
    out.health = ReplicationHealth::kCritical;
    out.reason = "replication error: " + *signals.error;
    return out;
  }
  if (*out.lag > 2 * rpo_threshold) {
    out.health = ReplicationHealth::kCritical;
    out.reason =
        what + lag_text + ", over twice the RPO threshold " + recovery_duration_text(rpo_threshold);
  } else if (*out.lag > rpo_threshold) {
    out.health = ReplicationHealth::kWarning;
    out.reason =
        what + lag_text + ", over the RPO threshold " + recovery_duration_text(rpo_threshold);
    out.escalates_after = base + 2 * rpo_threshold;
  } else {
    out.health = ReplicationHealth::kHealthy;
    out.reason =
        what + lag_text + ", within the RPO threshold " + recovery_duration_text(rpo_threshold);
    out.escalates_after = base + rpo_threshold;
  }
  return out;
}

}  // namespace drsim::model
