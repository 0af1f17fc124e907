// What one drsim-trafficmgr serves: a profile, its endpoints in priority order, the monitor
// settings and the TTL, plus the parsing of `--endpoint NAME=HOST:PORT[@PRIORITY]` flags.
// Built by main from flags; validate() ends the parsing, errors name the flag.
#pragma once

#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/health_monitor.h"
#include "common/model/tm_monitor_config.h"

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

struct TrafficManagerConfig {
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
};

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
