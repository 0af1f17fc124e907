// Priority routing for Traffic Manager: from each endpoint's priority and monitor status,
// the endpoint a Resolve answers. Pure function; the trafficmgr driver calls it after every
// status change and compares with the previous answer to report route changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/core/status.h"
#include "common/model/trafficmgr/health_monitor.h"

namespace drsim::model {

// Azure's priority range; lower is preferred.
inline constexpr uint32_t kMinPriority = 1;
inline constexpr uint32_t kMaxPriority = 1000;

// INVALID_ARGUMENT unless 1..1000.
Status validate_priority(uint32_t priority);

struct RoutableEndpoint {
  uint32_t priority;
  EndpointStatus status;
};

struct RouteDecision {
  size_t endpoint;  // index into the input
  bool fail_open;   // no endpoint was eligible; answered as if it were Online

  bool operator==(const RouteDecision&) const = default;
};

// Eligible endpoints are Online or CheckingEndpoint (served while the first probe is
// pending). Answers the eligible one with the lowest priority number, ties by index. When none
// is eligible, fails open like Azure ("when every eligible endpoint is Degraded, all are
// returned as if Online"): the lowest priority number of all, fail_open = true. nullopt only
// for an empty list.
std::optional<RouteDecision> route_by_priority(const std::vector<RoutableEndpoint>& endpoints);

}  // namespace drsim::model
