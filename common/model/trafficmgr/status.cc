#include "common/model/trafficmgr/status.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>

#include "common/core/check.h"

namespace drsim::model {

namespace {

using EMS = TmEndpointMonitorStatus;

std::pair<std::string, std::string> key(std::string_view profile, std::string_view endpoint) {
  std::string p(profile);
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {std::move(p), std::string(endpoint)};
}

TmEndpointMonitorStatus from_probe(EndpointStatus probe) {
  switch (probe) {
    case EndpointStatus::kCheckingEndpoint:
      return EMS::kCheckingEndpoint;
    case EndpointStatus::kOnline:
      return EMS::kOnline;
    case EndpointStatus::kDegraded:
      return EMS::kDegraded;
  }
  return EMS::kCheckingEndpoint;
}

// Disabled / Inactive come first for every kind of endpoint.
std::optional<EMS> switched_off(TmEnabled profile, const TmEndpoint& endpoint) {
  if (endpoint.enabled == TmEnabled::kDisabled) return EMS::kDisabled;
  if (profile == TmEnabled::kDisabled) return EMS::kInactive;
  return std::nullopt;
}

std::optional<TmIpFamily> ip_family(const TmEndpoint& e) {
  if (e.kind != TmEndpointKind::kExternal) return std::nullopt;
  Result<TmIpAddress> ip = parse_ip_address(e.target);
  if (!ip.is_ok()) return std::nullopt;
  return ip->family;
}

}  // namespace

const char* tm_endpoint_monitor_status_name(TmEndpointMonitorStatus status) {
  switch (status) {
    case EMS::kCheckingEndpoint:
      return "CheckingEndpoint";
    case EMS::kOnline:
      return "Online";
    case EMS::kDegraded:
      return "Degraded";
    case EMS::kStopped:
      return "Stopped";
    case EMS::kDisabled:
      return "Disabled";
    case EMS::kInactive:
      return "Inactive";
    case EMS::kAlwaysServe:
      return "Unmonitored";
  }
  return "Unknown";
}

const char* tm_profile_monitor_status_name(TmProfileMonitorStatus status) {
  switch (status) {
    case TmProfileMonitorStatus::kCheckingEndpoints:
      return "CheckingEndpoints";
    case TmProfileMonitorStatus::kOnline:
      return "Online";
    case TmProfileMonitorStatus::kDegraded:
      return "Degraded";
    case TmProfileMonitorStatus::kDisabled:
      return "Disabled";
    case TmProfileMonitorStatus::kInactive:
      return "Inactive";
  }
  return "Unknown";
}

bool is_served(TmEndpointMonitorStatus status) {
  return status == EMS::kOnline || status == EMS::kCheckingEndpoint || status == EMS::kAlwaysServe;
}

bool standby_not_serving_by_design(std::string_view endpoint_status, bool standby,
                                   std::string_view superseded) {
  return standby && superseded.empty() &&
         (endpoint_status == tm_endpoint_monitor_status_name(EMS::kDegraded) ||
          endpoint_status == tm_endpoint_monitor_status_name(EMS::kCheckingEndpoint));
}

void TmObservations::set(std::string_view profile, std::string_view endpoint,
                         TmObservation observation) {
  by_endpoint_[key(profile, endpoint)] = observation;
}

TmObservation TmObservations::get(std::string_view profile, std::string_view endpoint) const {
  auto it = by_endpoint_.find(key(profile, endpoint));
  return it == by_endpoint_.end() ? TmObservation{} : it->second;
}

TmEndpointMonitorStatus monitored_endpoint_status(TmEnabled profile, const TmEndpoint& endpoint,
                                                  TmObservation observation) {
  if (auto off = switched_off(profile, endpoint)) return *off;
  // Stopped is the target's state, not a probe result, so always-serve does not hide it.
  if (observation.target == TmTargetState::kStopped) return EMS::kStopped;
  if (endpoint.serve == TmServeMode::kAlwaysServe) return EMS::kAlwaysServe;
  return from_probe(observation.probe);
}

TmEndpointMonitorStatus nested_endpoint_status(TmEnabled profile, const TmEndpoint& endpoint,
                                               const TmChildHealth& child) {
  if (auto off = switched_off(profile, endpoint)) return *off;
  if (child.status == TmProfileMonitorStatus::kDisabled ||
      child.status == TmProfileMonitorStatus::kInactive) {
    return EMS::kStopped;
  }
  if (endpoint.serve == TmServeMode::kAlwaysServe) return EMS::kAlwaysServe;
  auto meets = [&](uint32_t all, uint32_t v4, uint32_t v6) {
    return all >= endpoint.min_child_endpoints && v4 >= endpoint.min_child_ipv4 &&
           v6 >= endpoint.min_child_ipv6;
  };
  if (meets(child.online, child.online_ipv4, child.online_ipv6)) return EMS::kOnline;
  if (meets(child.online + child.checking, child.online_ipv4 + child.checking_ipv4,
            child.online_ipv6 + child.checking_ipv6)) {
    return EMS::kCheckingEndpoint;
  }
  return EMS::kDegraded;
}

TmProfileMonitorStatus profile_monitor_status(TmEnabled profile,
                                              std::span<const TmEndpointMonitorStatus> endpoints) {
  if (profile == TmEnabled::kDisabled) return TmProfileMonitorStatus::kDisabled;
  auto any = [&](auto... wanted) {
    return std::ranges::any_of(endpoints, [&](EMS s) { return ((s == wanted) || ...); });
  };
  if (any(EMS::kDegraded)) return TmProfileMonitorStatus::kDegraded;
  if (any(EMS::kOnline, EMS::kAlwaysServe)) return TmProfileMonitorStatus::kOnline;
  if (any(EMS::kCheckingEndpoint)) return TmProfileMonitorStatus::kCheckingEndpoints;
  return TmProfileMonitorStatus::kInactive;
}

TmStatusSnapshot TmStatusSnapshot::compute(const TmProfileSet& set,
                                           const TmObservations& observations) {
  TmStatusSnapshot snap;
  const auto& profiles = set.profiles();
  snap.profiles_.resize(profiles.size());
  std::vector<bool> done(profiles.size(), false);
  std::function<void(size_t)> fill = [&](size_t i) {
    if (done[i]) return;
    const TmProfile& p = profiles[i];
    TmProfileHealth& h = snap.profiles_[i];
    for (size_t j = 0; j < p.endpoints.size(); ++j) {
      const TmEndpoint& e = p.endpoints[j];
      EMS s;
      if (e.kind == TmEndpointKind::kNested) {
        const size_t child = set.child_index(i, j);
        fill(child);
        s = nested_endpoint_status(p.enabled, e, snap.profiles_[child].as_child);
      } else {
        s = monitored_endpoint_status(p.enabled, e, observations.get(p.name, e.name));
      }
      h.endpoints.push_back(s);
      const bool online = s == EMS::kOnline || s == EMS::kAlwaysServe;
      const bool checking = s == EMS::kCheckingEndpoint;
      const std::optional<TmIpFamily> family = ip_family(e);
      h.as_child.online += online;
      h.as_child.checking += checking;
      if (family == TmIpFamily::kIpv4) {
        h.as_child.online_ipv4 += online;
        h.as_child.checking_ipv4 += checking;
      } else if (family == TmIpFamily::kIpv6) {
        h.as_child.online_ipv6 += online;
        h.as_child.checking_ipv6 += checking;
      }
    }
    h.status = profile_monitor_status(p.enabled, h.endpoints);
    h.as_child.status = h.status;
    done[i] = true;
  };
  for (size_t i = 0; i < profiles.size(); ++i) fill(i);
  return snap;
}

const TmProfileHealth& TmStatusSnapshot::profile(size_t index) const {
  DRSIM_CHECK(index < profiles_.size());
  return profiles_[index];
}

}  // namespace drsim::model
