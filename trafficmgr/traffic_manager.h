// TrafficManager: the driver of drsim-trafficmgr. On the one io_context thread it asks the
// HealthMonitor which endpoints to probe, probes them through the configured Prober (gRPC
// health, HTTP(S) or TCP), feeds the outcomes back, recomputes the priority route and
// publishes table, answer and events.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "common/core/task_queue.h"
#include "common/model/health_monitor.h"
#include "common/model/router.h"
#include "common/net/asio_scheduler.h"
#include "trafficmgr/prober.h"
#include "trafficmgr/routing_state.h"
#include "trafficmgr/traffic_manager_config.h"

namespace drsim::trafficmgr {

class TrafficManager {
 public:
  // config must be valid (checked). Publishes the initial table (every endpoint
  // CheckingEndpoint, routed to the highest priority) so Resolve answers before any probe.
  TrafficManager(TrafficManagerConfig config, net::AsioScheduler& scheduler);

  TrafficManager(const TrafficManager&) = delete;
  TrafficManager& operator=(const TrafficManager&) = delete;

  // Loop thread. start() sends the first probes; stop() ends probing and drops results of
  // probes still in flight.
  void start();
  void stop();

  RoutingState& state() { return state_; }
  const model::HealthMonitor& monitor() const { return monitor_; }
  const TrafficManagerConfig& config() const { return config_; }
  // Loop thread: counted since start, for /metrics.
  uint64_t route_changes() const { return route_changes_; }
  uint64_t status_changes() const { return status_changes_; }
  // The route Resolve answers now (always set: the config has an endpoint).
  const std::optional<model::RouteDecision>& route() const { return route_; }

 private:
  struct EndpointDetail {
    std::string last_probe_error;
    std::string last_probe_result;
    double last_probe_ms = 0;
    int64_t status_changed_unix_nanos = 0;
    uint64_t probes_succeeded = 0;
    uint64_t probes_failed = 0;
  };

  void probe_due();
  void arm_timer();
  void on_probe_result(const ProbeResult& result);
  void on_status_changed(const model::EndpointStatusChanged& change);
  void update_route();
  void publish();
  std::string route_change_reason(const std::optional<model::RouteDecision>& from,
                                  const model::RouteDecision& to) const;
  v1::RoutingEvent new_event(v1::RoutingEvent::Kind kind) const;

  const TrafficManagerConfig config_;
  net::AsioScheduler& scheduler_;
  model::HealthMonitor monitor_;
  RoutingState state_;
  std::vector<EndpointDetail> details_;
  std::optional<model::RouteDecision> route_;
  std::optional<TimerId> timer_;
  bool running_ = false;
  uint64_t route_changes_ = 0;
  uint64_t status_changes_ = 0;
  std::shared_ptr<spdlog::logger> probe_log_;
  std::shared_ptr<spdlog::logger> route_log_;
  // Last: destroyed first, so no probe callback outlives the state it reports into.
  std::unique_ptr<Prober> prober_;
};

}  // namespace drsim::trafficmgr
