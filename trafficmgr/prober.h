// Prober: the Traffic Manager's probe transport, one per daemon, chosen by --probe-protocol —
// GrpcHealthProber (grpc.health.v1 Check), HttpProber (GET a path, judge the status code) or
// TcpProber (connect). The TrafficManager driver asks for probes and gets ProbeResults back on
// its io_context thread.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/config/listen_address.h"
#include "common/core/clock.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/trafficmgr/epoch_guard.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/monitor_config.h"
#include "common/net/transport.h"

namespace drsim::trafficmgr {

struct ProbeResult {
  size_t endpoint;
  model::ProbeOutcome outcome;
  // Empty on success; why it failed otherwise: "DEADLINE_EXCEEDED: …", "health status
  // NOT_SERVING", "HTTP 503 Service Unavailable: outage: …", "UNAVAILABLE: connect …: refused".
  std::string error;
  Duration latency;
  // What the probe saw on success: "SERVING", "HTTP 200 OK", "connected".
  std::string detail;
  // The region's epoch and role, when the answer carried them (gRPC metadata drsim-epoch /
  // drsim-role, HTTP X-Drsim-Epoch / X-Drsim-Role; never for TCP).
  std::optional<model::RegionClaim> claim;
};

// A claim from the two values a region sends ("7", "active"); none when either is missing or
// malformed (a decimal uint64; "active" or "standby").
std::optional<model::RegionClaim> parse_region_claim(std::string_view epoch, std::string_view role);

class Prober {
 public:
  // Runs on the io_context thread, never after cancel_all() or destruction.
  using ResultHandler = std::function<void(const ProbeResult&)>;

  virtual ~Prober() = default;
  // Loop thread. Starts one probe of `endpoint` (an index into the addresses it was built with).
  virtual void probe(size_t endpoint) = 0;
  // Loop thread. Cancels probes in flight; their results are dropped.
  virtual void cancel_all() = 0;
};

// The probes an Asio prober has in flight. Each Call owns itself through its pending handlers;
// the prober keeps weak references so that cancel_all() can reach the live ones.
template <typename Call>
class CallsInFlight {
 public:
  // Loop thread. Forgets finished calls, keeps `call` and starts it.
  void start(std::shared_ptr<Call> call) {
    calls_.remove_if([](const auto& weak) { return weak.expired(); });
    calls_.push_back(call);
    call->start();
  }
  // Loop thread. Cancels every call still alive.
  void cancel_all() {
    for (auto& weak : calls_) {
      if (auto call = weak.lock()) call->cancel();
    }
    calls_.clear();
  }

 private:
  std::list<std::weak_ptr<Call>> calls_;
};

// What every prober is built from.
struct ProberConfig {
  model::TmMonitorConfig monitor;    // protocol, path, headers, expected status codes, timeout
  std::vector<std::string> targets;  // host:port probed for each endpoint
  std::string health_service;        // gRPC health only: the service name checked
  std::vector<std::string> names;    // the endpoint's name, parallel to targets
};

// The identity a gRPC health probe requires of each target: the endpoint's name when it is one
// of `regions` (the topology's region daemons, whose certificates carry those names), else any
// identity of the CA (an endpoint named for a place, e.g. `weu`, says nothing of who listens).
std::vector<std::string> probe_peers(const ProberConfig& config,
                                     const std::vector<std::string>& regions);

// The prober for config.monitor.protocol, timing its probes on `clock`; gRPC health probes dial
// with `transport`, requiring probe_peers(config, regions). `monitor` must be valid.
std::unique_ptr<Prober> make_prober(boost::asio::io_context& io, const Clock& clock,
                                    const net::Transport& transport, const ProberConfig& config,
                                    const std::vector<std::string>& regions,
                                    Prober::ResultHandler on_result);

// What builds a TrafficManager's probers: make_prober in the daemon, an in-memory prober in a
// simulation.
using ProberFactory =
    std::function<std::unique_ptr<Prober>(const ProberConfig& config, Prober::ResultHandler)>;

// A probe target, parsed by config::parse_host_port (port 1..65535).
using config::HostPort;

}  // namespace drsim::trafficmgr
