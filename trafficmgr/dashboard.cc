#include "trafficmgr/dashboard.h"

#include <nlohmann/json.hpp>

#include "common/model/tm_status.h"
#include "common/net/prometheus_text.h"
#include "trafficmgr/dashboard_page.h"

namespace drsim::trafficmgr {

namespace {

using nlohmann::json;
using Prom = net::PrometheusText;

int64_t unix_ms(int64_t unix_nanos) { return unix_nanos / 1'000'000; }

double as_ms(Duration d) { return to_ms(d); }

const char* status_name(v1::EndpointStatus s) {
  switch (s) {
    case v1::ENDPOINT_CHECKING:
      return "CheckingEndpoint";
    case v1::ENDPOINT_ONLINE:
      return "Online";
    case v1::ENDPOINT_DEGRADED:
      return "Degraded";
    default:
      return "Unknown";
  }
}

model::TmEndpointMonitorStatus to_monitor_status(v1::EndpointStatus s) {
  switch (s) {
    case v1::ENDPOINT_ONLINE:
      return model::TmEndpointMonitorStatus::kOnline;
    case v1::ENDPOINT_DEGRADED:
      return model::TmEndpointMonitorStatus::kDegraded;
    default:
      return model::TmEndpointMonitorStatus::kCheckingEndpoint;
  }
}

const char* role_name(v1::RegionRole role) {
  switch (role) {
    case v1::ROLE_ACTIVE:
      return "active";
    case v1::ROLE_STANDBY:
      return "standby";
    default:
      return "unknown";
  }
}

// "primary Online → Degraded", "route primary → secondary (primary Degraded; …)".
json event_json(const v1::RoutingEvent& e) {
  json j{{"unix_ms", unix_ms(e.unix_nanos())}};
  if (e.kind() == v1::RoutingEvent::ROUTE_CHANGED) {
    j["kind"] = "route";
    j["from"] = e.old_route();
    j["to"] = e.new_route();
    j["reason"] = e.reason();
    j["text"] = "route " + e.old_route() + " \u2192 " + e.new_route() + " (" + e.reason() + ")";
  } else {
    j["kind"] = "status";
    j["endpoint"] = e.endpoint();
    j["from"] = status_name(e.old_status());
    j["to"] = status_name(e.new_status());
    j["text"] =
        e.endpoint() + " " + status_name(e.old_status()) + " \u2192 " + status_name(e.new_status());
  }
  return j;
}

json region_json(const RegionSnapshot& r) {
  json j{{"name", r.spec.name},
         {"admin_address", r.spec.address},
         {"reachable", r.error.empty() && r.status.has_value()},
         {"error", r.error},
         {"calls_failed", r.calls_failed},
         {"answered_unix_ms", unix_ms(r.answered_unix_nanos)}};
  if (!r.status) return j;
  const v1::GetStatusResponse& st = *r.status;
  j["role"] = role_name(st.role());
  j["epoch"] = st.epoch();
  j["outage"] = st.outage();
  j["active_region"] = st.active_region();
  j["replication_connected"] = st.replication_connected();
  j["note"] = st.fenced_reason();
  json workloads = json::array();
  for (const auto& w : st.workloads()) {
    workloads.push_back({{"name", w.name()},
                         {"mode", w.mode() == v1::MODE_SYNC ? "sync" : "async"},
                         {"last_seq", w.last_seq()},
                         {"acked_seq", w.acked_seq()},
                         {"lag_writes", w.lag_writes()},
                         {"lag_ms", w.lag_ms()},
                         {"lag_p99_ms", w.lag().p99_ms()}});
  }
  j["workloads"] = std::move(workloads);
  return j;
}

}  // namespace

Dashboard::Dashboard(TrafficManager& traffic_manager, const RegionStatusPoller* regions)
    : tm_(traffic_manager), regions_(regions) {}

net::HttpRoutes Dashboard::routes() {
  net::HttpRoutes routes;
  routes["/"] = [](const net::HttpRequest&) {
    net::HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = dashboard_page_html();
    // The page needs nothing from anywhere else; say so to the browser.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; script-src 'unsafe-inline'; "
                           "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
    return r;
  };
  routes["/api/state"] = [this](const net::HttpRequest&) {
    net::HttpResponse r;
    r.content_type = "application/json";
    r.body = state_json();
    return r;
  };
  routes["/metrics"] = [this](const net::HttpRequest&) {
    net::HttpResponse r;
    r.content_type = net::kPrometheusContentType;
    r.body = metrics_text();
    return r;
  };
  return routes;
}

std::string Dashboard::state_json() const {
  const TrafficManagerConfig& config = tm_.config();
  const v1::ListEndpointsResponse table = tm_.state().table();
  const auto answer = tm_.state().answer();
  json j;
  j["profile"] = config.profile;
  j["now_unix_ms"] = unix_ms(wall_now_unix_nanos());

  std::vector<model::TmEndpointMonitorStatus> statuses;
  for (const auto& e : table.endpoints()) statuses.push_back(to_monitor_status(e.status()));
  j["profile_status"] = model::tm_profile_monitor_status_name(
      model::profile_monitor_status(model::TmEnabled::kEnabled, statuses));

  json routing{{"endpoint", answer ? answer->endpoint() : ""},
               {"address", answer ? answer->address() : ""},
               {"fail_open", answer && answer->fail_open()},
               {"ttl_ms", table.ttl_ms()}};
  j["routing"] = std::move(routing);

  model::TmMonitorConfig probe = config.probe_config();
  json expected = json::array();
  for (const auto& r : probe.expected_status_codes) {
    expected.push_back(std::to_string(r.lo) + "-" + std::to_string(r.hi));
  }
  json headers = json::array();
  for (const auto& h : probe.custom_headers) headers.push_back(h.name);
  auto estimate = model::estimate_failover(probe, config.ttl);
  j["probe"] = {{"protocol", model::tm_probe_protocol_name(probe.protocol)},
                {"path", probe.path},
                {"headers", std::move(headers)},
                {"expected_status", std::move(expected)},
                {"interval_ms", as_ms(probe.interval)},
                {"timeout_ms", as_ms(probe.timeout)},
                {"tolerated_failures", probe.tolerated_failures},
                {"failover_estimate_ms", as_ms(estimate.documented)},
                {"failover_worst_case_ms", as_ms(estimate.worst_case)}};

  json endpoints = json::array();
  for (const auto& e : table.endpoints()) {
    endpoints.push_back({{"name", e.name()},
                         {"address", e.address()},
                         {"probe_address", e.probe_address()},
                         {"priority", e.priority()},
                         {"status", status_name(e.status())},
                         {"routed", answer && answer->endpoint() == e.name()},
                         {"consecutive_failures", e.consecutive_failures()},
                         {"last_probe_ok", e.probes_succeeded() + e.probes_failed() > 0 &&
                                               e.last_probe_error().empty()},
                         {"last_probe_result", e.last_probe_result()},
                         {"last_probe_ms", e.last_probe_ms()},
                         {"probes_succeeded", e.probes_succeeded()},
                         {"probes_failed", e.probes_failed()},
                         {"status_changed_unix_ms", unix_ms(e.status_changed_unix_nanos())}});
  }
  j["endpoints"] = std::move(endpoints);

  std::vector<v1::RoutingEvent> events = tm_.state().events();
  json recent = json::array();
  for (auto it = events.rbegin(); it != events.rend() && recent.size() < kRecentEvents; ++it) {
    recent.push_back(event_json(*it));
  }
  j["events"] = std::move(recent);

  json regions = json::array();
  if (regions_) {
    for (const auto& r : regions_->regions()) regions.push_back(region_json(r));
  }
  j["regions"] = std::move(regions);

  json resolves = json::array();
  for (const auto& [key, count] : tm_.state().resolve_counts()) {
    resolves.push_back({{"endpoint", key.first}, {"via", key.second}, {"count", count}});
  }
  j["resolves"] = std::move(resolves);
  j["route_changes"] = tm_.route_changes();
  // Strings come from config, probes and regions: never let one bad byte fail the answer.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Dashboard::metrics_text() const {
  const TrafficManagerConfig& config = tm_.config();
  const v1::ListEndpointsResponse table = tm_.state().table();
  const auto answer = tm_.state().answer();
  const std::string& profile = config.profile;
  Prom m;
  m.family("drsim_tm_info", Prom::Type::kGauge, "Always 1; labels name the profile and probe.");
  m.sample("drsim_tm_info",
           {{"profile", profile},
            {"probe_protocol", table.probe_protocol()},
            {"probe_path", table.probe_path()}},
           1);
  m.family("drsim_tm_probes_total", Prom::Type::kCounter, "Probes finished, by result.");
  for (const auto& e : table.endpoints()) {
    m.sample("drsim_tm_probes_total",
             {{"profile", profile}, {"endpoint", e.name()}, {"result", "success"}},
             static_cast<double>(e.probes_succeeded()));
    m.sample("drsim_tm_probes_total",
             {{"profile", profile}, {"endpoint", e.name()}, {"result", "failure"}},
             static_cast<double>(e.probes_failed()));
  }
  m.family("drsim_tm_probe_latency_ms", Prom::Type::kGauge, "Duration of the last probe.");
  for (const auto& e : table.endpoints()) {
    m.sample("drsim_tm_probe_latency_ms", {{"profile", profile}, {"endpoint", e.name()}},
             e.last_probe_ms());
  }
  m.family("drsim_tm_endpoint_status", Prom::Type::kGauge,
           "1 for the endpoint's current monitor status.");
  for (const auto& e : table.endpoints()) {
    for (auto s : {v1::ENDPOINT_CHECKING, v1::ENDPOINT_ONLINE, v1::ENDPOINT_DEGRADED}) {
      m.sample("drsim_tm_endpoint_status",
               {{"profile", profile}, {"endpoint", e.name()}, {"status", status_name(s)}},
               e.status() == s ? 1 : 0);
    }
  }
  m.family("drsim_tm_endpoint_consecutive_failures", Prom::Type::kGauge,
           "Failed probes in a row (tolerated + 1 degrades).");
  for (const auto& e : table.endpoints()) {
    m.sample("drsim_tm_endpoint_consecutive_failures",
             {{"profile", profile}, {"endpoint", e.name()}}, e.consecutive_failures());
  }
  m.family("drsim_tm_endpoint_routed", Prom::Type::kGauge,
           "1 for the endpoint Resolve and DNS answer now.");
  for (const auto& e : table.endpoints()) {
    m.sample("drsim_tm_endpoint_routed", {{"profile", profile}, {"endpoint", e.name()}},
             answer && answer->endpoint() == e.name() ? 1 : 0);
  }
  m.family("drsim_tm_fail_open", Prom::Type::kGauge,
           "1 while every endpoint is Degraded and answers fail open.");
  m.sample("drsim_tm_fail_open", {{"profile", profile}}, answer && answer->fail_open() ? 1 : 0);
  m.family("drsim_tm_resolves_total", Prom::Type::kCounter,
           "Answers given, by the endpoint answered and how (gRPC Resolve or DNS).");
  for (const auto& [key, count] : tm_.state().resolve_counts()) {
    m.sample("drsim_tm_resolves_total",
             {{"profile", profile}, {"answer", key.first}, {"via", key.second}},
             static_cast<double>(count));
  }
  m.family("drsim_tm_routing_changes_total", Prom::Type::kCounter,
           "Times the answered endpoint (or its fail-open state) changed.");
  m.sample("drsim_tm_routing_changes_total", {{"profile", profile}},
           static_cast<double>(tm_.route_changes()));
  m.family("drsim_tm_endpoint_status_changes_total", Prom::Type::kCounter,
           "Endpoint monitor status changes.");
  m.sample("drsim_tm_endpoint_status_changes_total", {{"profile", profile}},
           static_cast<double>(tm_.status_changes()));
  if (regions_) {
    m.family("drsim_tm_region_status_failures_total", Prom::Type::kCounter,
             "RegionAdmin GetStatus calls of the dashboard that failed.");
    for (const auto& r : regions_->regions()) {
      m.sample("drsim_tm_region_status_failures_total", {{"region", r.spec.name}},
               static_cast<double>(r.calls_failed));
    }
  }
  return m.text();
}

}  // namespace drsim::trafficmgr
