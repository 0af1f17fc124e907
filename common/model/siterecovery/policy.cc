#include "common/model/siterecovery/policy.h"

namespace drsim::model {

std::string recovery_duration_text(Duration d) {
  using namespace std::chrono;
  if (d == Duration::zero()) return "0s";
  std::string sign = d < Duration::zero() ? "-" : "";
  if (d < Duration::zero()) d = -d;
  if (d % seconds(1) != Duration::zero()) {
    return sign + std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  }
  std::string out;
  auto take = [&](Duration unit, const char* suffix) {
    auto n = d / unit;
    if (n == 0) return;
    out += std::to_string(n) + suffix;
    d -= n * unit;
  };
  take(hours(24), "d");
  take(hours(1), "h");
  take(minutes(1), "m");
  take(seconds(1), "s");
  return sign + out;
}

Status ReplicationPolicy::validate() const {
  if (retention <= Duration::zero()) {
    return invalid_argument("retention: " + recovery_duration_text(retention) +
                            " must be positive (up to 15d)");
  }
  if (retention > kMaxRecoveryPointRetention) {
    return invalid_argument("retention: " + recovery_duration_text(retention) +
                            " exceeds the Site Recovery maximum of 15d");
  }
  if (app_consistent_interval && *app_consistent_interval < kMinAppConsistentInterval) {
    return invalid_argument(
        "app_consistent_interval: " + recovery_duration_text(*app_consistent_interval) +
        " is too frequent: app-consistent snapshots run at most once an "
        "hour (1h or more, or off)");
  }
  // Below the crash-consistent interval the newest point is always older than the threshold
  // just before the next cut, so health would warn every 5 minutes on a healthy item.
  if (rpo_threshold < kCrashConsistentInterval) {
    return invalid_argument("rpo_threshold: " + recovery_duration_text(rpo_threshold) +
                            " is below the 5m crash-consistent interval; use 5m or more");
  }
  return Status::ok();
}

}  // namespace drsim::model
