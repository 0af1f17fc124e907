#include "trafficmgr/traffic_manager.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/core/check.h"

namespace drsim::trafficmgr {

namespace {

using EMS = model::TmEndpointMonitorStatus;

// A component logger sharing the process logger's sinks, format and level.
std::shared_ptr<spdlog::logger> component_logger(const std::string& name) {
  return spdlog::default_logger()->clone(name);
}

// The proto's three probe states; Azure's other statuses travel in monitor_status.
v1::EndpointStatus to_proto(EMS s) {
  switch (s) {
    case EMS::kCheckingEndpoint:
      return v1::ENDPOINT_CHECKING;
    case EMS::kOnline:
    case EMS::kAlwaysServe:
      return v1::ENDPOINT_ONLINE;
    case EMS::kDegraded:
      return v1::ENDPOINT_DEGRADED;
    default:
      return v1::ENDPOINT_STATUS_UNSPECIFIED;
  }
}


std::shared_ptr<const model::TmProfileSet> make_set(const TrafficManagerConfig& config) {
  auto set = config.profile_set();
  DRSIM_CHECK(set.is_ok());
  return std::make_shared<const model::TmProfileSet>(std::move(set).value());
}

const char* kind_name(model::TmEndpointKind kind) {
  switch (kind) {
    case model::TmEndpointKind::kRegion:
      return "region";
    case model::TmEndpointKind::kExternal:
      return "external";
    case model::TmEndpointKind::kNested:
      return "nested";
  }
  return "unknown";
}

std::vector<std::string> probed_names(const ProfileSpec& spec, const std::vector<size_t>& probed) {
  std::vector<std::string> names;
  for (size_t e : probed) names.push_back(spec.profile.endpoints[e].name);
  return names;
}

}  // namespace

// One profile's probing: the monitored endpoints (probe index → endpoint index), their probe
// schedule and status, the failover meter and the route last published.
struct TrafficManager::ProfileRuntime {
  ProfileRuntime(const ProfileSpec& spec, Time now)
      : probed(spec.probed_endpoints()),
        monitor(model::to_monitor_config(spec.profile.monitor), probed.size(), now),
        tracker(spec.profile.monitor, probed.size()),
        epochs(probed_names(spec, probed)),
        failover(spec.profile.endpoints.size()),
        details(spec.profile.endpoints.size()) {}

  // Endpoint index → probe index, if probed.
  std::optional<size_t> probe_index(size_t endpoint) const {
    auto it = std::find(probed.begin(), probed.end(), endpoint);
    if (it == probed.end()) return std::nullopt;
    return static_cast<size_t>(it - probed.begin());
  }

  std::vector<size_t> probed;
  model::HealthMonitor monitor;
  model::TmHealthTracker tracker;
  model::TmEpochGuard epochs;  // by probe index
  model::TmFailoverMeter failover;
  std::vector<EndpointDetail> details;
  model::TmRouteSummary route;
  std::optional<TimerId> timer;
  int64_t last_failover_unix_nanos = 0;
  uint64_t route_changes = 0;
  uint64_t status_changes = 0;
  std::unique_ptr<Prober> prober;
};

TrafficManager::TrafficManager(TrafficManagerConfig config, Scheduler& scheduler,
                               const Clock& clock, const ProberFactory& make_prober)
    : config_(std::move(config)),
      set_(make_set(config_)),
      scheduler_(scheduler),
      clock_(clock),
      state_(std::make_unique<RoutingState>(set_, config_.latency_table(), config_.seed)),
      probe_log_(component_logger("probe")),
      route_log_(component_logger("route")) {
  DRSIM_CHECK(config_.validate().is_ok());
  const int64_t now = clock_.wall_unix_nanos();
  for (size_t p = 0; p < config_.profiles.size(); ++p) {
    const ProfileSpec& spec = config_.profiles[p];
    auto runtime = std::make_unique<ProfileRuntime>(spec, clock_.now());
    for (auto& d : runtime->details) d.status_changed_unix_nanos = now;
    std::vector<std::string> targets;
    for (size_t e : runtime->probed) targets.push_back(spec.probe_target(e));
    runtime->prober =
        make_prober(ProberConfig{spec.profile.monitor, targets, spec.health_service,
                                 probed_names(spec, runtime->probed)},
                    [this, p](const ProbeResult& result) { on_probe_result(p, result); });
    profiles_.push_back(std::move(runtime));
  }
  recompute();  // the first routes are not changes: nothing was answered before them
  publish();
}

TrafficManager::~TrafficManager() = default;

uint64_t TrafficManager::route_changes(size_t profile) const {
  return profiles_.at(profile)->route_changes;
}

uint64_t TrafficManager::status_changes(size_t profile) const {
  return profiles_.at(profile)->status_changes;
}

const model::LatencyHistogram& TrafficManager::probe_durations(size_t profile,
                                                               size_t endpoint) const {
  return profiles_.at(profile)->details.at(endpoint).probe_durations;
}

void TrafficManager::start() {
  running_ = true;
  for (size_t p = 0; p < profiles_.size(); ++p) probe_due(p);
}

void TrafficManager::stop() {
  running_ = false;
  for (auto& runtime : profiles_) {
    if (runtime->timer) scheduler_.cancel(*runtime->timer);
    runtime->timer.reset();
    runtime->prober->cancel_all();
  }
}

void TrafficManager::probe_due(size_t profile) {
  ProfileRuntime& r = *profiles_[profile];
  r.timer.reset();
  if (!running_) return;
  for (size_t i : r.monitor.due_probes(clock_.now())) r.prober->probe(i);
  arm_timer(profile);
}

void TrafficManager::probe_now() {
  if (!running_) return;
  Time now = clock_.now();
  for (size_t p = 0; p < profiles_.size(); ++p) {
    profiles_[p]->monitor.request_probe_now(now);
    probe_due(p);
  }
}

// One timer per profile, always at its monitor's next deadline.
void TrafficManager::arm_timer(size_t profile) {
  ProfileRuntime& r = *profiles_[profile];
  if (!running_) return;
  Time next = r.monitor.next_deadline();
  if (r.timer) scheduler_.cancel(*r.timer);
  r.timer.reset();
  if (next == kNever) return;  // every endpoint in flight (or none probed); a result re-arms
  r.timer = scheduler_.schedule_at(next, [this, profile] { probe_due(profile); });
}

void TrafficManager::on_probe_result(size_t profile, const ProbeResult& probed) {
  if (!running_) return;
  ProfileRuntime& r = *profiles_[profile];
  // Never route to a superseded region: a SERVING answer at an epoch older than the newest the
  // profile has seen counts as a failed probe, with the reason as its error.
  ProbeResult result = probed;
  const bool superseded_before = !r.epochs.superseded(result.endpoint).empty();
  auto judged = r.epochs.on_probe_result(result.endpoint, result.outcome, result.claim);
  if (!judged.superseded.empty()) {
    result.outcome = judged.outcome;
    result.error = judged.superseded;
    if (!superseded_before) {
      probe_log_->info(
          "probe {}/{} not routable: {}", config_.profiles[profile].profile.name,
          config_.profiles[profile].profile.endpoints[r.probed.at(result.endpoint)].name,
          judged.superseded);
    }
  }
  const size_t endpoint = r.probed.at(result.endpoint);
  const ProfileSpec& spec = config_.profiles[profile];
  const std::string& name = spec.profile.endpoints[endpoint].name;
  EndpointDetail& detail = r.details[endpoint];
  detail.last_probe_error = result.error;
  detail.last_probe_ms = to_ms(result.latency);
  detail.probe_durations.record(result.latency);
  if (result.outcome == model::ProbeOutcome::kSuccess) {
    ++detail.probes_succeeded;
    detail.last_probe_result = result.detail;
    probe_log_->debug("probe {}/{} ok in {:.1f} ms: {}", spec.profile.name, name,
                      detail.last_probe_ms, result.detail);
  } else {
    ++detail.probes_failed;
    detail.last_probe_result = result.error;
    probe_log_->debug("probe {}/{} failed in {:.1f} ms: {}", spec.profile.name, name,
                      detail.last_probe_ms, result.error);
  }
  const Time now = clock_.now();
  r.monitor.on_probe_result(result.endpoint, result.outcome, now);  // the schedule only
  // The probe started `latency` ago (a timeout: the whole timeout): failover is measured from
  // the start of the first failed probe.
  r.failover.on_probe_result(endpoint, result.outcome, now - result.latency);
  if (r.tracker.on_probe_result(result.endpoint, result.outcome, now)) recompute();
  publish();
  arm_timer(profile);
}

void TrafficManager::recompute() {
  const bool first = statuses_.size() == 0;
  model::TmStatusSnapshot next = model::TmStatusSnapshot::compute(*set_, observe());
  const Time now = clock_.now();
  // Children before parents (depth ascending), so a nested endpoint's change is logged after
  // the child's change that caused it.
  std::vector<size_t> order(profiles_.size());
  for (size_t p = 0; p < order.size(); ++p) order[p] = p;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return set_->depth(a) < set_->depth(b); });
  for (size_t p : order) {
    const model::TmProfile& profile = config_.profiles[p].profile;
    for (size_t e = 0; !first && e < profile.endpoints.size(); ++e) {
      const EMS from = statuses_.profile(p).endpoints[e];
      const EMS to = next.profile(p).endpoints[e];
      if (from != to) report_endpoint_change(p, e, from, to);
    }
  }
  statuses_ = std::move(next);
  for (size_t p : order) {
    ProfileRuntime& r = *profiles_[p];
    model::TmRouteSummary route = model::route_summary(*set_, statuses_, p);
    model::TmRouteSummary previous = std::exchange(r.route, route);
    if (first || previous == route) continue;
    report_route_change(p, previous, route, now);
  }
}

model::TmObservations TrafficManager::observe() const {
  model::TmObservations observations;
  for (size_t p = 0; p < profiles_.size(); ++p) {
    const ProfileRuntime& r = *profiles_[p];
    const model::TmProfile& profile = config_.profiles[p].profile;
    for (size_t i = 0; i < r.probed.size(); ++i) {
      observations.set(profile.name, profile.endpoints[r.probed[i]].name,
                       model::TmObservation{r.tracker.status(i), model::TmTargetState::kRunning});
    }
  }
  return observations;
}

void TrafficManager::report_endpoint_change(size_t p, size_t e, EMS from, EMS to) {
  ProfileRuntime& r = *profiles_[p];
  const model::TmProfile& profile = config_.profiles[p].profile;
  const model::TmEndpoint& endpoint = profile.endpoints[e];
  auto probe = r.probe_index(e);
  if (to == EMS::kDegraded && probe) {
    probe_log_->info("endpoint {}/{} ({}) {} -> {} after {} consecutive failed probes: {}",
                     profile.name, endpoint.name, config_.profiles[p].probe_target(e),
                     model::tm_endpoint_monitor_status_name(from),
                     model::tm_endpoint_monitor_status_name(to),
                     r.tracker.consecutive_failures(*probe), r.details[e].last_probe_error);
  } else {
    probe_log_->info(
        "endpoint {}/{} ({}) {} -> {}", profile.name, endpoint.name,
        endpoint.kind == model::TmEndpointKind::kNested ? "nested " + endpoint.target
                                                        : config_.profiles[p].probe_target(e),
        model::tm_endpoint_monitor_status_name(from), model::tm_endpoint_monitor_status_name(to));
  }
  ++r.status_changes;
  v1::RoutingEvent event = new_event(p, v1::RoutingEvent::ENDPOINT_STATUS);
  r.details[e].status_changed_unix_nanos = event.unix_nanos();
  event.set_endpoint(endpoint.name);
  event.set_old_status(to_proto(from));
  event.set_new_status(to_proto(to));
  event.set_old_monitor_status(model::tm_endpoint_monitor_status_name(from));
  event.set_new_monitor_status(model::tm_endpoint_monitor_status_name(to));
  state_->append(event);
}

void TrafficManager::report_route_change(size_t p, const model::TmRouteSummary& previous,
                                         const model::TmRouteSummary& route, Time now) {
  ProfileRuntime& r = *profiles_[p];
  // Entering or leaving fail open on the same endpoints is reported too: clients still get
  // the same answer, but a watcher needs to know it is no longer (or now) a healthy one.
  std::string from = route_text(p, previous);
  std::string to = route_text(p, route);
  std::string reason = route_change_reason(p, previous, route);
  const std::string& name = config_.profiles[p].profile.name;
  std::vector<size_t> left;
  for (size_t e : previous.endpoints) {
    if (std::find(route.endpoints.begin(), route.endpoints.end(), e) == route.endpoints.end()) {
      left.push_back(e);
    }
  }
  if (auto measured = r.failover.on_route_change(left, now)) {
    r.last_failover_unix_nanos = clock_.wall_unix_nanos();
    route_log_->info(
        "profile {}: failover took {:.1f} ms from the start of the first failed "
        "probe of {}",
        name, to_ms(measured->took()),
        config_.profiles[p].profile.endpoints[measured->endpoint].name);
  }
  if (from == to) {
    route_log_->info("profile {}: route stays {} ({})", name, to, reason);
  } else {
    route_log_->info("profile {}: route {} -> {} ({})", name, from, to, reason);
  }
  ++r.route_changes;
  v1::RoutingEvent event = new_event(p, v1::RoutingEvent::ROUTE_CHANGED);
  event.set_old_route(from);
  event.set_new_route(to);
  event.set_reason(reason);
  state_->append(event);
}

// "primary", "a,b,c", or "(none)".
std::string TrafficManager::route_text(size_t profile, const model::TmRouteSummary& route) const {
  std::string text;
  for (size_t e : route.endpoints) {
    text += (text.empty() ? "" : ",") + config_.profiles[profile].profile.endpoints[e].name;
  }
  return text.empty() ? "(none)" : text;
}

// "primary Degraded; secondary Online": the statuses behind the change, in priority order.
std::string TrafficManager::route_change_reason(size_t profile, const model::TmRouteSummary& from,
                                                const model::TmRouteSummary& to) const {
  if (to.fail_open) return "fail open: all endpoints degraded";
  const model::TmProfile& p = config_.profiles[profile].profile;
  std::vector<size_t> involved = to.endpoints;
  for (size_t e : from.endpoints) {
    if (std::find(involved.begin(), involved.end(), e) == involved.end()) involved.push_back(e);
  }
  std::sort(involved.begin(), involved.end(), [&](size_t a, size_t b) {
    return p.endpoints[a].priority != p.endpoints[b].priority
               ? p.endpoints[a].priority < p.endpoints[b].priority
               : a < b;
  });
  std::string reason;
  for (size_t e : involved) {
    if (!reason.empty()) reason += "; ";
    reason += p.endpoints[e].name + " " +
              model::tm_endpoint_monitor_status_name(statuses_.profile(profile).endpoints[e]);
  }
  return reason.empty() ? "no endpoint can be answered" : reason;
}

v1::RoutingEvent TrafficManager::new_event(size_t profile, v1::RoutingEvent::Kind kind) const {
  v1::RoutingEvent event;
  event.set_unix_nanos(clock_.wall_unix_nanos());
  event.set_profile(config_.profiles[profile].profile.name);
  event.set_kind(kind);
  return event;
}

v1::ListEndpointsResponse TrafficManager::table(size_t p) const {
  const ProfileSpec& spec = config_.profiles[p];
  const model::TmProfile& profile = spec.profile;
  const ProfileRuntime& r = *profiles_[p];
  const model::TmProfileHealth& health = statuses_.profile(p);
  v1::ListEndpointsResponse table;
  table.set_profile(profile.name);
  for (size_t i = 0; i < profile.endpoints.size(); ++i) {
    const model::TmEndpoint& endpoint = profile.endpoints[i];
    const EndpointDetail& detail = r.details[i];
    auto probe = r.probe_index(i);
    v1::Endpoint* e = table.add_endpoints();
    e->set_name(endpoint.name);
    e->set_address(endpoint.target);
    e->set_probe_address(spec.probe_target(i));
    e->set_priority(endpoint.priority);
    e->set_weight(endpoint.weight);
    e->set_kind(kind_name(endpoint.kind));
    e->set_status(to_proto(health.endpoints[i]));
    e->set_monitor_status(model::tm_endpoint_monitor_status_name(health.endpoints[i]));
    e->set_consecutive_failures(probe ? r.tracker.consecutive_failures(*probe) : 0);
    e->set_last_probe_error(detail.last_probe_error);
    e->set_last_probe_ms(detail.last_probe_ms);
    e->set_status_changed_unix_nanos(detail.status_changed_unix_nanos);
    e->set_last_probe_result(detail.last_probe_result);
    e->set_probes_succeeded(detail.probes_succeeded);
    e->set_probes_failed(detail.probes_failed);
    e->set_routed(std::find(r.route.endpoints.begin(), r.route.endpoints.end(), i) !=
                  r.route.endpoints.end());
    e->set_dns_address(spec.dns_answer(i));
    if (probe) {
      if (const auto& claim = r.epochs.claim(*probe)) {
        e->set_region_epoch(claim->epoch.value());
        e->set_region_role(model::role_name(claim->role));
      }
      e->set_superseded(r.epochs.superseded(*probe));
    }
  }
  table.set_newest_epoch(r.epochs.newest().value());
  const model::TmMonitorConfig& monitor = profile.monitor;
  table.set_probe_protocol(model::tm_probe_protocol_name(monitor.protocol));
  table.set_probe_path(monitor.path);
  table.set_probe_interval_ms(whole_ms(monitor.interval));
  table.set_probe_timeout_ms(whole_ms(monitor.timeout));
  table.set_tolerated_failures(monitor.tolerated_failures);
  table.set_success_threshold(monitor.success_threshold);
  table.set_ttl_ms(static_cast<uint64_t>(profile.ttl.count()));
  table.set_routing(r.route.endpoints.empty() ? "" : route_text(p, r.route));
  table.set_fail_open(r.route.fail_open);
  table.set_routing_method(model::tm_routing_method_name(profile.routing));
  table.set_profile_status(model::tm_profile_monitor_status_name(health.status));
  table.set_dns_name(spec.answered_dns_name());
  auto estimate = model::estimate_failover(monitor, profile.ttl);
  table.set_failover_documented_ms(to_ms(estimate.documented));
  table.set_failover_worst_case_ms(to_ms(estimate.worst_case));
  if (const auto& last = r.failover.last()) {
    table.set_last_failover_ms(to_ms(last->took()));
    table.set_last_failover_unix_nanos(r.last_failover_unix_nanos);
    table.set_last_failover_endpoint(profile.endpoints[last->endpoint].name);
  }
  return table;
}

void TrafficManager::publish() {
  std::vector<v1::ListEndpointsResponse> tables;
  for (size_t p = 0; p < profiles_.size(); ++p) tables.push_back(table(p));
  state_->publish(std::move(tables), statuses_);
}

}  // namespace drsim::trafficmgr
