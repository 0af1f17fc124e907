// `drsim status`: the regions (role, epoch, process, what the Traffic Manager sees, replication,
// lease), the links and their faults, routing, where the Traffic Manager listens, the
// transport and placement, and the profiles' failover figures; or all of it as one JSON
// document (docs/cli.md).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/faults.h"
#include "cli/json_output.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/model/replication/region_protection.h"
#include "common/model/trafficmgr/status.h"

namespace drsim::cli {

using nlohmann::json;

namespace {

// "held, expires in 812 ms (lease 1000 ms, renewed every 250 ms via secondary or witness at …)"
std::string describe_lease(const drsim::v1::LeaseStatus& l) {
  std::string grantors =
      l.witness().empty() ? "the peer" : "the peer or the witness at " + l.witness();
  std::string how = fmt::format("lease {} ms, renewed every {} ms via {}", l.lease_ms(),
                                l.renew_interval_ms(), grantors);
  if (!l.last_witness_error().empty()) how += "; witness unreachable: " + l.last_witness_error();
  if (l.state() == "held") {
    return fmt::format("held, expires in {:.0f} ms ({})", l.expires_in_ms(), how);
  }
  if (l.state() == "lost") return "LOST: " + l.reason() + " (" + how + ")";
  if (l.state() == "disabled") return "DISABLED (test hook --unsafe-no-lease): " + l.reason();
  if (l.state() == "handed over") return "handed over: " + l.reason();
  return "none (standby" + std::string(l.grantor_fenced() ? ", promoting: grants stopped" : "") +
         "; " + how + ")";
}

// The links through the fault proxy, with what is injected on them now (proxy faults and the
// kernel rules drsim added, and which mechanism does them): printed as the LINK table unless
// `as_json`; their JSON rows either way.
json link_rows(const TopologyState& state, bool as_json) {
  json links = json::array();
  if (!state.links.empty()) {
    auto listed = fp_list_links(state.at("faultproxy").address);
    // FROM -> TO as wide as its widest ("trafficmgr -> secondary" is one past the usual 22).
    int from_to_width = 22;
    for (const auto& [name, l] : state.links) {
      from_to_width = std::max(from_to_width, static_cast<int>((l.from + " -> " + l.to).size()));
    }
    if (!as_json) {
      std::printf("\n%-24s %-*s %-20s %-15s %s\n", "LINK", from_to_width, "FROM -> TO", "LISTEN",
                  "MECHANISM", "FAULTS");
    }
    for (const auto& [name, l] : state.links) {
      std::string faults;
      json jl = {{"name", name}, {"from", l.from}, {"to", l.to}, {"listen", l.listen},
                 {"upstream", l.upstream}};
      if (listed.is_ok()) {
        for (const auto& info : listed->links()) {
          if (info.name() != name) continue;
          faults = describe_link_faults(info);
          jl["faults"] = faults;
          jl["bytes_up"] = info.up().bytes();
          jl["bytes_down"] = info.down().bytes();
          jl["connections_open"] = info.connections_open();
        }
      } else {
        faults = "? (" + listed.status().message() + ")";
      }
      // Proxy faults and the kernel rules drsim added (placement: netns), and who does them.
      const std::string mechanism = link_mechanisms(state, name, !faults.empty());
      jl["mechanism"] = mechanism;
      if (state.netns && state.netns->kernel_faults.count(name)) {
        std::string kernel = describe_kernel_faults(state.netns->kernel_faults.at(name));
        jl["kernel_faults"] = kernel;
        faults += (faults.empty() ? "" : "; ") + kernel;
      }
      if (!as_json) {
        std::printf("%-24s %-*s %-20s %-15s %s\n", name.c_str(), from_to_width,
                    (l.from + " -> " + l.to).c_str(), l.listen.c_str(), mechanism.c_str(),
                    faults.empty() ? "-" : faults.c_str());
      }
      links.push_back(jl);
    }
  }
  return links;
}

// Every profile of the Traffic Manager, with the failover figures it reports (JSON rows).
json profile_rows(const Result<drsim::v1::ListProfilesResponse>& profiles) {
  json jprofiles = json::array();
  if (!profiles.is_ok()) return jprofiles;
  for (const auto& p : profiles->profiles()) {
    jprofiles.push_back({{"profile", p.profile()},
                         {"dns_name", p.dns_name()},
                         {"routing_method", p.routing_method()},
                         {"status", p.profile_status()},
                         {"route", p.routing()},
                         {"fail_open", p.fail_open()},
                         {"ttl_ms", p.ttl_ms()},
                         {"failover_documented_ms", p.failover_documented_ms()},
                         {"failover_worst_case_ms", p.failover_worst_case_ms()},
                         {"last_failover_ms", p.last_failover_ms()},
                         {"last_failover_endpoint", p.last_failover_endpoint()}});
  }
  return jprofiles;
}

// Both regions' answers, read before any is printed: a region reporting itself active at an older
// epoch than the other's is a superseded active region that has not learned it yet, not a second
// active one.
struct RegionAnswers {
  std::map<std::string, Result<drsim::v1::GetStatusResponse>> statuses;
  std::map<std::string, bool> alive_at;  // read once per region: a /proc read each
  uint64_t newest_active_epoch = 0;
};

RegionAnswers ask_regions(const TopologyState& state) {
  RegionAnswers a;
  for (const char* name : {"primary", "secondary"}) {
    if (!state.processes.count(name)) continue;
    const auto& p = state.at(name);
    const bool attached = !state.attached_from.empty();
    a.alive_at[name] = attached || recorded_alive(p.identity());
    auto st = a.alive_at[name]
                  ? region_status(p.address)
                  : Result<drsim::v1::GetStatusResponse>(unavailable("process not running"));
    // Attached, there is no process to look at: a daemon is up when it answers.
    if (attached) a.alive_at[name] = st.is_ok();
    if (st.is_ok() && st->role() == drsim::v1::ROLE_ACTIVE) {
      a.newest_active_epoch = std::max<uint64_t>(a.newest_active_epoch, st->epoch());
    }
    a.statuses.emplace(name, std::move(st));
  }
  return a;
}

// What the Traffic Manager says of one region.
struct EndpointView {
  std::string tm_status = "?";  // the TRAFFIC MANAGER column
  std::string endpoint_status;  // its endpoint status ("" when not listed)
  std::string superseded;       // epoch-aware routing: why it is not routed
};

EndpointView endpoint_view(const Result<drsim::v1::ListEndpointsResponse>& endpoints,
                           const std::string& name) {
  EndpointView v;
  if (!endpoints.is_ok()) return v;
  for (const auto& e : endpoints->endpoints()) {
    if (e.name() != name) continue;
    v.endpoint_status = v.tm_status = endpoint_status_label(e.status());
    // Epoch-aware routing: a region answering SERVING at a superseded epoch is not routed.
    if (!e.superseded().empty()) v.tm_status += " (superseded)";
    v.superseded = e.superseded();
  }
  return v;
}

// An active region that protects its peer: its lag and its stream mean something.
bool shows_lag(const drsim::v1::GetStatusResponse& st) {
  return st.role() == drsim::v1::ROLE_ACTIVE &&
         st.fenced_reason().find("unprotected") == std::string::npos;
}

// The REPLICATION column of an answering region (one summary past kWorkloadsOnArgv workloads),
// and with `as_json` each workload's JSON row into *rows.
std::string replication_column(const drsim::v1::GetStatusResponse& st, bool as_json, json* rows) {
  const bool many = static_cast<size_t>(st.workloads_size()) > kWorkloadsOnArgv;
  uint64_t seq_total = 0, max_lag_writes = 0;
  double max_lag_ms = 0;
  std::string repl;
  for (const auto& w : st.workloads()) {
    const char* mode = w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async";
    // The text view does not print them: 100,000 JSON objects cost a second for nothing.
    if (as_json)
      rows->push_back({{"name", w.name()},
                       {"mode", mode},
                       {"last_seq", w.last_seq()},
                       {"acked_seq", w.acked_seq()},
                       {"lag_writes", w.lag_writes()},
                       {"lag_ms", w.lag_ms()},
                       {"write_to_ack_p50_ms", w.lag().p50_ms()},
                       {"write_to_ack_p99_ms", w.lag().p99_ms()}});
    if (many) {
      seq_total += w.last_seq();
      max_lag_writes = std::max(max_lag_writes, w.lag_writes());
      max_lag_ms = std::max(max_lag_ms, w.lag_ms());
      continue;
    }
    repl += fmt::format("{}{}({}) seq {}", repl.empty() ? "" : "; ", w.name(), mode, w.last_seq());
    if (shows_lag(st)) repl += fmt::format(" lag {} writes/{:.1f} ms", w.lag_writes(), w.lag_ms());
  }
  if (many) {
    // One line per region stays readable with 100,000 workloads; --json has each of them.
    repl = fmt::format("{} workloads: seq total {}", st.workloads_size(), seq_total);
    if (shows_lag(st)) {
      repl += fmt::format(", worst lag {} writes/{:.1f} ms", max_lag_writes, max_lag_ms);
    }
  }
  if (shows_lag(st)) repl += st.replication_connected() ? " [streaming]" : " [not streaming]";
  if (!st.fenced_reason().empty()) repl += " — " + st.fenced_reason();
  return repl;
}

// The facts of an answering region in its JSON row (the workloads aside).
void add_region_facts(const drsim::v1::GetStatusResponse& st, json* r) {
  (*r)["role"] = role_label(st.role());
  (*r)["epoch"] = st.epoch();
  (*r)["outage"] = st.outage();
  (*r)["replication_connected"] = st.replication_connected();
  (*r)["note"] = st.fenced_reason();
  (*r)["lease"] = {{"state", st.lease().state()},
                   {"expires_in_ms", st.lease().expires_in_ms()},
                   {"reason", st.lease().reason()},
                   {"lease_ms", st.lease().lease_ms()},
                   {"renew_interval_ms", st.lease().renew_interval_ms()},
                   {"witness", st.lease().witness()},
                   {"last_witness_error", st.lease().last_witness_error()}};
  (*r)["clock_offset_ms"] = st.clock_offset_ms();
  (*r)["clock_drift_ppm"] = st.clock_drift_ppm();
}

// The line under an answering region's row: its lease, and the clock fault injected in it.
void print_lease_line(const drsim::v1::GetStatusResponse& st) {
  std::string clock;
  if (st.clock_offset_ms() != 0) clock += fmt::format("offset {:+} ms", st.clock_offset_ms());
  if (st.clock_drift_ppm() != 0) {
    clock += fmt::format("{}drift {:+} ppm", clock.empty() ? "" : ", ", st.clock_drift_ppm());
  }
  std::printf("%-10s lease: %s%s\n", "", describe_lease(st.lease()).c_str(),
              clock.empty() ? "" : (" · injected clock " + clock).c_str());
}

// Region `name`'s row: printed unless `as_json`, returned as JSON. *standby_note is set when its
// "not serving" is the standby's by design (the footnote explains it).
json region_row(const TopologyState& state, const char* name, const RegionAnswers& answers,
                const Result<drsim::v1::ListEndpointsResponse>& endpoints, bool as_json,
                bool* standby_note) {
  const auto& p = state.at(name);
  const bool alive = answers.alive_at.at(name);
  EndpointView tm = endpoint_view(endpoints, name);
  const auto& st = answers.statuses.at(name);
  json r = {{"region", name},
            {"pid", p.pid},
            {"address", p.address},
            {"alive", alive},
            {"traffic_manager_status", tm.tm_status}};
  const bool standby = st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY && !st->outage();
  if (model::standby_not_serving_by_design(tm.endpoint_status, standby, tm.superseded)) {
    r["traffic_manager_note"] = model::kStandbyByDesignNote;
    tm.tm_status = "not serving*";
    *standby_note = true;
  }
  if (!tm.superseded.empty()) r["traffic_manager_superseded"] = tm.superseded;
  std::string role = "-", epoch = "-", proc = alive ? "running" : "stopped", repl;
  if (st.is_ok()) {
    role = role_label(st->role());
    if (st->role() == drsim::v1::ROLE_ACTIVE && st->epoch() < answers.newest_active_epoch) {
      role = "fenced?";  // it still believes it is active at a superseded epoch
      r["superseded_by_epoch"] = answers.newest_active_epoch;
    }
    epoch = std::to_string(st->epoch());
    if (st->outage()) proc = "OUTAGE";
    add_region_facts(st.value(), &r);
    json wl = json::array();
    repl = replication_column(st.value(), as_json, &wl);
    r["workloads"] = wl;
  } else if (alive) {
    proc = "frozen?";
    repl = st.status().message();
    r["error"] = repl;
  }
  if (!as_json) {
    std::printf("%-10s %-8s %-7s %-6s %-9s %-18s %s\n", name,
                state.attached_from.empty() ? std::to_string(p.pid).c_str() : "remote",
                role.c_str(), epoch.c_str(), proc.c_str(), tm.tm_status.c_str(), repl.c_str());
    if (st.is_ok()) print_lease_line(st.value());
  }
  return r;
}

// The Traffic Manager's process, probing settings, failover estimates and listeners (JSON).
json traffic_manager_json(const TopologyState& state, const ProcessInfo& tm_info, bool tm_answers) {
  const auto& cfg = state.config;
  return {{"pid", tm_info.pid},
          {"address", tm_info.address},
          {"alive", state.attached_from.empty() ? recorded_alive(tm_info.identity()) : tm_answers},
          {"profile", cfg.profile},
          {"probe_interval_ms", cfg.probe_interval_ms},
          {"probe_timeout_ms", cfg.probe_timeout_ms},
          {"tolerated_failures", cfg.tolerated_failures},
          {"ttl_ms", cfg.ttl_ms},
          {"failover_estimate_documented_ms", cfg.documented_failover_ms()},
          {"failover_estimate_strict_ms", cfg.strict_failover_ms()},
          {"lease_ms", cfg.lease_ms},
          {"lease_wait_max_ms", cfg.lease_wait_ms()},
          {"dns_address", tm_info.more("dns_address")},
          {"dns_name", cfg.profile + ".trafficmanager.test"},
          {"dashboard_address", tm_info.more("dashboard_address")},
          {"dashboard_url", http_url(state, tm_info.more("dashboard_address"))}};
}

// The routing line, where the Traffic Manager runs and listens, the transport and the placement.
void print_routing(const TopologyState& state, const ProcessInfo& tm_info,
                   const std::string& route_name, bool tm_answers) {
  const auto& cfg = state.config;
  std::printf(
      "\nrouting: profile %s -> %s  (TTL %llu ms; failover estimate %llu ms "
      "documented, %llu ms strict: the longer of the Traffic Manager's detection and the "
      "lease wait of up to %llu ms, plus the TTL)\n",
      cfg.profile.c_str(), route_name.c_str(), static_cast<unsigned long long>(cfg.ttl_ms),
      static_cast<unsigned long long>(cfg.documented_failover_ms()),
      static_cast<unsigned long long>(cfg.strict_failover_ms()),
      static_cast<unsigned long long>(cfg.lease_wait_ms()));
  if (state.attached_from.empty()) {
    std::printf("traffic manager pid %d at %s%s\n", tm_info.pid, tm_info.address.c_str(),
                recorded_alive(tm_info.identity()) ? "" : " (not running)");
  } else {
    std::printf("traffic manager at %s%s\n", tm_info.address.c_str(),
                tm_answers ? "" : " (not answering)");
  }
  std::printf("  %s\n  %s\n", dns_line(state).c_str(), dashboard_line(state).c_str());
  std::printf("transport: %s\n", transport_line(state).c_str());
  for (const auto& line : placement_lines(state)) std::printf("%s\n", line.c_str());
}

// The PROFILE table: failover as the Traffic Manager sees it (no lease wait: the routing line
// counts it): documented TTL + tolerated x interval, the strict worst case
// (interval + timeout) x (tolerated + 1) + TTL, and the last one the Traffic Manager measured
// (first failed probe to route change; resolvers' caches add up to a TTL).
void print_profiles(const Result<drsim::v1::ListProfilesResponse>& profiles,
                    const TopologyConfig& cfg, bool standby_note) {
  if (!profiles.is_ok()) {
    std::printf("profiles: unknown (%s)\n", profiles.status().message().c_str());
    return;
  }
  std::printf("\n%-12s %-11s %-17s %-22s %-8s %s\n", "PROFILE", "METHOD", "STATUS", "ROUTE", "TTL",
              "FAILOVER (probes + TTL) documented / worst case / last measured");
  for (const auto& p : profiles->profiles()) {
    std::string last =
        p.last_failover_ms() > 0
            ? fmt::format("{:.0f} ms ({} out)", p.last_failover_ms(), p.last_failover_endpoint())
            : "none yet";
    std::string routed_to = p.routing().empty() ? "(none)" : p.routing();
    if (p.fail_open()) routed_to += " (fail open)";
    // The default profile is Degraded only because the healthy standby does not serve: the
    // footnote above says why.
    std::string status = p.profile_status();
    if (standby_note && p.profile() == cfg.profile && status == "Degraded" && !p.fail_open()) {
      status += "*";
    }
    std::printf("%-12s %-11s %-17s %-22s %-8s %s\n", p.profile().c_str(),
                p.routing_method().c_str(), status.c_str(), routed_to.c_str(),
                fmt::format("{} ms", p.ttl_ms()).c_str(),
                fmt::format("{:.0f} ms / {:.0f} ms / {}", p.failover_documented_ms(),
                            p.failover_worst_case_ms(), last)
                    .c_str());
  }
}

}  // namespace

int cmd_status(const std::string& home, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return print_error(state.status());
  const auto& cfg = state->config;
  json j;
  j["home"] = state->home;
  auto tm_info = state->processes.count("trafficmgr") ? state->at("trafficmgr") : ProcessInfo{};
  auto endpoints = tm_endpoints(tm_info.address, cfg.profile);
  auto route = tm_resolve(tm_info.address, cfg.profile);
  std::string route_name = route.is_ok() ? route->endpoint() + (route->fail_open() ? " (fail open)" : "")
                                         : "unknown (" + route.status().message() + ")";
  if (!as_json) {
    std::printf("%-10s %-8s %-7s %-6s %-9s %-18s %s\n", "REGION", "PID", "ROLE", "EPOCH",
                "PROCESS", "TRAFFIC MANAGER", "REPLICATION");
  }
  const RegionAnswers answers = ask_regions(*state);
  bool standby_note = false;
  json regions = json::array();
  for (const char* name : {"primary", "secondary"}) {
    if (!state->processes.count(name)) continue;
    regions.push_back(region_row(*state, name, answers, endpoints, as_json, &standby_note));
  }
  if (standby_note && !as_json) {
    std::printf("* %s (Degraded*)\n", model::kStandbyByDesignWhy);
  }
  j["regions"] = regions;
  j["routing"] = route_name;
  j["traffic_manager"] = traffic_manager_json(*state, tm_info, endpoints.is_ok());
  j["links"] = link_rows(*state, as_json);
  auto profiles = tm_profiles(tm_info.address);
  j["profiles"] = profile_rows(profiles);
  j["transport"] = transport_line(*state);
  j["placement"] = placement_lines(*state);
  if (as_json) {
    print_json_document(j);
    return 0;
  }
  print_routing(*state, tm_info, route_name, endpoints.is_ok());
  print_profiles(profiles, cfg, standby_note);
  return 0;
}

}  // namespace drsim::cli
