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

}  // namespace

int cmd_status(const std::string& home, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return print_error(state.status());
  const auto& cfg = state->config;
  json j;
  j["home"] = state->home;
  json regions = json::array();
  auto tm_info = state->processes.count("trafficmgr") ? state->at("trafficmgr") : ProcessInfo{};
  auto endpoints = tm_endpoints(tm_info.address, cfg.profile);
  auto route = tm_resolve(tm_info.address, cfg.profile);
  std::string route_name = route.is_ok() ? route->endpoint() + (route->fail_open() ? " (fail open)" : "")
                                         : "unknown (" + route.status().message() + ")";
  if (!as_json) {
    std::printf("%-10s %-8s %-7s %-6s %-9s %-18s %s\n", "REGION", "PID", "ROLE", "EPOCH",
                "PROCESS", "TRAFFIC MANAGER", "REPLICATION");
  }
  // Both regions' answers first: a region reporting itself active at an older epoch than the
  // other's is a superseded active region that has not learned it yet, not a second active one.
  std::map<std::string, Result<drsim::v1::GetStatusResponse>> statuses;
  std::map<std::string, bool> alive_at;  // read once per region: a /proc read each
  uint64_t newest_active_epoch = 0;
  for (const char* name : {"primary", "secondary"}) {
    if (!state->processes.count(name)) continue;
    const auto& p = state->at(name);
    const bool attached = !state->attached_from.empty();
    alive_at[name] = attached || recorded_alive(p.identity());
    auto st = alive_at[name]
                  ? region_status(p.address)
                  : Result<drsim::v1::GetStatusResponse>(unavailable("process not running"));
    // Attached, there is no process to look at: a daemon is up when it answers.
    if (attached) alive_at[name] = st.is_ok();
    if (st.is_ok() && st->role() == drsim::v1::ROLE_ACTIVE) {
      newest_active_epoch = std::max<uint64_t>(newest_active_epoch, st->epoch());
    }
    statuses.emplace(name, std::move(st));
  }
  bool standby_note = false;
  for (const char* name : {"primary", "secondary"}) {
    if (!state->processes.count(name)) continue;
    const auto& p = state->at(name);
    const bool alive = alive_at.at(name);
    std::string tm_status = "?";
    std::string endpoint_status;
    std::string superseded;
    if (endpoints.is_ok()) {
      for (const auto& e : endpoints->endpoints()) {
        if (e.name() != name) continue;
        endpoint_status = tm_status = endpoint_status_label(e.status());
        // Epoch-aware routing: a region answering SERVING at a superseded epoch is not routed.
        if (!e.superseded().empty()) tm_status += " (superseded)";
        superseded = e.superseded();
      }
    }
    const auto& st = statuses.at(name);
    json r = {{"region", name}, {"pid", p.pid}, {"address", p.address}, {"alive", alive},
              {"traffic_manager_status", tm_status}};
    const bool standby = st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY && !st->outage();
    if (model::standby_not_serving_by_design(endpoint_status, standby, superseded)) {
      r["traffic_manager_note"] = model::kStandbyByDesignNote;
      tm_status = "not serving*";
      standby_note = true;
    }
    if (!superseded.empty()) r["traffic_manager_superseded"] = superseded;
    std::string role = "-", epoch = "-", proc = alive ? "running" : "stopped", repl;
    if (st.is_ok()) {
      role = role_label(st->role());
      if (st->role() == drsim::v1::ROLE_ACTIVE && st->epoch() < newest_active_epoch) {
        role = "fenced?";  // it still believes it is active at a superseded epoch
        r["superseded_by_epoch"] = newest_active_epoch;
      }
      epoch = std::to_string(st->epoch());
      if (st->outage()) proc = "OUTAGE";
      r["role"] = role_label(st->role());
      r["epoch"] = st->epoch();
      r["outage"] = st->outage();
      r["replication_connected"] = st->replication_connected();
      r["note"] = st->fenced_reason();
      r["lease"] = {{"state", st->lease().state()},
                    {"expires_in_ms", st->lease().expires_in_ms()},
                    {"reason", st->lease().reason()},
                    {"lease_ms", st->lease().lease_ms()},
                    {"renew_interval_ms", st->lease().renew_interval_ms()},
                    {"witness", st->lease().witness()},
                    {"last_witness_error", st->lease().last_witness_error()}};
      r["clock_offset_ms"] = st->clock_offset_ms();
      r["clock_drift_ppm"] = st->clock_drift_ppm();
      json wl = json::array();
      const bool many = static_cast<size_t>(st->workloads_size()) > kWorkloadsOnArgv;
      uint64_t seq_total = 0, max_lag_writes = 0;
      double max_lag_ms = 0;
      for (const auto& w : st->workloads()) {
        bool active = st->role() == drsim::v1::ROLE_ACTIVE;
        // The text view does not print them: 100,000 JSON objects cost a second for nothing.
        if (as_json) wl.push_back({{"name", w.name()},
                      {"mode", w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async"},
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
        repl += fmt::format("{}{}({}) seq {}", repl.empty() ? "" : "; ", w.name(),
                            w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async", w.last_seq());
        if (active && st->fenced_reason().find("unprotected") == std::string::npos) {
          repl += fmt::format(" lag {} writes/{:.1f} ms", w.lag_writes(), w.lag_ms());
        }
      }
      if (many) {
        // One line per region stays readable with 100,000 workloads; --json has each of them.
        repl = fmt::format("{} workloads: seq total {}", st->workloads_size(), seq_total);
        if (st->role() == drsim::v1::ROLE_ACTIVE &&
            st->fenced_reason().find("unprotected") == std::string::npos) {
          repl += fmt::format(", worst lag {} writes/{:.1f} ms", max_lag_writes, max_lag_ms);
        }
      }
      r["workloads"] = wl;
      if (st->role() == drsim::v1::ROLE_ACTIVE &&
          st->fenced_reason().find("unprotected") == std::string::npos) {
        repl += st->replication_connected() ? " [streaming]" : " [not streaming]";
      }
      if (!st->fenced_reason().empty()) repl += " — " + st->fenced_reason();
    } else if (alive) {
      proc = "frozen?";
      repl = st.status().message();
      r["error"] = repl;
    }
    if (!as_json) {
      std::printf("%-10s %-8s %-7s %-6s %-9s %-18s %s\n", name,
                  state->attached_from.empty() ? std::to_string(p.pid).c_str() : "remote",
                  role.c_str(), epoch.c_str(), proc.c_str(), tm_status.c_str(), repl.c_str());
      if (st.is_ok()) {
        std::string clock;
        if (st->clock_offset_ms() != 0) clock += fmt::format("offset {:+} ms", st->clock_offset_ms());
        if (st->clock_drift_ppm() != 0) {
          clock += fmt::format("{}drift {:+} ppm", clock.empty() ? "" : ", ", st->clock_drift_ppm());
        }
        std::printf("%-10s lease: %s%s\n", "", describe_lease(st->lease()).c_str(),
                    clock.empty() ? "" : (" · injected clock " + clock).c_str());
      }
    }
    regions.push_back(r);
  }
  if (standby_note && !as_json) {
    std::printf("* %s (Degraded*)\n", model::kStandbyByDesignWhy);
  }
  j["regions"] = regions;
  j["routing"] = route_name;
  j["traffic_manager"] = {{"pid", tm_info.pid},
                          {"address", tm_info.address},
                          {"alive", state->attached_from.empty()
                                        ? recorded_alive(tm_info.identity())
                                        : endpoints.is_ok()},
                          {"profile", cfg.profile},
                          {"probe_interval_ms", cfg.probe_interval_ms},
                          {"probe_timeout_ms", cfg.probe_timeout_ms},
                          {"tolerated_failures", cfg.tolerated_failures},
                          {"ttl_ms", cfg.ttl_ms},
                          {"failover_estimate_documented_ms", cfg.documented_failover_ms()},
                          {"failover_estimate_strict_ms", cfg.strict_failover_ms()},
                          {"lease_ms", cfg.lease_ms},
                          {"lease_wait_max_ms", cfg.lease_wait_ms()}};
  j["links"] = link_rows(*state, as_json);
  auto profiles = tm_profiles(tm_info.address);
  j["traffic_manager"]["dns_address"] = tm_info.more("dns_address");
  j["traffic_manager"]["dns_name"] = cfg.profile + ".trafficmanager.test";
  j["traffic_manager"]["dashboard_address"] = tm_info.more("dashboard_address");
  j["traffic_manager"]["dashboard_url"] = http_url(*state, tm_info.more("dashboard_address"));
  j["profiles"] = profile_rows(profiles);
  j["transport"] = transport_line(*state);
  j["placement"] = placement_lines(*state);
  if (as_json) {
    print_json_document(j);
  } else {
    std::printf(
        "\nrouting: profile %s -> %s  (TTL %llu ms; failover estimate %llu ms "
        "documented, %llu ms strict: the longer of the Traffic Manager's detection and the "
        "lease wait of up to %llu ms, plus the TTL)\n",
        cfg.profile.c_str(), route_name.c_str(), static_cast<unsigned long long>(cfg.ttl_ms),
        static_cast<unsigned long long>(cfg.documented_failover_ms()),
        static_cast<unsigned long long>(cfg.strict_failover_ms()),
        static_cast<unsigned long long>(cfg.lease_wait_ms()));
    if (state->attached_from.empty()) {
      std::printf("traffic manager pid %d at %s%s\n", tm_info.pid, tm_info.address.c_str(),
                  recorded_alive(tm_info.identity()) ? "" : " (not running)");
    } else {
      std::printf("traffic manager at %s%s\n", tm_info.address.c_str(),
                  endpoints.is_ok() ? "" : " (not answering)");
    }
    std::printf("  %s\n  %s\n", dns_line(*state).c_str(), dashboard_line(*state).c_str());
    std::printf("transport: %s\n", transport_line(*state).c_str());
    for (const auto& line : placement_lines(*state)) std::printf("%s\n", line.c_str());
    if (!profiles.is_ok()) {
      std::printf("profiles: unknown (%s)\n", profiles.status().message().c_str());
    } else {
      // Failover as the Traffic Manager sees it (no lease wait: the routing line above counts
      // it): documented TTL + tolerated x interval, the strict worst case
      // (interval + timeout) x (tolerated + 1) + TTL, and the last one the Traffic Manager
      // measured (first failed probe to route change; resolvers' caches add up to a TTL).
      std::printf("\n%-12s %-11s %-17s %-22s %-8s %s\n", "PROFILE", "METHOD", "STATUS", "ROUTE",
                  "TTL", "FAILOVER (probes + TTL) documented / worst case / last measured");
      for (const auto& p : profiles->profiles()) {
        std::string last = p.last_failover_ms() > 0
                               ? fmt::format("{:.0f} ms ({} out)", p.last_failover_ms(),
                                             p.last_failover_endpoint())
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
  }
  return 0;
}

}  // namespace drsim::cli
