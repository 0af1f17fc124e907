// TmHealthTracker: the probe-result half of Traffic Manager's endpoint monitor, with drsim's
// success threshold (anti-flap) added. It sits beside HealthMonitor: the driver lets
// HealthMonitor schedule probes (due_probes / next_deadline) and feeds every result here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/core/time.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/monitor_config.h"

namespace drsim::model {

class TmHealthTracker {
 public:
  // tolerated_failures 0..9 and success_threshold 1..10 (checked), as TmMonitorConfig.
  TmHealthTracker(uint32_t tolerated_failures, uint32_t success_threshold, size_t endpoint_count);
  TmHealthTracker(const TmMonitorConfig& config, size_t endpoint_count)
      : TmHealthTracker(config.tolerated_failures, config.success_threshold, endpoint_count) {}

  // Rules: every endpoint starts CheckingEndpoint. Failure number tolerated+1 in a row
  // degrades it (Azure). The first success turns CheckingEndpoint Online (Azure); a Degraded
  // endpoint needs success_threshold successes in a row (1 = Azure's "one success brings it
  // back"). A failure resets the success streak and a success the failure count. Returns the
  // status change the result caused, if any.
  std::optional<EndpointStatusChanged> on_probe_result(size_t endpoint, ProbeOutcome outcome,
                                                       Time now);

  EndpointStatus status(size_t endpoint) const;
  uint32_t consecutive_failures(size_t endpoint) const;
  uint32_t consecutive_successes(size_t endpoint) const;
  size_t endpoint_count() const { return endpoints_.size(); }

 private:
  struct EndpointState {
    EndpointStatus status = EndpointStatus::kCheckingEndpoint;
    uint32_t failures = 0;
    uint32_t successes = 0;
  };
  const EndpointState& at(size_t endpoint) const;

  uint32_t tolerated_failures_;
  uint32_t success_threshold_;
  std::vector<EndpointState> endpoints_;
};

}  // namespace drsim::model
