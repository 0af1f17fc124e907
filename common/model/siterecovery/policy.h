// Site Recovery replication policy: how long recovery points are kept, how often an
// app-consistent snapshot is taken, and the RPO above which replication health warns. One
// policy applies to a protected VM or a whole multi-VM consistency group.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

// Crash-consistent points are cut every 5 minutes; the interval is not configurable (facts.md,
// Site Recovery). A drill that wants it faster scales time instead.
inline constexpr Duration kCrashConsistentInterval = std::chrono::minutes(5);
// Retention of recovery points: default 1 day, up to 15 days.
inline constexpr Duration kDefaultRecoveryPointRetention = std::chrono::hours(24);
inline constexpr Duration kMaxRecoveryPointRetention = std::chrono::hours(15 * 24);
// App-consistent snapshots: off by default, at most once an hour.
inline constexpr Duration kMinAppConsistentInterval = std::chrono::hours(1);
// drsim's default warning threshold (the Azure portal's RPO alert default).
inline constexpr Duration kDefaultRpoThreshold = std::chrono::minutes(15);

struct ReplicationPolicy {
  Duration retention = kDefaultRecoveryPointRetention;
  // nullopt: app-consistent snapshots off (the default).
  std::optional<Duration> app_consistent_interval;
  // Replication health turns Warning when the newest point is older than this, Critical at
  // twice this (see site_recovery_health.h).
  Duration rpo_threshold = kDefaultRpoThreshold;

  // INVALID_ARGUMENT naming the field: 0 < retention <= 15d; app-consistent interval >= 1h;
  // rpo_threshold >= the 5-minute crash-consistent interval.
  Status validate() const;
};

// "5m", "1h30m", "15d", "16d" or "250ms": how durations read in Site Recovery messages.
std::string recovery_duration_text(Duration d);

}  // namespace drsim::model
