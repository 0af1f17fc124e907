#include "trafficmgr/traffic_manager.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/core/check.h"

namespace drsim::trafficmgr {

namespace {

std::vector<std::string> addresses_of(const std::vector<EndpointSpec>& endpoints) {
  std::vector<std::string> out;
  for (const auto& e : endpoints) out.push_back(e.probed());
  return out;
}

// A component logger sharing the process logger's sinks, format and level.
std::shared_ptr<spdlog::logger> component_logger(const std::string& name) {
  return spdlog::default_logger()->clone(name);
}

v1::EndpointStatus to_proto(model::EndpointStatus s) {
  switch (s) {
    case model::EndpointStatus::kCheckingEndpoint:
      return v1::ENDPOINT_CHECKING;
    case model::EndpointStatus::kOnline:
      return v1::ENDPOINT_ONLINE;
    case model::EndpointStatus::kDegraded:
      return v1::ENDPOINT_DEGRADED;
  }
  return v1::ENDPOINT_STATUS_UNSPECIFIED;
}

uint32_t whole_ms(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

TrafficManager::TrafficManager(TrafficManagerConfig config, net::AsioScheduler& scheduler)
    : config_(std::move(config)),
      scheduler_(scheduler),
      monitor_(config_.monitor, config_.endpoints.size(), scheduler.now()),
      state_(config_.profile),
      details_(config_.endpoints.size()),
      probe_log_(component_logger("probe")),
      route_log_(component_logger("route")),
      prober_(make_prober(scheduler.io(),
                          ProberConfig{config_.probe_config(), addresses_of(config_.endpoints),
                                       config_.health_service},
                          [this](const ProbeResult& result) { on_probe_result(result); })) {
  DRSIM_CHECK(config_.validate().is_ok());
  int64_t now = wall_now_unix_nanos();
  for (auto& d : details_) d.status_changed_unix_nanos = now;
  update_route();
  publish();
}

void TrafficManager::start() {
  running_ = true;
  probe_due();
}

void TrafficManager::stop() {
  running_ = false;
  if (timer_) scheduler_.cancel(*timer_);
  timer_.reset();
  prober_->cancel_all();
}

void TrafficManager::probe_due() {
  timer_.reset();
  if (!running_) return;
  for (size_t endpoint : monitor_.due_probes(scheduler_.now())) prober_->probe(endpoint);
  arm_timer();
}

// One timer, always at the monitor's next deadline.
void TrafficManager::arm_timer() {
  if (!running_) return;
  Time next = monitor_.next_deadline();
  if (timer_) scheduler_.cancel(*timer_);
  timer_.reset();
  if (next == kNever) return;  // every endpoint in flight; a result re-arms
  timer_ = scheduler_.schedule_at(next, [this] { probe_due(); });
}

void TrafficManager::on_probe_result(const ProbeResult& result) {
  if (!running_) return;
  EndpointDetail& detail = details_[result.endpoint];
  detail.last_probe_error = result.error;
  detail.last_probe_ms = to_ms(result.latency);
  const auto& spec = config_.endpoints[result.endpoint];
  if (result.outcome == model::ProbeOutcome::kSuccess) {
    ++detail.probes_succeeded;
    detail.last_probe_result = result.detail;
    probe_log_->debug("probe {} ok in {:.1f} ms: {}", spec.name, detail.last_probe_ms,
                      result.detail);
  } else {
    ++detail.probes_failed;
    detail.last_probe_result = result.error;
    probe_log_->debug("probe {} failed in {:.1f} ms: {}", spec.name, detail.last_probe_ms,
                      result.error);
  }
  if (auto change = monitor_.on_probe_result(result.endpoint, result.outcome, scheduler_.now())) {
    on_status_changed(*change);
  }
  publish();
  arm_timer();
}

void TrafficManager::on_status_changed(const model::EndpointStatusChanged& change) {
  const auto& spec = config_.endpoints[change.endpoint];
  EndpointDetail& detail = details_[change.endpoint];
  if (change.to == model::EndpointStatus::kDegraded) {
    probe_log_->info("endpoint {} ({}) {} -> {} after {} consecutive failed probes: {}", spec.name,
                     spec.probed(), model::endpoint_status_name(change.from),
                     model::endpoint_status_name(change.to), change.consecutive_failures,
                     detail.last_probe_error);
  } else {
    probe_log_->info("endpoint {} ({}) {} -> {}", spec.name, spec.probed(),
                     model::endpoint_status_name(change.from),
                     model::endpoint_status_name(change.to));
  }
  ++status_changes_;
  v1::RoutingEvent event = new_event(v1::RoutingEvent::ENDPOINT_STATUS);
  detail.status_changed_unix_nanos = event.unix_nanos();
  event.set_endpoint(spec.name);
  event.set_old_status(to_proto(change.from));
  event.set_new_status(to_proto(change.to));
  state_.append(event);
  update_route();
}

void TrafficManager::update_route() {
  std::vector<model::RoutableEndpoint> routable;
  for (size_t i = 0; i < config_.endpoints.size(); ++i) {
    routable.push_back({config_.endpoints[i].priority, monitor_.status(i)});
  }
  std::optional<model::RouteDecision> next = model::route_by_priority(routable);
  DRSIM_CHECK(next.has_value());  // config has at least one endpoint
  std::optional<model::RouteDecision> previous = route_;
  route_ = next;
  // The first route is not a change: nothing was answered before it.
  if (!previous || *previous == *next) return;

  // Entering or leaving fail open on the same endpoint is reported too: clients still get the
  // same answer, but a watcher needs to know it is no longer (or now) a healthy one.
  std::string from = config_.endpoints[previous->endpoint].name;
  std::string to = config_.endpoints[next->endpoint].name;
  std::string reason = route_change_reason(previous, *next);
  if (from == to) {
    route_log_->info("route stays {} ({})", to, reason);
  } else {
    route_log_->info("route {} -> {} ({})", from, to, reason);
  }
  ++route_changes_;
  v1::RoutingEvent event = new_event(v1::RoutingEvent::ROUTE_CHANGED);
  event.set_old_route(from);
  event.set_new_route(to);
  event.set_reason(reason);
  state_.append(event);
}

// "primary Degraded; secondary Online": the statuses behind the change, in priority order.
std::string TrafficManager::route_change_reason(const std::optional<model::RouteDecision>& from,
                                                const model::RouteDecision& to) const {
  if (to.fail_open) return "fail open: all endpoints degraded";
  std::vector<size_t> involved{to.endpoint};
  if (from && from->endpoint != to.endpoint) involved.push_back(from->endpoint);
  std::sort(involved.begin(), involved.end(), [this](size_t a, size_t b) {
    const auto& ea = config_.endpoints[a];
    const auto& eb = config_.endpoints[b];
    return ea.priority != eb.priority ? ea.priority < eb.priority : a < b;
  });
  std::string reason;
  for (size_t i : involved) {
    if (!reason.empty()) reason += "; ";
    reason += config_.endpoints[i].name + " " + model::endpoint_status_name(monitor_.status(i));
  }
  return reason;
}

v1::RoutingEvent TrafficManager::new_event(v1::RoutingEvent::Kind kind) const {
  v1::RoutingEvent event;
  event.set_unix_nanos(wall_now_unix_nanos());
  event.set_profile(config_.profile);
  event.set_kind(kind);
  return event;
}

void TrafficManager::publish() {
  v1::ListEndpointsResponse table;
  table.set_profile(config_.profile);
  for (size_t i = 0; i < config_.endpoints.size(); ++i) {
    const auto& spec = config_.endpoints[i];
    const auto& detail = details_[i];
    v1::Endpoint* e = table.add_endpoints();
    e->set_name(spec.name);
    e->set_address(spec.address);
    e->set_probe_address(spec.probed());
    e->set_priority(spec.priority);
    e->set_status(to_proto(monitor_.status(i)));
    e->set_consecutive_failures(monitor_.consecutive_failures(i));
    e->set_last_probe_error(detail.last_probe_error);
    e->set_last_probe_ms(detail.last_probe_ms);
    e->set_status_changed_unix_nanos(detail.status_changed_unix_nanos);
    e->set_last_probe_result(detail.last_probe_result);
    e->set_probes_succeeded(detail.probes_succeeded);
    e->set_probes_failed(detail.probes_failed);
  }
  table.set_probe_protocol(model::tm_probe_protocol_name(config_.probe.protocol));
  table.set_probe_path(config_.probe.path);
  table.set_probe_interval_ms(whole_ms(config_.monitor.probe_interval));
  table.set_probe_timeout_ms(whole_ms(config_.monitor.probe_timeout));
  table.set_tolerated_failures(config_.monitor.tolerated_failures);
  table.set_ttl_ms(std::chrono::duration_cast<std::chrono::milliseconds>(config_.ttl).count());

  std::optional<v1::ResolveResponse> answer;
  if (route_) {
    const auto& spec = config_.endpoints[route_->endpoint];
    table.set_routing(spec.name);
    answer.emplace();
    answer->set_endpoint(spec.name);
    answer->set_address(spec.address);
    answer->set_ttl_ms(table.ttl_ms());
    answer->set_fail_open(route_->fail_open);
  }
  state_.publish(std::move(table), std::move(answer));
}

}  // namespace drsim::trafficmgr
