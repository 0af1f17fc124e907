// HealthMonitor: Traffic Manager's endpoint monitor as a pure state machine. It says which
// endpoints to probe and when, and turns probe outcomes into endpoint status changes
// (CheckingEndpoint → Online / Degraded). The trafficmgr driver runs the probes and the timer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

// Azure Traffic Manager allows 0..9 tolerated failures.
inline constexpr uint32_t kMaxToleratedFailures = 9;

struct MonitorConfig {
  Duration probe_interval = std::chrono::milliseconds(100);
  // Each probe's deadline. Not longer than the interval, so at most one probe per endpoint is
  // in flight in the normal case.
  Duration probe_timeout = std::chrono::milliseconds(50);
  // Consecutive failures an endpoint survives; failure number tolerated+1 degrades it.
  uint32_t tolerated_failures = 2;

  // INVALID_ARGUMENT naming the field: interval > 0, 0 < timeout <= interval, tolerated 0..9.
  Status validate() const;
};

enum class EndpointStatus {
  kCheckingEndpoint,  // no probe answered yet; still served (Azure "CheckingEndpoint")
  kOnline,
  kDegraded,
};

// "CheckingEndpoint", "Online" or "Degraded" — the words of the Azure portal.
const char* endpoint_status_name(EndpointStatus status);

enum class ProbeOutcome { kSuccess, kFailure };

// Domain event returned by on_probe_result when an endpoint's status changes.
struct EndpointStatusChanged {
  size_t endpoint;
  EndpointStatus from;
  EndpointStatus to;
  Time at;
  uint32_t consecutive_failures;  // after this probe
};

// Invariants: at most one probe per endpoint in flight; every endpoint's next due time lies
// on its grid start + n * probe_interval, so probes never drift.
class HealthMonitor {
 public:
  // config must be valid (checked). The first probe of every endpoint is due at `start`.
  HealthMonitor(MonitorConfig config, size_t endpoint_count, Time start);

  // Endpoints whose probe is due at `now` and not already in flight, in index order. Marks
  // them in flight and schedules their next probe one interval after the previous due time;
  // when that is already past (the driver fell behind), skips to the first grid point after
  // `now` instead of firing a burst of catch-up probes.
  std::vector<size_t> due_probes(Time now);

  // Applies a probe outcome and clears the endpoint's in-flight mark. Returns the status
  // change it caused, if any. Rules (Azure Traffic Manager): failure number tolerated+1 in a
  // row degrades; a single success brings the endpoint Online.
  std::optional<EndpointStatusChanged> on_probe_result(size_t endpoint, ProbeOutcome outcome,
                                                       Time now);

  // One probe of every endpoint as soon as possible, off the grid (the grid stays): due now
  // for an endpoint without a probe in flight, and right after its result for one with. The
  // Traffic Manager asks when a region reports it has begun serving (a promotion), so routing
  // follows at once instead of at the next interval.
  void request_probe_now(Time now);
  // When due_probes next has work: the earliest due time of an endpoint not in flight, or
  // kNever when every endpoint is in flight (a result arriving changes that; re-ask then).
  Time next_deadline() const;

  EndpointStatus status(size_t endpoint) const;
  uint32_t consecutive_failures(size_t endpoint) const;
  bool probe_in_flight(size_t endpoint) const;
  Time next_probe_due(size_t endpoint) const;
  size_t endpoint_count() const { return endpoints_.size(); }
  const MonitorConfig& config() const { return config_; }

 private:
  struct EndpointState {
    EndpointStatus status = EndpointStatus::kCheckingEndpoint;
    uint32_t consecutive_failures = 0;
    Time next_due;
    bool in_flight = false;
    std::optional<Time> early;  // request_probe_now: one extra probe due at this time
  };
  const EndpointState& at(size_t endpoint) const;

  const MonitorConfig config_;
  std::vector<EndpointState> endpoints_;
};

}  // namespace drsim::model
