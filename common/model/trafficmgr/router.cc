#include "common/model/trafficmgr/router.h"

#include <string>

namespace drsim::model {

Status validate_priority(uint32_t priority) {
  if (priority < kMinPriority || priority > kMaxPriority) {
    return invalid_argument("priority: " + std::to_string(priority) + " is out of range " +
                            std::to_string(kMinPriority) + ".." + std::to_string(kMaxPriority));
  }
  return Status::ok();
}

namespace {

bool is_eligible(EndpointStatus status) {
  return status == EndpointStatus::kOnline || status == EndpointStatus::kCheckingEndpoint;
}

// Index of the lowest priority number among endpoints passing `accept`; first index wins ties.
template <typename Accept>
std::optional<size_t> best(const std::vector<RoutableEndpoint>& endpoints, Accept accept) {
  std::optional<size_t> pick;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    if (!accept(endpoints[i])) continue;
    if (!pick || endpoints[i].priority < endpoints[*pick].priority) pick = i;
  }
  return pick;
}

}  // namespace

std::optional<RouteDecision> route_by_priority(const std::vector<RoutableEndpoint>& endpoints) {
  if (auto pick = best(endpoints, [](const auto& e) { return is_eligible(e.status); })) {
    return RouteDecision{*pick, false};
  }
  // Fail open: every endpoint is Degraded, so all count as Online.
  if (auto pick = best(endpoints, [](const auto&) { return true; })) {
    return RouteDecision{*pick, true};
  }
  return std::nullopt;
}

}  // namespace drsim::model
