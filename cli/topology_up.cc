// Starting one daemon (and `drsim up`'s choice of its ports), the status lines about a topology,
// `drsim down`, restarting one process (cli/topology.h). `drsim up` itself:
// cli/topology_startup.cc.
#include "cli/topology.h"

#include <filesystem>
#include <random>

#include "cli/child_process.h"
#include "cli/listen_ports.h"
#include "cli/rpc_clients.h"
#include "common/config/listen_address.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
constexpr int kStartAttempts = 4;

Result<ProcessInfo> start_daemon_once(const std::string& name, std::vector<std::string> argv,
                                      const std::string& dir, const std::string& data_dir) {
  fs::create_directories(dir);
  std::string ready = dir + "/ready.json";
  std::string log = dir + "/" + name + ".log";
  fs::remove(ready);
  argv.push_back("--ready-file");
  argv.push_back(ready);
  auto pid = spawn_process(argv, log);
  if (!pid.is_ok()) return pid.status();
  // Read now, while the child cannot have been reaped: `down` and `inject` check it.
  auto start_ticks = runtime::process_start_ticks(*pid);
  auto info = wait_ready(ready, *pid, log, 15s);
  if (!info.is_ok()) {
    stop_process(*pid, 500ms);
    return Status(info.status().code(), name + ": " + info.status().message());
  }
  expect_identity_at(info->address, process_identity(name, argv));
  // Pin the bound ports so a restart comes back at the same addresses.
  const std::map<std::string, std::string> pinned = {{"--dns-listen", "dns_address"},
                                                     {"--dashboard-listen", "dashboard_address"},
                                                     {"--http-listen", "http_address"}};
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--listen") argv[i + 1] = info->address;
    if (auto it = pinned.find(argv[i]); it != pinned.end()) {
      if (auto bound = info->more_addresses.find(it->second);
          bound != info->more_addresses.end()) {
        argv[i + 1] = bound->second;
      }
    }
  }
  return ProcessInfo{*pid,
                     start_ticks.is_ok() ? *start_ticks : 0,
                     info->address,
                     argv,
                     log,
                     data_dir,
                     info->more_addresses};
}
}  // namespace

Result<ProcessInfo> start_daemon(const std::string& name, std::vector<std::string> argv,
                                 const std::string& dir, const std::string& data_dir) {
  // Ports left to drsim (":0") are chosen below the ephemeral range (cli/listen_ports.h); a
  // start that loses a chosen port to another program between the check and the bind is
  // retried on others. Pinned ports (a restart's, or the topology's own) are used as given.
  thread_local std::mt19937 rng{std::random_device{}()};
  const PortBand band = listen_port_band();
  for (int attempt = 1;; ++attempt) {
    std::vector<std::string> chosen = argv;
    const int replaced = choose_listen_ports(chosen, band, rng);
    auto started = start_daemon_once(name, std::move(chosen), dir, data_dir);
    if (started.is_ok() || replaced == 0 || attempt == kStartAttempts ||
        !lost_port_race(started.status().message())) {
      return started;
    }
  }
}

std::string transport_line(const TopologyState& state) {
  return state.config.transport == net::TransportSecurity::kMutualTls
             ? "mTLS (CA " + tls_dir_of(state.home) + "/ca.crt)"
             : "plain TCP (--insecure)";
}

std::vector<std::string> placement_lines(const TopologyState& state) {
  if (!state.attached_from.empty()) {
    return {"placement: attached (" + state.attached_from +
            "): the daemons run elsewhere, drsim started none"};
  }
  if (!state.netns) return {"placement: loopback (127.0.0.1)"};
  const auto& l = state.netns->layout;
  std::vector<std::string> out = {"placement: netns, bridge " + l.bridge + " " + l.subnet.text() +
                                  " (this host " + l.host_address + ")"};
  for (const auto& m : l.members) {
    auto p = state.processes.find(m.name);
    std::string address = p == state.processes.end() ? m.address : p->second.address;
    char line[160];
    std::snprintf(line, sizeof line, "  %-11s netns %-28s %s", m.name.c_str(), m.netns.c_str(),
                  address.c_str());
    out.push_back(line);
  }
  return out;
}

std::string dns_line(const TopologyState& state) {
  const ProcessInfo& tm = state.at("trafficmgr");
  std::string dns = tm.more("dns_address");
  if (dns.empty()) return "dns       (not serving)";
  auto at = config::parse_host_port("dns_address", dns);
  const std::string dig_at = at.is_ok() ? at->host + " -p " + std::to_string(at->port) : dns;
  return "dns       " + dns + "  name " + state.config.profile + ".trafficmanager.test  (primary " +
         kPrimaryDnsAddress + ", secondary " + kSecondaryDnsAddress + "; dig @" + dig_at + " " +
         state.config.profile + ".trafficmanager.test)";
}

std::string http_url(const TopologyState& state, const std::string& address) {
  if (address.empty()) return "";
  // The daemons serve their HTTP endpoints with the certificate they use for gRPC.
  const char* scheme =
      state.config.transport == net::TransportSecurity::kMutualTls ? "https" : "http";
  return std::string(scheme) + "://" + address + "/";
}

std::string dashboard_line(const TopologyState& state) {
  std::string url = http_url(state, state.at("trafficmgr").more("dashboard_address"));
  if (url.empty()) return "dashboard (not serving)";
  return "dashboard " + url;
}

std::string find_region(const TopologyState& state, drsim::v1::RegionRole role) {
  for (const char* name : {"secondary", "primary"}) {
    auto st = region_status(state.at(name).address);
    if (st.is_ok() && st->role() == role) return name;
  }
  return "";
}

std::string find_standby(const TopologyState& state) {
  return find_region(state, drsim::v1::ROLE_STANDBY);
}

Status topology_down(const std::string& home, std::chrono::milliseconds grace) {
  auto state = load_state(home);
  if (!state.is_ok()) return state.status();
  std::vector<std::string> refused;
  auto stop = [&](const std::string& name, const ProcessInfo& p) {
    if (Status s = stop_recorded(p.identity(), grace, name); !s.is_ok()) {
      refused.push_back(s.message());
    }
  };
  // Processes started next to the topology (a test failover's isolated copy) go first.
  for (const auto& [name, p] : state->processes) {
    if (name != "trafficmgr" && name != "faultproxy" && !is_region(name)) stop(name, p);
  }
  for (const char* name : {"trafficmgr", "primary", "secondary", "faultproxy"}) {
    auto it = state->processes.find(name);
    if (it != state->processes.end()) stop(name, it->second);
  }
  if (!refused.empty()) {
    // The state file stays: it is the only record of what may still run.
    std::string all;
    for (const auto& r : refused) all += (all.empty() ? "" : "; ") + r;
    return failed_precondition(all);
  }
  if (state->netns) {
    auto left = remove_netns(state->netns->layout, state->home + "/netns/commands.log");
    release_netns(state->netns->layout);
    if (!left.empty()) {
      std::string all;
      for (const auto& l : left) all += (all.empty() ? "" : ", ") + l;
      return unavailable("could not remove " + all + " (see " + state->home +
                         "/netns/commands.log); topology.json keeps the record");
    }
  }
  fs::remove(state->state_file());
  return Status::ok();
}

Status restart_process(TopologyState& state, const std::string& name) {
  auto it = state.processes.find(name);
  if (it == state.processes.end()) return not_found("no process named " + name);
  if (recorded_alive(it->second.identity())) {
    return failed_precondition(name + " (pid " + std::to_string(it->second.pid) +
                               ") is still running; kill it first");
  }
  std::vector<std::string> argv = it->second.argv;
  // start_daemon appends its own --ready-file.
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--ready-file") argv.erase(argv.begin() + i, argv.begin() + i + 2);
  }
  auto started = start_daemon(name, argv, state.home + "/" + name, it->second.data_dir);
  if (!started.is_ok()) return started.status();
  it->second = *started;
  return save_state(state);
}

}  // namespace drsim::cli
