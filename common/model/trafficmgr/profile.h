// Traffic Manager profiles: a DNS name, a routing method, monitor settings, a TTL and up to 200
// endpoints (region, external, or a nested child profile), with Azure's validation rules. A
// TmProfileSet holds every profile one Traffic Manager serves and is valid by construction, so
// status computation and routing may rely on it (child profiles exist, no cycles, depth <= 10).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/model/trafficmgr/ip_range.h"
#include "common/model/trafficmgr/monitor_config.h"

namespace drsim::model {

// Azure limits (facts.md, "Traffic Manager").
inline constexpr size_t kTmMaxEndpoints = 200;
inline constexpr uint32_t kTmMinPriority = 1;
inline constexpr uint32_t kTmMaxPriority = 1000;
inline constexpr uint32_t kTmMinWeight = 1;
inline constexpr uint32_t kTmMaxWeight = 1000;
inline constexpr std::chrono::seconds kTmMaxTtl{2'147'483'647};
inline constexpr uint32_t kTmMaxMultiValueReturn = 10;
// Profiles on the longest parent → child chain, the root included: a profile without nested
// endpoints has depth 1, and ten profiles chained is the deepest Azure allows.
inline constexpr size_t kTmMaxNestingDepth = 10;
// Catch-all geographic code (Azure's "World").
inline constexpr std::string_view kTmGeoWorld = "WORLD";

enum class TmRoutingMethod {
  kPriority,
  kWeighted,
  kPerformance,
  kGeographic,
  kMultiValue,
  kSubnet
};
const char* tm_routing_method_name(TmRoutingMethod method);

enum class TmEndpointKind {
  kRegion,    // a drsim region; target is the address handed to clients (host:port)
  kExternal,  // anything else; target is a DNS name, IPv4 or IPv6 address
  kNested,    // target is a child profile's name; answers come from the child
};

// Azure's profileStatus / endpointStatus: the operator's switch, not health.
enum class TmEnabled { kEnabled, kDisabled };

enum class TmServeMode {
  kMonitored,
  kAlwaysServe,  // never probed, always in answers (portal: "not monitored")
};

struct TmEndpoint {
  std::string name;  // unique within the profile
  TmEndpointKind kind = TmEndpointKind::kRegion;
  std::string target;
  // Performance routing: the region whose latency from the client applies. Required there.
  std::string location;
  uint32_t priority = 1;  // 1..1000, lower first; unique in a priority profile
  uint32_t weight = 1;    // 1..1000
  // Geographic codes ("WORLD", "DE", "US-CA"), case-insensitive; each code maps to at most one
  // endpoint of the profile. Required (one or more) in a geographic profile, unused elsewhere.
  std::vector<std::string> geo_codes;
  // Client address ranges. Subnet routing maps them; geographic and performance profiles use
  // them as overrides (Azure "subnet override"); other methods refuse them. Ranges of two
  // endpoints may not overlap.
  std::vector<TmIpRange> subnets;
  TmEnabled enabled = TmEnabled::kEnabled;
  TmServeMode serve = TmServeMode::kMonitored;
  // Nested only: the child counts as healthy when it has at least this many Online endpoints
  // (1..200), and at least min_child_ipv4 / min_child_ipv6 Online IPv4 / IPv6 external
  // endpoints (0 = no requirement; for multivalue children).
  uint32_t min_child_endpoints = 1;
  uint32_t min_child_ipv4 = 0;
  uint32_t min_child_ipv6 = 0;
};

struct TmProfile {
  std::string name;  // DNS name: LDH labels of 1..63, at most 253 characters
  TmEnabled enabled = TmEnabled::kEnabled;
  // 0..2,147,483,647 s like Azure; drsim keeps milliseconds so scaled drills can use 500 ms.
  std::chrono::milliseconds ttl = std::chrono::seconds(60);
  TmRoutingMethod routing = TmRoutingMethod::kPriority;
  uint32_t max_return = 2;  // multivalue: answers per query, 1..10
  TmMonitorConfig monitor;
  std::vector<TmEndpoint> endpoints;

  // The rules one profile can check alone. INVALID_ARGUMENT as
  // `profile "app": endpoints[east].weight: 0 is out of range 1..1000`.
  Status validate(TmTimingRules rules) const;
  std::optional<size_t> endpoint_index(std::string_view endpoint_name) const;
};

// INVALID_ARGUMENT unless `name` is a DNS name as TmProfile::name requires.
Status validate_tm_profile_name(std::string_view name);

class TmProfileSet {
 public:
  // Validates every profile, then the set: names unique (DNS names compare case-insensitively),
  // every nested endpoint names another profile of the set, no cycle, depth <= 10.
  static Result<TmProfileSet> create(std::vector<TmProfile> profiles, TmTimingRules rules);

  const std::vector<TmProfile>& profiles() const { return profiles_; }
  // Case-insensitive, as DNS.
  std::optional<size_t> index_of(std::string_view profile_name) const;
  const TmProfile* find(std::string_view profile_name) const;
  // For a nested endpoint of profiles()[profile]: the child's index.
  size_t child_index(size_t profile, size_t endpoint) const;
  // Profiles on the longest chain starting at profiles()[profile], itself included.
  size_t depth(size_t profile) const { return depth_[profile]; }

 private:
  std::vector<TmProfile> profiles_;
  std::map<std::string, size_t, std::less<>> by_lower_name_;
  std::vector<std::vector<std::optional<size_t>>> children_;  // [profile][endpoint]
  std::vector<size_t> depth_;
};

}  // namespace drsim::model
