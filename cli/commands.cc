#include "cli/commands.h"

#include "cli/interrupt.h"

#include <signal.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/attach.h"
#include "cli/child_process.h"
#include "cli/faults.h"
#include "cli/final_state.h"
#include "cli/json_output.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/model/drill/history_checker.h"
#include "common/model/replication/region_protection.h"
#include "common/model/trafficmgr/status.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

int fail(const Status& s) { return print_error(s); }

// A failure, as the command's output asks.
int fail_as(Output output, const Status& s) { return print_failure(s, output == Output::kJson); }

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

std::vector<std::string> workload_names(const TopologyConfig& cfg) {
  std::vector<std::string> out;
  for (const auto& w : cfg.workloads) out.push_back(w.name);
  return out;
}

}  // namespace

int cmd_up(const std::string& home, const std::string& config_path, Output output) {
  const bool as_json = output == Output::kJson;
  TopologyConfig cfg;
  if (!config_path.empty()) {
    auto loaded = load_topology_config(config_path);
    if (!loaded.is_ok()) return print_failure(loaded.status(), as_json);
    cfg = *loaded;
  }
  std::vector<std::string> lines;
  auto state = topology_up(home, cfg, [&](const std::string& line) {
    lines.push_back(line);
    if (as_json) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  release_all_processes();  // up: the daemons outlive this command (`drsim down` stops them)
  if (state->netns) release_netns(state->netns->layout);  // and so do their namespaces
  if (as_json) {
    JsonObject daemons = JsonObject::object();
    for (const auto& [name, p] : state->processes) {
      JsonObject d = {{"pid", p.pid}, {"address", p.address}, {"log", p.log}};
      for (const auto& [key, address] : p.more_addresses) d[key] = address;
      daemons[name] = d;
    }
    print_json_document(json_ok({{"home", state->home},
                                 {"state_file", state->state_file()},
                                 {"daemons", daemons},
                                 {"progress", lines}}));
    return 0;
  }
  std::printf("topology is up in %s (state: %s)\n", state->home.c_str(),
              state->state_file().c_str());
  return 0;
}

int cmd_attach(const std::string& home, const std::string& config_path, Output output) {
  const bool as_json = output == Output::kJson;
  auto cfg = load_attach_config(config_path);
  if (!cfg.is_ok()) return print_failure(cfg.status(), as_json);
  std::vector<std::string> lines;
  auto state = attach_topology(home, *cfg, [&](const std::string& line) {
    lines.push_back(line);
    if (as_json) return;
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (as_json) {
    JsonObject daemons = JsonObject::object();
    for (const auto& [name, p] : state->processes) daemons[name] = p.address;
    print_json_document(json_ok({{"home", state->home},
                                 {"attached_from", state->attached_from},
                                 {"daemons", daemons},
                                 {"checked", lines}}));
    return 0;
  }
  std::printf("attached %s to the daemons of %s (state: %s); `drsim down` detaches\n",
              state->home.c_str(), config_path.c_str(), state->state_file().c_str());
  return 0;
}

int cmd_down(const std::string& home, Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok() && state.status().code() == StatusCode::kNotFound) {
    // Idempotent, so `trap 'drsim down' EXIT` is safe: nothing up is not an error.
    if (as_json) {
      print_json_document(json_ok({{"home", home}, {"stopped", JsonObject::array()},
                                   {"detached", false}, {"nothing_up", true}}));
    } else {
      std::printf("down: nothing is up in %s\n", home.c_str());
    }
    return 0;
  }
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (!state->attached_from.empty()) {
    // Attached: the daemons are not drsim's to stop. Forget them.
    std::error_code ec;
    std::filesystem::remove(state->state_file(), ec);
    if (ec) {
      return print_failure(
          unavailable("cannot remove " + state->state_file() + ": " + ec.message()), as_json);
    }
    if (as_json) {
      print_json_document(json_ok({{"home", state->home}, {"stopped", JsonObject::array()},
                                   {"detached", true}, {"nothing_up", false}}));
    } else {
      std::printf("down: detached %s from the daemons of %s; they keep running (drsim did not "
                  "start them)\n",
                  state->home.c_str(), state->attached_from.c_str());
    }
    return 0;
  }
  JsonObject stopped = JsonObject::array();
  for (const auto& [name, p] : state->processes) {
    const bool alive = recorded_alive(p.identity());
    stopped.push_back({{"name", name}, {"pid", p.pid}, {"was_running", alive}});
    if (!as_json) {
      std::printf("stopping %-10s pid %d%s\n", name.c_str(), p.pid, alive ? "" : " (not running)");
    }
  }
  if (Status s = topology_down(home, 3s); !s.is_ok()) return print_failure(s, as_json);
  if (as_json) {
    print_json_document(json_ok({{"home", state->home}, {"stopped", stopped},
                                 {"detached", false}, {"nothing_up", false}}));
  } else {
    std::printf("down: every process of %s stopped (data kept under it)\n", state->home.c_str());
  }
  return 0;
}

int cmd_status(const std::string& home, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
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
  // Links through the fault proxy, with what is injected on them now.
  json links = json::array();
  if (!state->links.empty()) {
    auto listed = fp_list_links(state->at("faultproxy").address);
    // FROM -> TO as wide as its widest ("trafficmgr -> secondary" is one past the usual 22).
    int from_to_width = 22;
    for (const auto& [name, l] : state->links) {
      from_to_width = std::max(from_to_width, static_cast<int>((l.from + " -> " + l.to).size()));
    }
    if (!as_json) {
      std::printf("\n%-24s %-*s %-20s %-15s %s\n", "LINK", from_to_width, "FROM -> TO", "LISTEN",
                  "MECHANISM", "FAULTS");
    }
    for (const auto& [name, l] : state->links) {
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
      const std::string mechanism = link_mechanisms(*state, name, !faults.empty());
      jl["mechanism"] = mechanism;
      if (state->netns && state->netns->kernel_faults.count(name)) {
        std::string kernel = describe_kernel_faults(state->netns->kernel_faults.at(name));
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
  j["links"] = links;
  // Every profile of the Traffic Manager, with the failover figures it reports.
  auto profiles = tm_profiles(tm_info.address);
  json jprofiles = json::array();
  if (profiles.is_ok()) {
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
  }
  j["traffic_manager"]["dns_address"] = tm_info.more("dns_address");
  j["traffic_manager"]["dns_name"] = cfg.profile + ".trafficmanager.test";
  j["traffic_manager"]["dashboard_address"] = tm_info.more("dashboard_address");
  j["traffic_manager"]["dashboard_url"] = http_url(*state, tm_info.more("dashboard_address"));
  j["profiles"] = jprofiles;
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

Status resolve_by_dns(const TopologyState& state, LoadOptions* options) {
  if (state.netns) {
    // Its DNS server listens on loopback inside its namespace (docs/deploy.md).
    return invalid_argument(
        "resolve dns: the Traffic Manager's DNS listens on 127.0.0.1 inside its namespace (" +
        state.netns->layout.find("trafficmgr")->netns +
        ", placement: netns) and is not reachable from this host; resolve with grpc");
  }
  // The DNS answer is an IP; the Traffic Manager's table says which region each stands for.
  const ProcessInfo& tm = state.at("trafficmgr");
  options->resolve = ResolveMode::kDns;
  options->dns_address = tm.more("dns_address");
  auto table = tm_endpoints(tm.address, state.config.profile);
  if (!table.is_ok()) return table.status();
  options->dns_name = table->dns_name();
  for (const auto& e : table->endpoints()) {
    if (!e.dns_address().empty()) options->dns_targets[e.dns_address()] = {e.name(), e.address()};
  }
  return Status::ok();
}

int cmd_load(const std::string& home, LoadCommand cmd) {
  const Output output = cmd.json ? Output::kJson : Output::kText;
  auto fail = [output](const Status& s) { return fail_as(output, s); };
  // Progress is for people: with --json it goes to stderr, stdout keeps one document.
  FILE* progress = cmd.json ? stderr : stdout;
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  cmd.options.trafficmgr_address = state->at("trafficmgr").address;
  cmd.options.profile = state->config.profile;
  const auto known = workload_names(state->config);
  if (cmd.options.workloads.empty()) cmd.options.workloads = known;
  for (const auto& w : cmd.options.workloads) {
    if (std::find(known.begin(), known.end(), w) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return fail(invalid_argument("--workloads: '" + w + "' is not a workload of the topology in " +
                                   state->home + " (" + list + ")"));
    }
  }
  if (cmd.options.resolve == ResolveMode::kDns) {
    if (Status s = resolve_by_dns(*state, &cmd.options); !s.is_ok()) return fail(s);
  }
  // Every run has its own id and file, so that concurrent loads on one home can be checked
  // together (`drsim check` reads every run of the home).
  cmd.options.run = new_run_id();
  if (Status s = cmd.options.validate(); !s.is_ok()) return fail(s);
  if (!(cmd.duration_s > 0 && cmd.duration_s <= 86400)) {
    return fail(invalid_argument("--duration: must be in (0, 86400] seconds"));
  }
  std::string path = cmd.history_path.empty() ? default_history_path(state->home, cmd.options.run)
                                              : cmd.history_path;
  auto writer = HistoryWriter::open(path, cmd.options.run);
  if (!writer.is_ok()) return fail(writer.status());
  if (cmd.options.stale.count > 0) {
    std::fprintf(progress, "load: %u TTL-honouring clients (deadline %lld ms) and %s\n",
                 cmd.options.workers, static_cast<long long>(cmd.options.op_timeout.count()),
                 describe_stale_clients(cmd.options.stale).c_str());
  }
  // SIGINT / SIGTERM: stop the clients and finish the history file (a second signal stops at
  // once, cli/interrupt.h).
  InterruptHandledByCaller graceful;
  LoadGenerator load(cmd.options, writer->get());
  load.start();
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration<double>(cmd.duration_s);
  auto next_line = start + 1s;
  LoadStats prev{};
  while (std::chrono::steady_clock::now() < end && interrupted_by() == 0) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            end - std::chrono::steady_clock::now()),
        100ms));
    (*writer)->flush();  // a killed load keeps what completed up to the last 100 ms
    if (std::chrono::steady_clock::now() < next_line &&
        std::chrono::steady_clock::now() < end) {
      continue;
    }
    next_line += 1s;
    LoadStats now = load.stats();
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(progress, "[%6.1fs] %6llu ops  ok %llu  fail %llu  indeterminate %llu  route %s\n",
                 t,
                 static_cast<unsigned long long>((now.ok + now.fail + now.indeterminate) -
                                                 (prev.ok + prev.fail + prev.indeterminate)),
                 static_cast<unsigned long long>(now.ok), static_cast<unsigned long long>(now.fail),
                 static_cast<unsigned long long>(now.indeterminate), now.route.c_str());
    std::fflush(progress);
    prev = now;
  }
  const int sig = interrupted_by();
  load.stop();
  const std::string reason = sig == 0         ? "completed"
                             : sig == SIGINT  ? "interrupted by SIGINT"
                             : sig == SIGTERM ? "stopped by SIGTERM"
                                              : "stopped by SIGHUP";
  if (Status s = (*writer)->finish(reason); !s.is_ok()) return fail(s);
  LoadStats total = load.stats();
  const bool nothing_succeeded = total.ok == 0 && total.fail + total.indeterminate > 0;
  if (cmd.json) {
    print_json_document(json_ok(
        {{"outcome", sig == 0 ? "completed" : reason},
         {"run", cmd.options.run},
         {"history", path},
         {"operations", total.ok + total.fail + total.indeterminate},
         {"ok", sig == 0 && !nothing_succeeded},
         {"succeeded", total.ok},
         {"failed", total.fail},
         {"indeterminate", total.indeterminate},
         {"lookups", total.resolves},
         {"resolve", cmd.options.resolve == ResolveMode::kDns ? "dns" : "grpc"},
         {"last_error", total.last_error}}));
    std::fflush(stdout);
    if (sig != 0) return 128 + sig;
    return nothing_succeeded ? 1 : 0;
  }
  std::printf(
      "load %s: %llu operations (ok %llu, fail %llu, indeterminate %llu); %llu %s "
      "lookups; run %s, history %s\n",
      sig == 0 ? "done" : reason.c_str(),
      static_cast<unsigned long long>(total.ok + total.fail + total.indeterminate),
      static_cast<unsigned long long>(total.ok), static_cast<unsigned long long>(total.fail),
      static_cast<unsigned long long>(total.indeterminate),
      static_cast<unsigned long long>(total.resolves),
      cmd.options.resolve == ResolveMode::kDns ? "DNS" : "gRPC Resolve", cmd.options.run.c_str(),
      path.c_str());
  std::fflush(stdout);
  if (sig != 0) return 128 + sig;
  if (nothing_succeeded) {
    // Nothing got through: a load that measured only failures must not look like a success.
    std::fprintf(stderr, "drsim: load: none of %llu operations succeeded; the last error: %s\n",
                 static_cast<unsigned long long>(total.fail + total.indeterminate),
                 total.last_error.c_str());
    return 1;
  }
  return 0;
}

int cmd_inject(const std::string& home, const std::string& fault,
               const std::map<std::string, std::string>& params, Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  std::map<std::string, FaultParam> named;
  for (const auto& [flag, value] : params) {
    std::string key = flag.substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    named[key] = {value, flag};
  }
  auto spec = make_fault(fault, named, "inject", ParamStyle::kFlag);
  if (!spec.is_ok()) return print_failure(spec.status(), as_json);
  auto done = inject_fault(*state, *spec);
  if (!done.is_ok()) return print_failure(done.status(), as_json);
  std::time_t now = std::time(nullptr);
  if (as_json) {
    print_json_document(json_ok({{"fault", fault},
                                 {"target", spec->target},
                                 {"injected", *done},
                                 {"at_unix_seconds", static_cast<int64_t>(now)}}));
    return 0;
  }
  char when[32];
  std::strftime(when, sizeof when, "%H:%M:%S UTC", std::gmtime(&now));
  std::printf("injected %s at %s\n", done->c_str(), when);
  return 0;
}

int cmd_heal(const std::string& home, const std::string& target, bool target_is_region,
             Output output) {
  const bool as_json = output == Output::kJson;
  auto state = load_state(home);
  if (!state.is_ok()) return print_failure(state.status(), as_json);
  if (target_is_region && !state->processes.count(target)) {
    std::string names;
    for (const auto& [name, p] : state->processes) names += (names.empty() ? "" : ", ") + name;
    return print_failure(invalid_argument("--region: '" + target +
                                          "' is not a region or daemon of this topology (" +
                                          names + "); links are healed with --link"),
                         as_json);
  }
  auto lines = heal_faults(*state, target);
  if (!lines.is_ok()) return print_failure(lines.status(), as_json);
  if (as_json) {
    JsonObject body = {{"ok", !lines->empty()}, {"target", target.empty() ? "all" : target},
                       {"healed", *lines}};
    print_json_document(body);
  } else {
    for (const auto& line : *lines) std::printf("%s\n", line.c_str());
  }
  return lines->empty() ? 1 : 0;
}

namespace {
// The facts the healthy-region guard needs, from the active region's status (not answering =
// not healthy: that is what an unplanned failover is for).
model::UnplannedFailoverFacts unplanned_failover_facts(const TopologyState& state,
                                                       const std::string& target) {
  model::UnplannedFailoverFacts f;
  f.target = target;
  f.active = target == "primary" ? "secondary" : "primary";
  // A region that cannot answer its status within half a second is not the healthy case.
  auto st = region_status(state.at(f.active).address, false, std::chrono::milliseconds(500));
  if (!st.is_ok()) return f;
  f.active_answers = true;
  f.active_serving = st->role() == drsim::v1::ROLE_ACTIVE && !st->outage() &&
                     (st->lease().state() == "held" || st->lease().state() == "disabled");
  f.replicating = st->replication_connected() &&
                  st->protection() == drsim::v1::REGION_PROTECTION_PROTECTED;
  for (const auto& w : st->workloads()) {
    f.unreplicated_writes += w.lag_writes();
    if (w.mode() == drsim::v1::MODE_ASYNC) ++f.async_workloads;
  }
  f.unprotected = st->protection() == drsim::v1::REGION_PROTECTION_UNPROTECTED;
  if (f.unprotected) {
    // The target's seqs, where it answers: the active region's seqs past them are on it alone.
    auto target_st = region_status(state.at(target).address, false, std::chrono::milliseconds(500));
    std::map<std::string, uint64_t> there;
    if (target_st.is_ok()) {
      for (const auto& w : target_st->workloads()) there[w.name()] = w.last_seq();
    }
    for (const auto& w : st->workloads()) {
      const uint64_t theirs = there.count(w.name()) ? there[w.name()] : w.last_seq();
      if (w.last_seq() > theirs) f.writes_only_here += w.last_seq() - theirs;
    }
  }
  return f;
}
}  // namespace

namespace {
JsonObject planned_json(const PlannedFailoverOutcome& o) {
  return {{"from", o.from},
          {"to", o.to},
          {"items_failed_over", o.items_failed_over},
          {"response", proto_to_json(o.response)},
          {"messages", o.lines}};
}

JsonObject reprotect_json(const ReprotectOutcome& o) {
  return {{"active", o.active},
          {"standby", o.standby},
          {"response", proto_to_json(o.response)},
          {"messages", o.lines}};
}
}  // namespace

int cmd_failover(const std::string& home, const std::string& region, const std::string& reason,
                 WitnessCheck witness, HealthyActive healthy, Output output) {
  auto fail = [output](const Status& s) { return fail_as(output, s); };
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  std::string target = region;
  if (target.empty()) {
    target = find_standby(*state);  // fail over to whichever region is the standby now
    if (target.empty()) {
      return fail(failed_precondition("no reachable standby region to fail over to; name one "
                                      "with --region"));
    }
  } else if (!is_region(target)) {
    return fail(invalid_argument("--region: '" + target + "' is not primary or secondary"));
  }
  if (healthy == HealthyActive::kRefuse) {
    if (Status s = model::check_unplanned_failover_of_healthy_region(
            unplanned_failover_facts(*state, target));
        !s.is_ok()) {
      return fail(s);
    }
  }
  auto r = region_failover(state->at(target).address, reason, witness);
  if (!r.is_ok()) return fail(r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok({{"region", target}, {"response", proto_to_json(*r)}}));
    return 0;
  }
  std::printf("%s\n", r->message().c_str());
  for (const auto& c : r->recovered()) {
    std::printf("  %-10s continues from seq %llu (epoch %llu)\n", c.workload().c_str(),
                static_cast<unsigned long long>(c.seq()),
                static_cast<unsigned long long>(c.epoch()));
  }
  return 0;
}

namespace {
void print_lines(const std::vector<std::string>& lines) {
  for (const auto& line : lines) std::printf("%s\n", line.c_str());
}
}  // namespace

int cmd_planned_failover(const std::string& home, const std::string& region,
                         const std::string& reason, uint32_t drain_timeout_ms, bool reprotect,
                         Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_planned_failover(*state, region, reason, drain_timeout_ms, reprotect);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(planned_json(*r)));
  } else {
    print_lines(r->lines);
  }
  return 0;
}

int cmd_reprotect(const std::string& home, const std::string& region, const std::string& reason,
                  Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_reprotect(*state, region, reason);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(reprotect_json(*r)));
  } else {
    print_lines(r->lines);
  }
  return 0;
}

int cmd_failback(const std::string& home, const std::string& reason, uint32_t drain_timeout_ms,
                 Output output) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail_as(output, state.status());
  auto r = run_failback(*state, reason, drain_timeout_ms);
  if (!r.is_ok()) return fail_as(output, r.status());
  if (output == Output::kJson) {
    print_json_document(json_ok(
        {{"failover", planned_json(r->failover)}, {"reprotect", reprotect_json(r->reprotect)}}));
  } else {
    print_lines(r->failover.lines);
    print_lines(r->reprotect.lines);
  }
  return 0;
}

int cmd_check(const std::string& home, const std::string& history_path, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return fail(state.status());
  // One named file, or every run recorded in the home, checked together.
  HomeHistories histories;
  if (!history_path.empty()) {
    auto file = read_history_file(history_path);
    if (!file.is_ok()) return fail(file.status());
    if (!file->ended && process_alive(static_cast<pid_t>(file->pid))) {
      return fail(failed_precondition(history_path + ": run " + file->run +
                                      " is still being written by drsim load (pid " +
                                      std::to_string(file->pid) + "); check when it has finished"));
    }
    histories.paths = {history_path};
    histories.ops = std::move(file->ops);
  } else {
    auto all = read_home_histories(state->home);
    if (!all.is_ok()) return fail(all.status());
    histories = std::move(*all);
  }
  const auto& history = histories.ops;
  // Judge against the region that is active now (the newest epoch, should two claim it).
  std::string active;
  uint64_t active_epoch = 0;
  for (const char* name : {"primary", "secondary"}) {
    auto st = region_status(state->at(name).address);
    if (st.is_ok() && st->role() == drsim::v1::ROLE_ACTIVE && st->epoch() >= active_epoch) {
      active = name;
      active_epoch = st->epoch();
    }
  }
  if (active.empty()) return fail(unavailable("no active region answers; cannot read the final "
                                              "state"));
  auto final_state = read_final_state(state->at(active).address, workload_names(state->config));
  if (!final_state.is_ok()) return fail(final_state.status());
  auto check = model::check_history(history, *final_state);
  json j = {{"histories", histories.paths},
            {"active_region", active},
            {"writes", {{"attempted", check.writes.attempted}, {"acknowledged", check.writes.ok},
                        {"failed", check.writes.failed},
                        {"indeterminate", check.writes.indeterminate}}},
            {"acknowledged_writes_lost", check.lost_count},
            {"recovered_indeterminate", check.recovered_count},
            {"stale_reads", check.stale_read_count},
            {"valid", check.valid()}};
  if (as_json) {
    print_json_document(j);
  } else {
    std::printf("%zu histor%s against the final state of %s\n", histories.paths.size(),
                histories.paths.size() == 1 ? "y" : "ies", active.c_str());
    for (const auto& p : histories.paths) std::printf("  %s\n", p.c_str());
    std::printf("writes: attempted %llu, acknowledged %llu, failed %llu, indeterminate %llu\n",
                static_cast<unsigned long long>(check.writes.attempted),
                static_cast<unsigned long long>(check.writes.ok),
                static_cast<unsigned long long>(check.writes.failed),
                static_cast<unsigned long long>(check.writes.indeterminate));
    std::printf("acknowledged writes lost: %llu; recovered: %llu; stale reads: %llu\n",
                static_cast<unsigned long long>(check.lost_count),
                static_cast<unsigned long long>(check.recovered_count),
                static_cast<unsigned long long>(check.stale_read_count));
    for (size_t i = 0; i < check.lost.size() && i < 10; ++i) {
      const auto& l = check.lost[i];
      std::printf("  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                  l.region.c_str(), static_cast<unsigned long long>(l.seq));
    }
  }
  return check.valid() ? 0 : 1;
}

}  // namespace drsim::cli
