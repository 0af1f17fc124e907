// `drsim up` and `drsim down`: starting the daemons of a topology, waiting until it is
// healthy, the status lines about it, stopping it, restarting one process (cli/topology.h).
#include "cli/topology.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/listen_ports.h"
#include "cli/yaml_fields.h"
#include "cli/rpc_clients.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;


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


namespace {
// `argv` followed by `flags`.
std::vector<std::string> with(const std::vector<std::string>& flags,
                              std::vector<std::string> argv) {
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

// "active" / "standby" as the daemon itself reports it (its durable role), for `up`'s lines.
std::string role_label(const std::string& address) {
  auto st = region_status(address);
  if (!st.is_ok()) return "role unknown: " + st.status().message();
  std::string role = st->role() == drsim::v1::ROLE_ACTIVE ? "active" : "standby";
  if (st->epoch() > 1) role += ", epoch " + std::to_string(st->epoch());
  return role;
}
// The region daemon to start for `role`: the production binary, or — when the topology sets a
// `testing:` key — the test build's drsim-<role>-testhooks, the only binaries that carry the
// deliberately unsafe flags (built with the tests, never installed).
Result<std::string> region_binary(const std::string& bin, const std::string& role,
                                  const TopologyConfig& config) {
  if (!config.unsafe_ack_before_standby && !config.unsafe_no_lease) {
    return bin + "/drsim-" + role;
  }
  std::string path = bin + "/drsim-" + role + "-testhooks";
  if (::access(path.c_str(), X_OK) != 0) {
    return failed_precondition(
        "testing: the deliberately unsafe variants need the test build's drsim-" + role +
        "-testhooks beside drsim (" + path + " is missing: build with the tests, "
        "scripts/build.sh); production binaries carry no test hook");
  }
  return path;
}
}  // namespace

Result<TopologyState> topology_up(const std::string& home, const TopologyConfig& config,
                                  const std::function<void(const std::string&)>& progress) {
  TopologyState state;
  state.home = fs::absolute(home).lexically_normal().string();
  state.config = config;
  auto existing = load_state(home);
  if (existing.is_ok() && !existing->attached_from.empty()) {
    return failed_precondition(state.home + " is attached to daemons that run elsewhere (" +
                               existing->attached_from + "); `drsim down --home " + home +
                               "` detaches it first (`drsim drill run FILE --attached --home " +
                               home + "` drills those daemons)");
  }
  if (existing.is_ok()) {
    for (const auto& [name, p] : existing->processes) {
      if (recorded_alive(p.identity())) {
        return failed_precondition("a topology is already up in " + state.home + " (" + name +
                                   " pid " + std::to_string(p.pid) + "); run `drsim down --home " +
                                   home + "` first");
      }
    }
  }
  // placement: netns is checked before anything is made: root, mTLS, a subnet the host does not
  // route. Its namespaces are recorded in topology.json before they exist, so `down` (or the
  // next `up`) can remove them by name whatever happens in between.
  const std::string netns_log = state.home + "/netns/commands.log";
  std::optional<model::NetnsLayout> layout;
  if (config.placement == Placement::kNetns) {
    if (Status s = check_placement_transport(config, "security.transport"); !s.is_ok()) return s;
    if (Status s = check_netns_privileges(config.placement_where); !s.is_ok()) return s;
    const std::string& subnet_field = config.subnet_where;
    auto subnet = model::parse_ipv4_net(config.netns_subnet, subnet_field);
    if (!subnet.is_ok()) return subnet.status();
    auto planned = model::plan_netns_layout(state.home, *subnet, subnet_field);
    if (!planned.is_ok()) return planned.status();
    layout = *planned;
  }
  std::error_code ec;
  fs::create_directories(state.home, ec);
  if (ec) return invalid_argument("--home: cannot create " + state.home + ": " + ec.message());
  if (layout) {
    fs::create_directories(state.home + "/netns", ec);
    if (existing.is_ok() && existing->netns) {
      // Left by an earlier run that did not come down (a crash, a kill -9 of the CLI).
      auto left = remove_netns(existing->netns->layout, netns_log);
      if (!left.empty()) {
        return failed_precondition("cannot remove what an earlier run left: " + left.front() +
                                   " (see " + netns_log + ")");
      }
    }
    auto routes = host_routes(netns_log);
    if (!routes.is_ok()) return routes.status();
    if (Status s = model::check_subnet_free(layout->subnet, *routes, config.subnet_where);
        !s.is_ok()) {
      return s;
    }
  }
  // mTLS: the topology's CA and one certificate per process and for the operator, made on the
  // first `up` of this home and re-used after; the CLI dials as the operator.
  std::vector<std::string> transport_flags = {"--insecure"};
  if (config.transport == net::TransportSecurity::kMutualTls) {
    const std::string tls_dir = tls_dir_of(state.home);
    std::vector<std::string> identities(tls::kTopologyIdentities.begin(),
                                        tls::kTopologyIdentities.end());
    if (Status s = tls::ensure_certificates(tls_dir, identities, std::chrono::system_clock::now());
        !s.is_ok()) {
      return Status(s.code(), "certificates: " + s.message());
    }
    transport_flags = {"--tls-dir", tls_dir};
    // Checked now, so an operator certificate that does not load stops `up` with its reason.
    auto op = tls::load_identity(tls_dir, "operator", std::chrono::system_clock::now());
    if (!op.is_ok()) return Status(op.status().code(), "certificates: " + op.status().message());
  }
  if (Status s = use_topology_transport(state.home, config.transport); !s.is_ok()) return s;
  std::string bin = bin_dir();
  auto sec_bin = region_binary(bin, "secondary", config);
  if (!sec_bin.is_ok()) return sec_bin.status();
  auto pri_bin = region_binary(bin, "primary", config);
  if (!pri_bin.is_ok()) return pri_bin.status();
  auto fail = [&](const Status& s) -> Result<TopologyState> {
    for (auto& [n, p] : state.processes) stop_process(p.pid, 2s);
    if (state.netns) {
      auto left = remove_netns(state.netns->layout, netns_log);
      release_netns(state.netns->layout);
      if (left.empty()) fs::remove(state.state_file());
    }
    return s;
  };
  if (layout) {
    state.netns = NetnsState{*layout, {}, {}};
    if (Status s = save_state(state); !s.is_ok()) return s;
    own_netns(*layout, netns_log);
    if (Status s = create_netns(*layout, netns_log); !s.is_ok()) return fail(s);
    progress("network namespaces " + std::to_string(layout->members.size()) + " on bridge " +
             layout->bridge + " " + layout->subnet.text() + " (this host " +
             layout->host_address + ")");
  }
  // Where `name` listens and how it is started: inside its namespace with placement: netns.
  auto listen_host = [&](const std::string& name) -> std::string {
    return layout ? layout->find(name)->address : "127.0.0.1";
  };
  auto listen_at = [&](const std::string& name, const std::string& configured) {
    return listen_host(name) + configured.substr(configured.rfind(':'));
  };
  auto placed = [&](const std::string& name, std::vector<std::string> argv) {
    if (!layout) return argv;
    std::vector<std::string> out = model::netns_exec(layout->find(name)->netns);
    out[0] = netns_ip_path();
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  };
  auto where = [&](const std::string& name) -> std::string {
    return layout ? "  netns " + layout->find(name)->netns : "";
  };

  auto workloads = workloads_args(config, state.home);
  if (!workloads.is_ok()) return workloads.status();
  std::vector<std::string> common = *workloads;
  common.insert(common.end(), transport_flags.begin(), transport_flags.end());
  if (config.fsync) common.push_back("--fsync");
  if (config.unsafe_ack_before_standby) common.push_back("--unsafe-ack-before-standby");
  if (config.unsafe_no_lease) common.push_back("--unsafe-no-lease");
  common.insert(common.end(), {"--lease-ms", std::to_string(config.lease_ms),
                               "--lease-renew-interval-ms",
                               std::to_string(config.lease_renew_interval_ms)});
  if (config.time_scale != 1) {
    common.push_back("--time-scale");
    common.push_back(std::to_string(config.time_scale));
  }

  // The fault proxy comes first: every other process is reached through one of its links.
  std::string proxy;
  if (config.fault_proxy) {
    auto f = start_daemon("faultproxy",
                          placed("faultproxy",
                                 with(transport_flags,
                                      {bin + "/drsim-faultproxy", "--listen",
                                       listen_host("faultproxy") + ":0", "--seed",
                                       std::to_string(config.fault_seed)})),
                          state.home + "/faultproxy", "");
    if (!f.is_ok()) return fail(f.status());
    state.processes["faultproxy"] = *f;
    proxy = f->address;
    progress("fault proxy        pid " + std::to_string(f->pid) + "  " + proxy +
             "  (every link below goes through it)" + where("faultproxy"));
  }
  // A link from -> to in front of `upstream`; without the proxy, the upstream itself.
  auto link = [&](const std::string& name, const std::string& from, const std::string& to,
                  const std::string& upstream) -> Result<std::string> {
    if (proxy.empty()) return upstream;
    auto listen = fp_add_link(proxy, name, upstream);
    if (!listen.is_ok()) return listen.status();
    state.links[name] = {from, to, *listen, upstream};
    expect_identity_at(*listen, to);
    return *listen;
  };

  std::vector<std::string> sec = {*sec_bin, "--name", "secondary", "--peer-name",
                                  "primary", "--listen",
                                  listen_at("secondary", config.secondary_listen), "--role",
                                  "standby", "--data-dir", state.home + "/secondary/data",
                                  "--http-listen", "127.0.0.1:0"};
  sec.insert(sec.end(), common.begin(), common.end());
  auto s = start_daemon("secondary", placed("secondary", sec), state.home + "/secondary",
                        state.home + "/secondary/data");
  if (!s.is_ok()) return fail(s.status());
  state.processes["secondary"] = *s;
  progress("secondary region   pid " + std::to_string(s->pid) + "  " + s->address + "  (" +
           role_label(s->address) + ")" + where("secondary"));

  auto to_secondary = link("repl.primary-secondary", "primary", "secondary", s->address);
  if (!to_secondary.is_ok()) return fail(to_secondary.status());
  std::vector<std::string> pri = {*pri_bin, "--name", "primary", "--peer-name",
                                  "secondary", "--listen",
                                  listen_at("primary", config.primary_listen), "--role",
                                  "active", "--peer", *to_secondary, "--data-dir",
                                  state.home + "/primary/data", "--http-listen", "127.0.0.1:0"};
  pri.insert(pri.end(), common.begin(), common.end());
  auto p = start_daemon("primary", placed("primary", pri), state.home + "/primary",
                        state.home + "/primary/data");
  if (!p.is_ok()) return fail(p.status());
  state.processes["primary"] = *p;
  progress("primary region     pid " + std::to_string(p->pid) + "  " + p->address + "  (" +
           role_label(p->address) + ")" + where("primary"));

  // The secondary learns where the primary is (for status, and re-protect).
  auto to_primary = link("repl.secondary-primary", "secondary", "primary", p->address);
  if (!to_primary.is_ok()) return fail(to_primary.status());
  if (Status st = region_set_peer(s->address, *to_primary); !st.is_ok()) return fail(st);
  state.processes["secondary"].argv.push_back("--peer");
  state.processes["secondary"].argv.push_back(*to_primary);

  std::vector<std::string> tm = {bin + "/drsim-trafficmgr",
                                 "--listen", listen_at("trafficmgr", config.trafficmgr_listen),
                                 "--profile", config.profile,
                                 "--probe-interval-ms", std::to_string(config.probe_interval_ms),
                                 "--probe-timeout-ms", std::to_string(config.probe_timeout_ms),
                                 "--tolerated-failures", std::to_string(config.tolerated_failures),
                                 "--ttl-ms", std::to_string(config.ttl_ms),
                                 // DNS and the dashboard on loopback ports drsim chooses; each
                                 // region's DNS answer is a loopback address of its own, so a
                                 // dig tells them apart (every region listens on 127.0.0.1).
                                 "--dns-listen", "127.0.0.1:0",
                                 "--dns-name", config.profile + ".trafficmanager.test",
                                 "--dns-address", "primary=" + std::string(kPrimaryDnsAddress),
                                 "--dns-address",
                                 "secondary=" + std::string(kSecondaryDnsAddress),
                                 "--dashboard-listen", "127.0.0.1:0",
                                 "--state-dir", state.home + "/trafficmgr",
                                 "--region-admin", "primary=" + p->address,
                                 "--region-admin", "secondary=" + s->address};
  tm.insert(tm.end(), transport_flags.begin(), transport_flags.end());
  for (const auto* r : {&*p, &*s}) {
    std::string name = r == &*p ? "primary" : "secondary";
    auto clients = link("client." + name, "clients", name, r->address);
    auto probes = link("probe." + name, "trafficmgr", name, r->address);
    if (!clients.is_ok()) return fail(clients.status());
    if (!probes.is_ok()) return fail(probes.status());
    tm.insert(tm.end(), {"--endpoint", name + "=" + *clients, "--probe-address",
                         name + "=" + *probes});
  }
  auto t = start_daemon("trafficmgr", placed("trafficmgr", tm), state.home + "/trafficmgr", "");
  if (!t.is_ok()) return fail(t.status());
  state.processes["trafficmgr"] = *t;
  progress("traffic manager    pid " + std::to_string(t->pid) + "  " + t->address +
           "  (profile " + config.profile + ", priority routing)" + where("trafficmgr"));
  // The Traffic Manager is also the lease witness of the pair: each region reaches it on a
  // link of its own (witness.<region>), so a partition can cut a region off from it.
  for (const char* name : {"primary", "secondary"}) {
    auto witness = link(std::string("witness.") + name, name, "trafficmgr", t->address);
    if (!witness.is_ok()) return fail(witness.status());
    if (Status st = region_set_witness(state.processes[name].address, *witness); !st.is_ok()) {
      return fail(st);
    }
    state.processes[name].argv.push_back("--witness");
    state.processes[name].argv.push_back(*witness);
  }
  if (!proxy.empty()) {
    progress("links              " + std::to_string(state.links.size()) +
             " (client.*, probe.*, repl.*, witness.*): `drsim status` lists them");
  }
  progress("lease              " + std::to_string(config.lease_ms) + " ms, renewed every " +
           std::to_string(config.lease_renew_interval_ms) +
           " ms through the peer or the Traffic Manager (witness)");
  progress("  " + dns_line(state));
  progress("  " + dashboard_line(state));
  progress("transport          " + transport_line(state));
  if (layout) {
    progress("  (DNS, dashboard and the regions' HTTP listen on 127.0.0.1 inside their "
             "namespace: `ip netns exec <netns> ...` reaches them)");
  }
  if (Status st = save_state(state); !st.is_ok()) return fail(st);

  // Healthy = the Traffic Manager routes to the active region, has probed it Online (not only
  // routing to it by priority while every endpoint is still being checked: the first `drsim
  // status` would say CheckingEndpoint), and, when that region protects its peer, its
  // replication stream is connected. The active region is whichever the daemons' durable state
  // says (after a failover and re-protect, the secondary), not always the primary.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string active;
    bool replicating = false;
    bool protects = false;
    for (const auto* r : {&*p, &*s}) {
      auto st = region_status(r->address);
      if (!st.is_ok() || st->role() != drsim::v1::ROLE_ACTIVE) continue;
      active = st->region();
      protects = st->protection() == drsim::v1::REGION_PROTECTION_PROTECTED ||
                 st->protection() == drsim::v1::REGION_PROTECTION_RESYNCING;
      replicating = st->replication_connected();
    }
    auto r = tm_resolve(t->address, config.profile);
    bool online = false;
    if (auto eps = tm_endpoints(t->address, config.profile); eps.is_ok()) {
      for (const auto& e : eps->endpoints()) {
        online |= e.name() == active && e.status() == drsim::v1::ENDPOINT_ONLINE;
      }
    }
    if (r.is_ok() && !r->fail_open() && !active.empty() && r->endpoint() == active && online &&
        (replicating || !protects)) {
      std::string peer = active == "primary" ? "secondary" : "primary";
      progress("healthy: Traffic Manager routes to " + active + "; " +
               (replicating ? "replication " + active + " -> " + peer + " connected"
                            : active + " does not replicate to " + peer +
                                  " (failed over; run `drsim reprotect`)"));
      return state;
    }
    last = !r.is_ok()       ? r.status().message()
           : active.empty() ? std::string("no region is active yet")
                            : "routing=" + r->endpoint() + (r->fail_open() ? " (fail open)" : "") +
                                  " active=" + active + " online=" + (online ? "yes" : "no") +
                                  " replication_connected=" + (replicating ? "yes" : "no");
    std::this_thread::sleep_for(20ms);
  }
  return fail(Status(StatusCode::kDeadlineExceeded,
                     "topology did not become healthy within 15 s (" + last + ")"));
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
  return "dns       " + dns + "  name " + state.config.profile + ".trafficmanager.test  (primary " +
         kPrimaryDnsAddress + ", secondary " + kSecondaryDnsAddress + "; dig @" +
         dns.substr(0, dns.rfind(':')) + " -p " + dns.substr(dns.rfind(':') + 1) + " " +
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
