// TmFailoverMeter: the failover time a Traffic Manager profile actually took, measured by the
// daemon beside the formulas of estimate_failover(). One per profile; the driver feeds it every
// probe result of the profile's monitored endpoints and every route change.
//
// Definition: from the start of the first failed probe of the failure streak that took an
// endpoint out of the route (the driver passes each result's start time: arrival minus the
// probe's latency, so a timeout counts whole) to the route change that stopped answering it.
// Resolvers' caches (the TTL) come on top; `drsim status` shows both.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "common/core/time.h"
#include "common/model/trafficmgr/health_monitor.h"

namespace drsim::model {

struct TmFailoverMeasurement {
  size_t endpoint = 0;  // the endpoint that left the route
  Time first_failure{};
  Time route_changed{};
  Duration took() const { return route_changed - first_failure; }
};

class TmFailoverMeter {
 public:
  explicit TmFailoverMeter(size_t endpoint_count) : streak_start_(endpoint_count) {}

  // `probe_started` is when the probe was sent. A failure starts a streak unless one is
  // running; a success ends it.
  void on_probe_result(size_t endpoint, ProbeOutcome outcome, Time probe_started);
  // The route changed at `now`: `left` are the endpoints answered before and not any more. The
  // one whose failure streak started first is measured; endpoints that left for another reason
  // (a healthier one came back) have no streak and measure nothing. Returns the measurement.
  std::optional<TmFailoverMeasurement> on_route_change(std::span<const size_t> left, Time now);

  const std::optional<TmFailoverMeasurement>& last() const { return last_; }
  std::optional<Time> streak_start(size_t endpoint) const { return streak_start_.at(endpoint); }

 private:
  std::vector<std::optional<Time>> streak_start_;
  std::optional<TmFailoverMeasurement> last_;
};

}  // namespace drsim::model
