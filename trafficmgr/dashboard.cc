#include "trafficmgr/dashboard.h"

#include <algorithm>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/model/trafficmgr/status.h"
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

using EMS = model::TmEndpointMonitorStatus;
using PMS = model::TmProfileMonitorStatus;
constexpr EMS kEndpointStatuses[] = {EMS::kCheckingEndpoint, EMS::kOnline,   EMS::kDegraded,
                                     EMS::kStopped,          EMS::kDisabled, EMS::kInactive,
                                     EMS::kAlwaysServe};
constexpr PMS kProfileStatuses[] = {PMS::kCheckingEndpoints, PMS::kOnline, PMS::kDegraded,
                                    PMS::kDisabled, PMS::kInactive};

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
    std::string from = e.old_monitor_status().empty() ? status_name(e.old_status())
                                                      : e.old_monitor_status();
    std::string to = e.new_monitor_status().empty() ? status_name(e.new_status())
                                                    : e.new_monitor_status();
    j["kind"] = "status";
    j["endpoint"] = e.endpoint();
    j["from"] = from;
    j["to"] = to;
    j["text"] = e.endpoint() + " " + from + " \u2192 " + to;
  }
  return j;
}

// The region's Site Recovery items (state, health, latest point and its age: the RPO now) and
// its newest jobs, as it last answered.
json site_recovery_json(const RegionSnapshot& r) {
  json j{{"error", !r.sr_items.error.empty() ? r.sr_items.error : r.sr_jobs.error}};
  json items = json::array();
  if (r.sr_items.answer) {
    const v1::ListItemsResponse& list = *r.sr_items.answer;
    for (const auto& i : list.items()) {
      json one{{"item", i.item()},
               {"source", i.source()},
               {"state", i.state()},
               {"health", i.health()},
               {"health_reason", i.health_reason()},
               {"active_region", i.active_region()},
               {"replicating_to", i.replication_target()},
               {"points", i.points()},
               {"rpo_threshold_ms", i.policy().rpo_threshold_ms()}};
      if (i.latest_point_unix_nanos() != 0) {
        one["latest_point_type"] = i.latest_point_type();
        // On drsim's clock, which may run faster than real time (site_recovery.time_scale).
        one["latest_point_age_ms"] =
            std::max<int64_t>(0, list.now_unix_nanos() - i.latest_point_unix_nanos()) / 1'000'000;
      }
      items.push_back(std::move(one));
    }
    j["time_scale"] = list.items_size() ? list.items(0).time_scale() : 1.0;
  }
  j["items"] = std::move(items);
  json jobs = json::array();
  if (r.sr_jobs.answer) {
    std::vector<const v1::JobInfo*> newest;
    for (const auto& job : r.sr_jobs.answer->jobs()) newest.push_back(&job);
    std::sort(newest.begin(), newest.end(),
              [](const v1::JobInfo* a, const v1::JobInfo* b) { return a->id() > b->id(); });
    if (newest.size() > Dashboard::kRecentJobs) newest.resize(Dashboard::kRecentJobs);
    for (const v1::JobInfo* job : newest) {
      jobs.push_back({{"id", job->id()},
                      {"kind", job->kind()},
                      {"target", job->target()},
                      {"state", job->state()},
                      {"error", job->error()}});
    }
  }
  j["jobs"] = std::move(jobs);
  return j;
}

// The region's Backup vaults (its own and the paired copies it keeps) and their items.
json backup_json(const RegionSnapshot& r) {
  json j{{"error", r.vaults.error}};
  json vaults = json::array();
  if (r.vaults.answer) {
    const v1::ListVaultsResponse& list = *r.vaults.answer;
    j["now"] = list.now();
    for (const auto* group : {&list.vaults(), &list.paired_copies()}) {
      for (const auto& v : *group) {
        json items = json::array();
        for (const auto& i : v.items()) {
          json one{{"vm", i.vm()},
                   {"state", i.state()},
                   {"policy", i.policy()},
                   {"points", i.points_size()},
                   {"next_backup", i.next_backup()},
                   {"purge_at", i.purge_at()},
                   {"source_deleted", i.source_deleted()}};
          if (i.points_size() > 0) {
            const auto& latest = *std::max_element(
                i.points().begin(), i.points().end(),
                [](const auto& a, const auto& b) { return a.created_nanos() < b.created_nanos(); });
            one["latest_point"] = latest.created() + " (" + latest.consistency() + ")";
          }
          items.push_back(std::move(one));
        }
        vaults.push_back({{"name", v.name()},
                          {"redundancy", v.redundancy()},
                          {"paired_copy", v.paired_copy()},
                          {"cross_region_restore", v.cross_region_restore()},
                          {"items", std::move(items)}});
      }
    }
  }
  j["vaults"] = std::move(vaults);
  return j;
}

json region_json(const RegionSnapshot& r) {
  json j{{"name", r.spec.name},
         {"admin_address", r.spec.address},
         {"reachable", r.error.empty() && r.status.has_value()},
         {"error", r.error},
         {"calls_failed", r.calls_failed},
         {"answered_unix_ms", unix_ms(r.answered_unix_nanos)},
         {"site_recovery", site_recovery_json(r)},
         {"backup", backup_json(r)}};
  if (!r.status) return j;
  const v1::GetStatusResponse& st = *r.status;
  j["role"] = role_name(st.role());
  j["epoch"] = st.epoch();
  j["outage"] = st.outage();
  j["active_region"] = st.active_region();
  j["replication_connected"] = st.replication_connected();
  j["note"] = st.fenced_reason();
  // The active region's lease: "held (expires in 812 ms)" or "LOST: why"; "" on a standby.
  const auto& lease = st.lease();
  if (lease.state() == "held") {
    j["lease"] = "held (expires in " + std::to_string(static_cast<int64_t>(lease.expires_in_ms())) +
                 " ms)";
  } else if (lease.state() == "lost" || lease.state() == "disabled") {
    j["lease"] = (lease.state() == "lost" ? "LOST: " : "DISABLED: ") + lease.reason();
  } else {
    j["lease"] = "";
  }
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

namespace {

// One profile as the page shows it: status, route, probe settings, failover figures, endpoints.
json profile_json(const v1::ListEndpointsResponse& table, const model::TmProfile& profile) {
  json j;
  j["profile"] = table.profile();
  j["dns_name"] = table.dns_name();
  j["routing_method"] = table.routing_method();
  j["profile_status"] = table.profile_status();
  std::string first_address;
  for (const auto& e : table.endpoints()) {
    if (e.routed() && first_address.empty()) first_address = e.address();
  }
  j["routing"] = {{"endpoint", table.routing()},
                  {"address", first_address},
                  {"fail_open", table.fail_open()},
                  {"ttl_ms", table.ttl_ms()}};
  const model::TmMonitorConfig& probe = profile.monitor;
  json expected = json::array();
  for (const auto& r : probe.expected_status_codes) {
    expected.push_back(std::to_string(r.lo) + "-" + std::to_string(r.hi));
  }
  json headers = json::array();
  for (const auto& h : probe.custom_headers) headers.push_back(h.name);
  j["probe"] = {{"protocol", table.probe_protocol()},
                {"path", table.probe_path()},
                {"headers", std::move(headers)},
                {"expected_status", std::move(expected)},
                {"interval_ms", as_ms(probe.interval)},
                {"timeout_ms", as_ms(probe.timeout)},
                {"tolerated_failures", probe.tolerated_failures},
                {"success_threshold", probe.success_threshold},
                {"failover_estimate_ms", table.failover_documented_ms()},
                {"failover_worst_case_ms", table.failover_worst_case_ms()},
                {"last_failover_ms", table.last_failover_ms()},
                {"last_failover_endpoint", table.last_failover_endpoint()}};
  json endpoints = json::array();
  for (const auto& e : table.endpoints()) {
    endpoints.push_back({{"name", e.name()},
                         {"kind", e.kind()},
                         {"address", e.address()},
                         {"probe_address", e.probe_address()},
                         {"dns_address", e.dns_address()},
                         {"priority", e.priority()},
                         {"weight", e.weight()},
                         {"status", e.monitor_status()},
                         {"routed", e.routed()},
                         {"consecutive_failures", e.consecutive_failures()},
                         {"last_probe_ok", e.probes_succeeded() + e.probes_failed() > 0 &&
                                               e.last_probe_error().empty()},
                         {"last_probe_result", e.last_probe_result()},
                         {"last_probe_ms", e.last_probe_ms()},
                         {"probes_succeeded", e.probes_succeeded()},
                         {"probes_failed", e.probes_failed()},
                         {"region_epoch", e.region_epoch()},
                         {"region_role", e.region_role()},
                         {"superseded", e.superseded()},
                         {"status_changed_unix_ms", unix_ms(e.status_changed_unix_nanos())}});
  }
  j["endpoints"] = std::move(endpoints);
  return j;
}

}  // namespace

namespace {

// Endpoints that are a standby not serving by design (model::standby_not_serving_by_design; the
// role from the probes' epoch claim, else from the region's own status) are marked, and a
// profile Degraded only because of them gets a note, as `drsim status` does ("not serving*",
// "Degraded*").
void mark_standby_by_design(json& profile, const RegionStatusPoller* regions) {
  auto standby_region = [&](const std::string& name) {
    if (!regions) return false;
    for (const auto& r : regions->regions()) {
      if (r.spec.name == name && r.status) {
        return r.status->role() == v1::ROLE_STANDBY && !r.status->outage();
      }
    }
    return false;
  };
  bool only_by_design = true;
  for (auto& e : profile["endpoints"]) {
    const std::string status = e["status"];
    if (status == "Online" || status == "Disabled") continue;
    const std::string role = e["region_role"];
    const bool by_design = model::standby_not_serving_by_design(
        status, role == "standby" || (role.empty() && standby_region(e["name"])),
        e["superseded"].get<std::string>());
    e["standby_by_design"] = by_design;
    if (by_design) e["note"] = model::kStandbyByDesignNote;
    only_by_design = only_by_design && by_design;
  }
  if (profile["profile_status"] == "Degraded" && only_by_design) {
    profile["profile_status_note"] = std::string("Degraded*: ") + model::kStandbyByDesignWhy;
  }
}

}  // namespace

std::string Dashboard::state_json() const {
  const std::vector<v1::ListEndpointsResponse> tables = tm_.state().tables();
  const auto& profiles = tm_.profile_set().profiles();
  json j;
  json all = json::array();
  for (size_t p = 0; p < tables.size() && p < profiles.size(); ++p) {
    json one = profile_json(tables[p], profiles[p]);
    one["route_changes"] = tm_.route_changes(p);
    mark_standby_by_design(one, regions_);
    all.push_back(std::move(one));
  }
  // The default (first) profile at the top level, as the page reads it.
  if (!all.empty()) {
    for (const auto& [key, value] : all.front().items()) j[key] = value;
  }
  j["profiles"] = std::move(all);
  j["now_unix_ms"] = unix_ms(tm_.clock().wall_unix_nanos());

  std::vector<v1::RoutingEvent> events = tm_.state().events();
  json recent = json::array();
  for (auto it = events.rbegin(); it != events.rend() && recent.size() < kRecentEvents; ++it) {
    json e = event_json(*it);
    e["profile"] = it->profile();
    recent.push_back(std::move(e));
  }
  j["events"] = std::move(recent);

  json regions = json::array();
  if (regions_) {
    for (const auto& r : regions_->regions()) regions.push_back(region_json(r));
  }
  // Two regions that both say active (the old one frozen, partitioned or not yet told): the one
  // at the older epoch is fenced by the newer, whatever it believes — never a second "active".
  uint64_t newest_active = 0;
  for (const auto& r : regions) {
    if (r.value("role", "") == "active") newest_active = std::max(newest_active, r.value("epoch", uint64_t{0}));
  }
  for (auto& r : regions) {
    if (r.value("role", "") == "active" && r.value("epoch", uint64_t{0}) < newest_active) {
      r["superseded_by_epoch"] = newest_active;
    }
  }
  j["regions"] = std::move(regions);

  json resolves = json::array();
  for (const auto& [key, count] : tm_.state().resolve_counts()) {
    const auto& [profile, endpoint, via] = key;
    resolves.push_back(
        {{"profile", profile}, {"endpoint", endpoint}, {"via", via}, {"count", count}});
  }
  j["resolves"] = std::move(resolves);
  // Strings come from config, probes and regions: never let one bad byte fail the answer.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

using Tables = std::vector<v1::ListEndpointsResponse>;

// One series a profile: its routing method and probe.
void info_family(Prom& m, const Tables& tables) {
  m.family("drsim_tm_info", Prom::Type::kGauge,
           "Always 1; labels name the profile, its routing method and probe.");
  for (const auto& t : tables) {
    m.sample("drsim_tm_info",
             {{"profile", t.profile()},
              {"routing_method", t.routing_method()},
              {"dns_name", t.dns_name()},
              {"probe_protocol", t.probe_protocol()},
              {"probe_path", t.probe_path()}},
             1);
  }
}

// Probing: the probes counted by result, the last one's duration, every one's duration.
void probe_families(Prom& m, const Tables& tables, const TrafficManager& tm) {
  m.family("drsim_tm_probes_total", Prom::Type::kCounter, "Probes finished, by result.");
  for (const auto& t : tables) {
    for (const auto& e : t.endpoints()) {
      m.sample("drsim_tm_probes_total",
               {{"profile", t.profile()}, {"endpoint", e.name()}, {"result", "success"}},
               static_cast<double>(e.probes_succeeded()));
      m.sample("drsim_tm_probes_total",
               {{"profile", t.profile()}, {"endpoint", e.name()}, {"result", "failure"}},
               static_cast<double>(e.probes_failed()));
    }
  }
  m.family("drsim_tm_probe_latency_seconds", Prom::Type::kGauge, "Duration of the last probe.");
  for (const auto& t : tables) {
    for (const auto& e : t.endpoints()) {
      m.sample("drsim_tm_probe_latency_seconds",
               {{"profile", t.profile()}, {"endpoint", e.name()}}, e.last_probe_ms() / 1000.0);
    }
  }
  m.family("drsim_tm_probe_duration_seconds", Prom::Type::kHistogram,
           "Duration of every probe since start, failed ones included (a timeout counts as the "
           "whole timeout).");
  for (size_t p = 0; p < tables.size(); ++p) {
    for (int i = 0; i < tables[p].endpoints_size(); ++i) {
      m.histogram("drsim_tm_probe_duration_seconds",
                  {{"profile", tables[p].profile()}, {"endpoint", tables[p].endpoints(i).name()}},
                  net::latency_seconds(tm.probe_durations(p, static_cast<size_t>(i))));
    }
  }
}

// Monitor status: each endpoint's and each profile's, and the failed probes in a row.
void monitor_status_families(Prom& m, const Tables& tables) {
  m.family("drsim_tm_endpoint_status", Prom::Type::kGauge,
           "1 for the endpoint's current monitor status.");
  for (const auto& t : tables) {
    for (const auto& e : t.endpoints()) {
      for (auto s : kEndpointStatuses) {
        const char* name = model::tm_endpoint_monitor_status_name(s);
        m.sample("drsim_tm_endpoint_status",
                 {{"profile", t.profile()}, {"endpoint", e.name()}, {"status", name}},
                 e.monitor_status() == name ? 1 : 0);
      }
    }
  }
  m.family("drsim_tm_profile_status", Prom::Type::kGauge,
           "1 for the profile's current monitor status.");
  for (const auto& t : tables) {
    for (auto s : kProfileStatuses) {
      const char* name = model::tm_profile_monitor_status_name(s);
      m.sample("drsim_tm_profile_status", {{"profile", t.profile()}, {"status", name}},
               t.profile_status() == name ? 1 : 0);
    }
  }
  m.family("drsim_tm_endpoint_consecutive_failures", Prom::Type::kGauge,
           "Failed probes in a row (tolerated + 1 degrades).");
  for (const auto& t : tables) {
    for (const auto& e : t.endpoints()) {
      m.sample("drsim_tm_endpoint_consecutive_failures",
               {{"profile", t.profile()}, {"endpoint", e.name()}}, e.consecutive_failures());
    }
  }
}

// The route: the endpoints it holds, fail open, and the failover time.
void route_families(Prom& m, const Tables& tables) {
  m.family("drsim_tm_endpoint_routed", Prom::Type::kGauge,
           "1 for the endpoints the profile's route holds now (what Resolve and DNS may answer).");
  for (const auto& t : tables) {
    for (const auto& e : t.endpoints()) {
      m.sample("drsim_tm_endpoint_routed", {{"profile", t.profile()}, {"endpoint", e.name()}},
               e.routed() ? 1 : 0);
    }
  }
  m.family("drsim_tm_fail_open", Prom::Type::kGauge,
           "1 while every endpoint is Degraded and answers fail open.");
  for (const auto& t : tables) {
    m.sample("drsim_tm_fail_open", {{"profile", t.profile()}}, t.fail_open() ? 1 : 0);
  }
  m.family("drsim_tm_failover_seconds", Prom::Type::kGauge,
           "Failover time: the documented estimate, the strict worst case, and the last measured "
           "(first failed probe to route change; 0 = none yet).");
  for (const auto& t : tables) {
    m.sample("drsim_tm_failover_seconds", {{"profile", t.profile()}, {"figure", "documented"}},
             t.failover_documented_ms() / 1000.0);
    m.sample("drsim_tm_failover_seconds", {{"profile", t.profile()}, {"figure", "worst_case"}},
             t.failover_worst_case_ms() / 1000.0);
    m.sample("drsim_tm_failover_seconds", {{"profile", t.profile()}, {"figure", "last_measured"}},
             t.last_failover_ms() / 1000.0);
  }
}

// Counters: the answers given, and the changes of each profile's route and endpoint statuses.
void change_families(Prom& m, const Tables& tables, TrafficManager& tm) {
  m.family("drsim_tm_resolves_total", Prom::Type::kCounter,
           "Answers given, by the endpoint answered and how (gRPC Resolve or DNS).");
  for (const auto& [key, count] : tm.state().resolve_counts()) {
    const auto& [profile, endpoint, via] = key;
    m.sample("drsim_tm_resolves_total", {{"profile", profile}, {"answer", endpoint}, {"via", via}},
             static_cast<double>(count));
  }
  m.family("drsim_tm_routing_changes_total", Prom::Type::kCounter,
           "Times the profile's route (or its fail-open state) changed.");
  for (size_t p = 0; p < tables.size(); ++p) {
    m.sample("drsim_tm_routing_changes_total", {{"profile", tables[p].profile()}},
             static_cast<double>(tm.route_changes(p)));
  }
  m.family("drsim_tm_endpoint_status_changes_total", Prom::Type::kCounter,
           "Endpoint monitor status changes.");
  for (size_t p = 0; p < tables.size(); ++p) {
    m.sample("drsim_tm_endpoint_status_changes_total", {{"profile", tables[p].profile()}},
             static_cast<double>(tm.status_changes(p)));
  }
}

// The dashboard's own calls to the regions (with --region-admin).
void region_status_family(Prom& m, const RegionStatusPoller& regions) {
  m.family("drsim_tm_region_status_failures_total", Prom::Type::kCounter,
           "RegionAdmin GetStatus calls of the dashboard that failed.");
  for (const auto& r : regions.regions()) {
    m.sample("drsim_tm_region_status_failures_total", {{"region", r.spec.name}},
             static_cast<double>(r.calls_failed));
  }
}

}  // namespace

std::string Dashboard::metrics_text() const {
  const std::vector<v1::ListEndpointsResponse> tables = tm_.state().tables();
  Prom m;
  info_family(m, tables);
  probe_families(m, tables, tm_);
  monitor_status_families(m, tables);
  route_families(m, tables);
  change_families(m, tables, tm_);
  if (regions_) region_status_family(m, *regions_);
  return m.text();
}

}  // namespace drsim::trafficmgr
