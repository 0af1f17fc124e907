// What one drsim-trafficmgr serves: its profiles (each a model::TmProfile plus where probes go
// and what DNS answers), the client locations and latency table routing reads, and the parsing
// of the single-profile flags (`--endpoint NAME=HOST:PORT[@PRIORITY]`, `--probe-*`). Built by
// main from flags or from a --config file (traffic_manager_config_file.h); errors name the flag
// or the file and field.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/ip_range.h"
#include "common/model/trafficmgr/monitor_config.h"
#include "common/model/trafficmgr/profile.h"
#include "common/model/trafficmgr/routing.h"

namespace drsim::trafficmgr {

// Azure allows up to 200 endpoints per profile.
inline constexpr size_t kMaxEndpoints = 200;

struct EndpointSpec {
  std::string name;     // region name, what Resolve answers
  std::string address;  // host:port of the region's gRPC server (handed to clients)
  uint32_t priority;    // 1..1000, lower first
  // Where probes go when not `address`: `drsim up` puts a fault-proxy link on the probe path
  // and another on the client path, so a probe-only partition can hide a region from the
  // Traffic Manager while clients still reach it.
  std::string probe_address;
  const std::string& probed() const { return probe_address.empty() ? address : probe_address; }
};

// drsim's default probe: grpc.health.v1 Check, which names a service instead of a path.
inline model::TmMonitorConfig grpc_health_probe() {
  model::TmMonitorConfig c;
  c.protocol = model::TmProbeProtocol::kGrpcHealth;
  c.path.clear();
  return c;
}

// The DNS zone profile names are answered under unless a profile names its own dns_name.
inline constexpr const char* kDefaultDnsSuffix = "trafficmanager.test";

// What only the daemon's I/O needs of one endpoint (the model has no use for it).
struct EndpointIo {
  // host:port probes go to; "" = derived (ProfileSpec::probe_target).
  std::string probe_address;
  // The IP DNS answers for the endpoint; "" = the host of its target, which must be an IP.
  std::string dns_address;
};

// One profile as the daemon runs it.
struct ProfileSpec {
  model::TmProfile profile;
  std::vector<EndpointIo> io;  // parallel to profile.endpoints
  std::string dns_name;        // "" = <profile name>.trafficmanager.test
  // The monitor port, when the config gave one: probes go to HOST-OF-TARGET:port.
  std::optional<uint16_t> probe_port;
  std::string health_service = "drsim.v1.Workload";  // grpc.health.v1 service probes check

  // Where probes of endpoint e go: io.probe_address; else host-of-target:probe_port; else the
  // target when it has a port; else host:monitor.port. Empty for nested endpoints.
  std::string probe_target(size_t endpoint) const;
  std::string answered_dns_name() const;
  // The IP DNS answers for endpoint e: io.dns_address, else the host of its target when that
  // is an IP; "" for nested endpoints and targets that are names.
  std::string dns_answer(size_t endpoint) const;
  // Region and external endpoints that are probed: enabled, monitored, in an enabled profile.
  std::vector<size_t> probed_endpoints() const;
};

// DNS queries carry no region: a source address in `range` is a client of `region` (a
// geographic code like "DE", or a latency-table row for performance routing).
struct ClientLocation {
  model::TmIpRange range;
  std::string region;
};

struct LatencyEntry {
  std::string client_region;
  std::string location;
  Duration latency;
};

// Everything one daemon serves. The first profile is the default one (`drsim up`'s "drsim").
struct TrafficManagerConfig {
  std::vector<ProfileSpec> profiles;
  std::vector<ClientLocation> client_locations;
  std::vector<LatencyEntry> latency;
  uint64_t seed = 1;  // weighted and performance draws
  // Names what the errors of validate() come from: "--profile" flags, or a config file.
  std::string source = "flags";

  // The profile set (every model rule), then the daemon's own: dns names unique, probe and DNS
  // addresses well formed, client locations not overlapping. INVALID_ARGUMENT "source: why".
  Status validate() const;
  Result<model::TmProfileSet> profile_set() const;
  model::TmLatencyTable latency_table() const;
  // The client region of a DNS query from `ip` ("" when no location holds it).
  std::string client_region_of(const model::TmIpAddress& ip) const;
};

// The single profile given by flags (--profile, --endpoint, --probe-*, --ttl-ms).
struct FlagProfileConfig {
  std::string profile = "drsim";
  std::vector<EndpointSpec> endpoints;
  model::MonitorConfig monitor;
  // How probes are made: protocol, and for HTTP(S) the path, custom headers and expected status
  // codes. Its timing fields are not read: `monitor` schedules (see probe_config()).
  model::TmMonitorConfig probe = grpc_health_probe();
  Duration ttl = std::chrono::milliseconds(500);
  // grpc.health.v1 service name each probe asks about.
  std::string health_service = "drsim.v1.Workload";

  // INVALID_ARGUMENT naming the flag (`--probe-timeout-ms: ...`). The probe settings are
  // checked with Traffic Manager's rules at drsim's scale (TmTimingRules::kScaled).
  Status validate() const;
  // `probe` with the timing of `monitor`: what the prober is built from.
  model::TmMonitorConfig probe_config() const;
  // A priority profile of region endpoints, exactly what the flags say. validate() first.
  ProfileSpec to_profile_spec() const;
};

// `--dns-name NAME` and `--dns-address ENDPOINT=IP` (repeatable) applied to the flag profile.
// INVALID_ARGUMENT naming the flag.
Status apply_dns_flags(const std::string& dns_name,
                       const std::vector<std::string>& dns_address_flags, ProfileSpec* spec);

// The host of "host:port", "[v6]:port", or a bare IP / name.
std::string host_of_target(const std::string& target);

// `--probe-protocol grpc|http|https|tcp`.
Result<model::TmProbeProtocol> parse_probe_protocol_flag(const std::string& value);
// `--probe-header NAME:VALUE` (spaces after the colon are dropped). Errors name the flag; the
// name and value themselves are checked by validate().
Result<model::TmHttpHeader> parse_probe_header_flag(const std::string& value);
// `--expected-status 200` or `--expected-status 200-299`. Errors name the flag.
Result<model::TmStatusCodeRange> parse_expected_status_flag(const std::string& value);

// Parses NAME=HOST:PORT or NAME=HOST:PORT@PRIORITY. Without @PRIORITY the endpoint gets
// `default_priority` (main passes its 1-based position). Errors name --endpoint.
Result<EndpointSpec> parse_endpoint_flag(const std::string& value, uint32_t default_priority);

// Applies `--probe-address NAME=HOST:PORT` to the endpoint NAME. Errors name the flag.
Status apply_probe_address_flag(const std::string& value, std::vector<EndpointSpec>* endpoints);

}  // namespace drsim::trafficmgr
