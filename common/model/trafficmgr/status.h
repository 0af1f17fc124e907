// Traffic Manager endpoint and profile monitor status: the rules that turn the operator's
// switches, probe results and child-profile health into the statuses Azure shows, and a
// snapshot of them over a whole TmProfileSet that routing reads. Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/profile.h"

namespace drsim::model {

enum class TmEndpointMonitorStatus {
  kCheckingEndpoint,  // no probe answered yet; served
  kOnline,
  kDegraded,
  kStopped,      // the target is stopped, or a nested child profile is Disabled / Inactive
  kDisabled,     // the operator disabled the endpoint
  kInactive,     // the operator disabled the profile
  kAlwaysServe,  // not monitored, always served (Azure API "Unmonitored")
};

enum class TmProfileMonitorStatus { kCheckingEndpoints, kOnline, kDegraded, kDisabled, kInactive };

// Azure's words: "Online", "CheckingEndpoint", "Unmonitored", "CheckingEndpoints", ...
const char* tm_endpoint_monitor_status_name(TmEndpointMonitorStatus status);
const char* tm_profile_monitor_status_name(TmProfileMonitorStatus status);

// Served as is: Online, CheckingEndpoint (Azure serves it while the first probe is pending),
// AlwaysServe.
bool is_served(TmEndpointMonitorStatus status);

// A healthy standby answers NOT_SERVING to the health probes by design (it must never be routed
// to), which the Traffic Manager counts as Degraded (CheckingEndpoint before its first answer):
// nothing is wrong then. `endpoint_status` in Azure's words; `standby`: the region says it is
// the standby and is not in an outage; `superseded`: epoch-aware routing's reason for not
// routing it ("" when none). `drsim status` and the dashboard show such an endpoint with
// kStandbyByDesignNote, and a profile Degraded only by them as "Degraded*", kStandbyByDesignWhy.
bool standby_not_serving_by_design(std::string_view endpoint_status, bool standby,
                                   std::string_view superseded);
inline constexpr const char* kStandbyByDesignNote = "standby: not serving by design";
inline constexpr const char* kStandbyByDesignWhy =
    "a healthy standby answers NOT_SERVING to the Traffic Manager's health probes by design, so "
    "clients are never routed to it; the profile counts it as degraded";

// The running state of a region or external endpoint's target, as the driver knows it (the
// operator stopped the region). Not a probe result.
enum class TmTargetState { kRunning, kStopped };

// What the driver knows about one region or external endpoint.
struct TmObservation {
  EndpointStatus probe = EndpointStatus::kCheckingEndpoint;  // HealthMonitor / TmHealthTracker
  TmTargetState target = TmTargetState::kRunning;
};

// Observations by (profile, endpoint) name; profile names compare case-insensitively. An
// endpoint never observed is running and CheckingEndpoint.
class TmObservations {
 public:
  void set(std::string_view profile, std::string_view endpoint, TmObservation observation);
  TmObservation get(std::string_view profile, std::string_view endpoint) const;

 private:
  std::map<std::pair<std::string, std::string>, TmObservation> by_endpoint_;
};

// Region or external endpoint, first rule that applies (Azure monitoring doc, "Endpoint and
// profile status"): endpoint disabled → Disabled (whatever the profile); profile disabled →
// Inactive; target stopped → Stopped; always serve → AlwaysServe; else the probe status.
TmEndpointMonitorStatus monitored_endpoint_status(TmEnabled profile, const TmEndpoint& endpoint,
                                                  TmObservation observation);

// The child profile as a parent's nested endpoint sees it.
struct TmChildHealth {
  TmProfileMonitorStatus status = TmProfileMonitorStatus::kCheckingEndpoints;
  // Served counts: Online and AlwaysServe endpoints count as online.
  uint32_t online = 0;
  uint32_t checking = 0;
  // The same restricted to external endpoints whose target is an IPv4 / IPv6 address.
  uint32_t online_ipv4 = 0;
  uint32_t checking_ipv4 = 0;
  uint32_t online_ipv6 = 0;
  uint32_t checking_ipv6 = 0;
};

// Nested endpoint (Azure nested-profiles doc, health of a nested endpoint): endpoint disabled
// → Disabled; profile disabled → Inactive; child Disabled or Inactive → Stopped (not
// Disabled, which is kept for the parent's own switch); always serve → AlwaysServe; child
// online >= min_child_endpoints (and IPv4 / IPv6 minimums) → Online; online + checking
// meets them → CheckingEndpoint; else Degraded.
TmEndpointMonitorStatus nested_endpoint_status(TmEnabled profile, const TmEndpoint& endpoint,
                                               const TmChildHealth& child);

// Profile status, first rule that applies (Azure): profile disabled → Disabled; any endpoint
// Degraded → Degraded; any Online or AlwaysServe → Online; any CheckingEndpoint →
// CheckingEndpoints; else (no endpoints, or all Disabled / Stopped) → Inactive. Degraded wins
// over Online, as Azure's table says ("Online: ... No endpoint is in the Degraded state").
TmProfileMonitorStatus profile_monitor_status(TmEnabled profile,
                                              std::span<const TmEndpointMonitorStatus> endpoints);

struct TmProfileHealth {
  TmProfileMonitorStatus status = TmProfileMonitorStatus::kInactive;
  std::vector<TmEndpointMonitorStatus> endpoints;  // parallel to TmProfile::endpoints
  TmChildHealth as_child;
};

// Every status of a profile set at one moment, parallel to TmProfileSet::profiles().
class TmStatusSnapshot {
 public:
  // Children are computed before parents (the set has no cycles).
  static TmStatusSnapshot compute(const TmProfileSet& set, const TmObservations& observations);

  const TmProfileHealth& profile(size_t index) const;
  size_t size() const { return profiles_.size(); }

 private:
  std::vector<TmProfileHealth> profiles_;
};

}  // namespace drsim::model
