// TrafficManager: the driver of drsim-trafficmgr. On the one io_context thread it runs, per
// profile, the HealthMonitor that schedules probes and the Prober that makes them (gRPC health,
// HTTP(S) or TCP), feeds outcomes to the profile's TmHealthTracker, recomputes every status
// with model::TmStatusSnapshot (nested profiles included) and each profile's route with
// model::route_summary, and publishes tables, statuses and routing events to RoutingState,
// which routes each query (model::resolve).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "common/core/scheduler.h"
#include "common/core/task_queue.h"
#include "common/model/metrics/latency_histogram.h"
#include "common/model/trafficmgr/epoch_guard.h"
#include "common/model/trafficmgr/failover_meter.h"
#include "common/model/trafficmgr/health_monitor.h"
#include "common/model/trafficmgr/health_tracker.h"
#include "common/model/trafficmgr/profile.h"
#include "common/model/trafficmgr/routing.h"
#include "common/model/trafficmgr/status.h"
#include "trafficmgr/prober.h"
#include "trafficmgr/routing_state.h"
#include "trafficmgr/traffic_manager_config.h"

namespace drsim::trafficmgr {

class TrafficManager {
 public:
  // config must be valid (checked). Publishes the initial tables (every probed endpoint
  // CheckingEndpoint, which is served) so Resolve answers before any probe.
  // `scheduler` and `clock` are the process's; `make_prober` builds each profile's prober
  // (make_prober over the loop in the daemon, an in-memory one in a simulation).
  TrafficManager(TrafficManagerConfig config, Scheduler& scheduler, const Clock& clock,
                 const ProberFactory& make_prober);
  ~TrafficManager();

  TrafficManager(const TrafficManager&) = delete;
  TrafficManager& operator=(const TrafficManager&) = delete;

  // Loop thread. start() sends the first probes; stop() ends probing and drops results of
  // probes still in flight.
  void start();
  void stop();

  // Loop thread. A region reported it has begun serving (RenewLease NOW_SERVING, after a
  // promotion): probe every endpoint of every profile now rather than at the next interval.
  void probe_now();

  RoutingState& state() { return *state_; }
  const Clock& clock() const { return clock_; }
  const TrafficManagerConfig& config() const { return config_; }
  const model::TmProfileSet& profile_set() const { return *set_; }
  // Loop thread, per profile (index into the config), counted since start, for /metrics.
  uint64_t route_changes(size_t profile) const;
  uint64_t status_changes(size_t profile) const;
  // Loop thread: how long the probes of `endpoint` (index into the profile's endpoints) took,
  // failed ones included (a timeout counts as the whole timeout), since start.
  const model::LatencyHistogram& probe_durations(size_t profile, size_t endpoint) const;

 private:
  struct EndpointDetail {
    std::string last_probe_error;
    std::string last_probe_result;
    double last_probe_ms = 0;
    int64_t status_changed_unix_nanos = 0;
    uint64_t probes_succeeded = 0;
    uint64_t probes_failed = 0;
    model::LatencyHistogram probe_durations;
  };
  struct ProfileRuntime;

  void probe_due(size_t profile);
  void arm_timer(size_t profile);
  void on_probe_result(size_t profile, const ProbeResult& result);
  // Recomputes every status and route from the trackers; logs and appends the changes.
  void recompute();
  // What the trackers say of every probed endpoint.
  model::TmObservations observe() const;
  // An endpoint's monitor status changed: logged, counted, appended as ENDPOINT_STATUS.
  void report_endpoint_change(size_t profile, size_t endpoint, model::TmEndpointMonitorStatus from,
                              model::TmEndpointMonitorStatus to);
  // A profile's route changed: logged (with the failover's measured time when endpoints left
  // it), counted, appended as ROUTE_CHANGED.
  void report_route_change(size_t profile, const model::TmRouteSummary& previous,
                           const model::TmRouteSummary& route, Time now);
  void publish();
  std::string route_text(size_t profile, const model::TmRouteSummary& route) const;
  std::string route_change_reason(size_t profile, const model::TmRouteSummary& from,
                                  const model::TmRouteSummary& to) const;
  v1::ListEndpointsResponse table(size_t profile) const;
  v1::RoutingEvent new_event(size_t profile, v1::RoutingEvent::Kind kind) const;

  const TrafficManagerConfig config_;
  const std::shared_ptr<const model::TmProfileSet> set_;
  Scheduler& scheduler_;
  const Clock& clock_;
  std::unique_ptr<RoutingState> state_;
  model::TmStatusSnapshot statuses_;
  bool running_ = false;
  std::shared_ptr<spdlog::logger> probe_log_;
  std::shared_ptr<spdlog::logger> route_log_;
  // Last: destroyed first, so no probe callback outlives the state it reports into.
  std::vector<std::unique_ptr<ProfileRuntime>> profiles_;
};

}  // namespace drsim::trafficmgr
