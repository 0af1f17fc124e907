// Traffic Manager's routing methods as one pure function: from a profile set, a status
// snapshot and the query (client region, client IP, seeded Rng, latency table) to the DNS
// answer. The trafficmgr DNS server and Resolve RPC call it per query.
//
// Which endpoints a method may answer:
//   served    Online, CheckingEndpoint, AlwaysServe.
//   fail-open Degraded, used only when no endpoint of the profile is served ("when every
//             eligible endpoint is Degraded, all are returned as if Online").
//   never     Stopped, Disabled, Inactive.
// Methods:
//   priority     the served endpoint with the lowest priority number; else fail open the same.
//   weighted     random among served endpoints, P(e) = weight / sum of weights; else fail open.
//   performance  subnet override first (only if that endpoint is served); then the endpoints
//                whose location has the lowest latency from client_region, random among them
//                (Azure spreads evenly within a region); unknown latencies rank last; else fail
//                open the same way.
//   geographic   subnet override first; then the endpoint mapping the client's code, trying
//                "US-CA", then "US", then "WORLD" (case-insensitive). Never fails over: a
//                Degraded match is answered (fail_open set); a Stopped match is NODATA with no
//                lookup higher up; Disabled endpoints take part in no match. Unmapped: NODATA.
//   multivalue   the first max_return served endpoints in profile order (all external IPv4 /
//                IPv6, per Azure); else the first max_return Degraded ones, failing open.
//   subnet       the enabled endpoint whose range holds client_ip, else the fallback endpoint
//                (no ranges); Disabled ones act as absent. Unmapped, or the mapped endpoint not
//                served: NODATA (Azure FAQ: no answer when "mapped to an endpoint but that
//                endpoint is unhealthy"), so subnet never fails open.
// A chosen nested endpoint resolves its child profile with the child's own method.
// NXDOMAIN: the profile is unknown, disabled, or Inactive (Azure: "If all endpoints in a
// profile are disabled, or if the profile itself is disabled, then DNS queries are met with an
// NXDOMAIN response").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/core/rng.h"
#include "common/core/time.h"
#include "common/model/trafficmgr/ip_range.h"
#include "common/model/trafficmgr/profile.h"
#include "common/model/trafficmgr/status.h"

namespace drsim::model {

// Measured latency from a client region to an endpoint location (Azure's Internet Latency
// Table, here an input the drill or driver fills in).
class TmLatencyTable {
 public:
  void set(std::string_view client_region, std::string_view location, Duration latency);
  std::optional<Duration> get(std::string_view client_region, std::string_view location) const;

 private:
  std::map<std::pair<std::string, std::string>, Duration, std::less<>> latency_;
};

struct TmQuery {
  // Performance: the latency table row. Geographic: the client's code ("US-CA", "DE").
  std::string client_region;
  // Subnet routing and subnet overrides; nullopt matches no range.
  std::optional<TmIpAddress> client_ip;
  Rng& rng;  // weighted and performance draws
  const TmLatencyTable* latency = nullptr;
};

enum class TmResolutionKind { kAnswers, kNoData, kNxDomain };
const char* tm_resolution_kind_name(TmResolutionKind kind);

struct TmAnswer {
  std::string profile;   // the profile holding the endpoint (a child for nested routes)
  std::string endpoint;  // endpoint name
  std::string address;   // its target, what the client connects to
  bool operator==(const TmAnswer&) const = default;
};

struct TmResolution {
  TmResolutionKind kind = TmResolutionKind::kNoData;
  std::vector<TmAnswer> answers;  // empty unless kAnswers
  // Some answer came from a Degraded endpoint served as if Online, at any nesting level.
  bool fail_open = false;
};

TmResolution resolve(const TmProfileSet& set, const TmStatusSnapshot& statuses,
                     std::string_view profile_name, TmQuery& query);

// What a profile may answer now, independent of any one query: the route that route-change
// events, status and the dashboard report. Endpoint indexes into the profile, in profile order.
//   priority     the one endpoint resolve() picks (its nested child is not followed).
//   weighted, performance   every served endpoint; else the Degraded ones, fail_open.
//   multivalue   the first max_return served endpoints; else Degraded ones, fail_open.
//   geographic   every endpoint that can match: served or Degraded (it never fails over).
//   subnet       every served endpoint (it never fails open).
// Empty when the profile is Disabled or Inactive (resolve() answers NXDOMAIN).
struct TmRouteSummary {
  std::vector<size_t> endpoints;
  bool fail_open = false;
  bool operator==(const TmRouteSummary&) const = default;
};
TmRouteSummary route_summary(const TmProfileSet& set, const TmStatusSnapshot& statuses,
                             size_t profile);

}  // namespace drsim::model
