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
#include "cli/yaml_fields.h"
#include "cli/rpc_clients.h"

namespace drsim::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const char* default_topology_yaml() {
  return R"(# drsim's default topology: two regions on loopback and a Traffic Manager.
regions:
  primary:   { listen: "127.0.0.1:0" }
  secondary: { listen: "127.0.0.1:0" }
workloads:
  - { name: vm-web, mode: sync }
  - { name: vm-db,  mode: sync }
traffic_manager:
  listen: "127.0.0.1:0"
  profile: drsim
  probe_interval_ms: 100
  probe_timeout_ms: 50
  tolerated_failures: 2
  ttl_ms: 500
# Every gRPC link is mutual TLS with the certificates `drsim up` makes under <home>/tls
# (docs/security.md); `insecure` is plain TCP on loopback, for tests.
security: { transport: mtls }
)";
}

model::LeaseTimes TopologyConfig::lease_times() const {
  model::LeaseTimes t;
  t.lease = std::chrono::milliseconds(lease_ms);
  t.renew_interval = std::chrono::milliseconds(lease_renew_interval_ms);
  return t;
}

uint64_t TopologyConfig::lease_wait_ms() const {
  return static_cast<uint64_t>(
      std::chrono::ceil<std::chrono::milliseconds>(lease_times().grantor_belief()).count());
}

std::string TopologyConfig::workloads_flag() const {
  std::string out;
  for (const auto& w : workloads) {
    if (!out.empty()) out += ",";
    out += w.name + ":" + region::replication_mode_name(w.mode);
  }
  return out;
}

Result<std::vector<std::string>> workloads_args(const TopologyConfig& config,
                                                const std::string& home) {
  if (config.workloads.size() <= kWorkloadsOnArgv) return {{"--workloads", config.workloads_flag()}};
  std::string path = home + "/workloads.txt";
  std::string text;
  for (const auto& w : config.workloads) {
    text += w.name + ":" + region::replication_mode_name(w.mode) + "\n";
  }
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return unavailable("cannot write the workload list " + path);
  return {{"--workloads-file", path}};
}

namespace {
Result<TopologyConfig> parse_topology_fields(const YAML::Node& root, const ConfigError& err);
}  // namespace

Result<TopologyConfig> parse_topology_config(const std::string& text, const std::string& source) {
  auto root = load_yaml(text, source);
  if (!root.is_ok()) return root.status();
  return parse_topology_node(*root, ConfigError(source));
}

Result<TopologyConfig> parse_topology_node(const YAML::Node& root, const ConfigError& err) {
  try {
    return parse_topology_fields(root, err);
  } catch (const YAML::Exception& e) {
    return err.at("", root, std::string("unreadable value: ") + e.what());
  }
}

namespace {
Result<TopologyConfig> parse_topology_fields(const YAML::Node& root, const ConfigError& err) {
  TopologyConfig cfg;
  if (!root || root.IsNull()) return cfg;
  if (Status s = check_keys(err, "", root,
                            {"regions", "workloads", "traffic_manager", "storage", "testing",
                             "fault_proxy", "site_recovery", "replication", "security",
                             "placement"});
      !s.is_ok()) {
    return s;
  }
  if (auto fp = root["fault_proxy"]) {
    if (Status s = check_keys(err, "fault_proxy", fp, {"enabled", "seed"}); !s.is_ok()) return s;
    if (Status s = read_bool(err, "fault_proxy.enabled", fp["enabled"], &cfg.fault_proxy);
        !s.is_ok())
      return s;
    if (Status s = read_uint(err, "fault_proxy.seed", fp["seed"], 0, UINT64_MAX, &cfg.fault_seed);
        !s.is_ok())
      return s;
  }
  if (auto sec = root["security"]) {
    if (Status s = check_keys(err, "security", sec, {"transport"}); !s.is_ok()) return s;
    if (auto t = sec["transport"]) {
      if (t.Scalar() == "mtls") {
        cfg.transport = net::TransportSecurity::kMutualTls;
      } else if (t.Scalar() == "insecure") {
        cfg.transport = net::TransportSecurity::kInsecure;
      } else {
        return err.at("security.transport", t, "'" + t.Scalar() + "' must be mtls or insecure");
      }
    }
  }
  if (auto pl = root["placement"]) {
    // `placement: netns`, or `placement: {kind: netns, subnet: 10.213.0.0/24}`.
    const YAML::Node kind = pl.IsMap() ? pl["kind"] : pl;
    if (pl.IsMap()) {
      if (Status s = check_keys(err, "placement", pl, {"kind", "subnet"}); !s.is_ok()) return s;
      if (auto sn = pl["subnet"]) {
        if (!sn.IsScalar()) return err.at("placement.subnet", sn, "must be a.b.c.d/n");
        auto net = model::parse_ipv4_net(sn.Scalar(), "placement.subnet");
        if (!net.is_ok()) {
          return err.at("placement.subnet", sn,
                        net.status().message().substr(std::string("placement.subnet: ").size()));
        }
        cfg.netns_subnet = net->text();
      }
    }
    cfg.subnet_where =
        err.locate("placement.subnet", pl.IsMap() && pl["subnet"] ? pl["subnet"] : pl);
    if (!kind || !kind.IsScalar() || (kind.Scalar() != "netns" && kind.Scalar() != "loopback")) {
      return err.at(pl.IsMap() ? "placement.kind" : "placement", kind ? kind : pl,
                    "must be loopback or netns");
    }
    cfg.placement = kind.Scalar() == "netns" ? Placement::kNetns : Placement::kLoopback;
    cfg.placement_where = err.locate("placement", pl);
  }
  if (auto regions = root["regions"]) {
    if (Status s = check_keys(err, "regions", regions, {"primary", "secondary"}); !s.is_ok()) return s;
    for (const char* name : {"primary", "secondary"}) {
      auto r = regions[name];
      if (!r) continue;
      std::string field = std::string("regions.") + name;
      if (Status s = check_keys(err, field, r, {"listen"}); !s.is_ok()) return s;
      std::string* listen = std::string(name) == "primary" ? &cfg.primary_listen
                                                           : &cfg.secondary_listen;
      if (Status s = read_listen(err, field + ".listen", r["listen"], listen); !s.is_ok()) return s;
    }
  }
  if (auto wl = root["workloads"]) {
    if (!wl.IsSequence() || wl.size() == 0) {
      return err.at("workloads", wl, "must be a non-empty list of {name, mode}");
    }
    cfg.workloads.clear();
    std::set<std::string> seen;
    for (size_t i = 0; i < wl.size(); ++i) {
      std::string field = "workloads[" + std::to_string(i) + "]";
      auto w = wl[i];
      if (Status s = check_keys(err, field, w, {"name", "mode"}); !s.is_ok()) return s;
      region::WorkloadSpec spec;
      if (!w["name"] || !w["name"].IsScalar()) return err.at(field + ".name", w, "is required");
      spec.name = w["name"].Scalar();
      if (Status s = region::validate_workload_name(field + ".name", spec.name); !s.is_ok()) {
        return err.at(field + ".name", w["name"], s.message().substr(field.size() + 7));
      }
      if (!seen.insert(spec.name).second) {
        return err.at(field + ".name", w["name"], "workload '" + spec.name + "' is listed twice");
      }
      if (auto m = w["mode"]) {
        if (m.Scalar() == "sync") {
          spec.mode = region::ReplicationMode::kSync;
        } else if (m.Scalar() == "async") {
          spec.mode = region::ReplicationMode::kAsync;
        } else {
          return err.at(field + ".mode", m, "'" + m.Scalar() + "' must be sync or async");
        }
      }
      cfg.workloads.push_back(spec);
    }
    if (cfg.workloads.size() > kMaxTopologyWorkloads) {
      return err.at("workloads", wl,
                    "at most " + std::to_string(kMaxTopologyWorkloads) + " workloads");
    }
  }
  if (auto t = root["testing"]) {
    // Deliberately broken variants, for proving that drills and the checker
    // catch what they break. Never set in a real drill.
    if (Status s = check_keys(err, "testing", t,
                              {"ack_sync_writes_before_standby", "ack_writes_without_lease"});
        !s.is_ok()) {
      return s;
    }
    if (auto f = t["ack_writes_without_lease"]) {
      if (f.Scalar() != "true" && f.Scalar() != "false") {
        return err.at("testing.ack_writes_without_lease", f, "must be true or false");
      }
      cfg.unsafe_no_lease = f.Scalar() == "true";
    }
    if (auto f = t["ack_sync_writes_before_standby"]) {
      if (f.Scalar() != "true" && f.Scalar() != "false") {
        return err.at("testing.ack_sync_writes_before_standby", f, "must be true or false");
      }
      cfg.unsafe_ack_before_standby = f.Scalar() == "true";
    }
  }
  if (auto rep = root["replication"]) {
    if (Status s = check_keys(err, "replication", rep, {"lease_ms", "lease_renew_interval_ms"});
        !s.is_ok()) {
      return s;
    }
    if (Status s = read_uint(err, "replication.lease_ms", rep["lease_ms"], 10, 60'000,
                             &cfg.lease_ms);
        !s.is_ok())
      return s;
    cfg.lease_renew_interval_ms = rep["lease_renew_interval_ms"] ? cfg.lease_renew_interval_ms
                                                                 : std::max<uint64_t>(1, cfg.lease_ms / 4);
    if (Status s = read_uint(err, "replication.lease_renew_interval_ms",
                             rep["lease_renew_interval_ms"], 1, 30'000,
                             &cfg.lease_renew_interval_ms);
        !s.is_ok())
      return s;
    if (Status s = cfg.lease_times().validate("replication"); !s.is_ok()) {
      return err.at("replication", rep, s.message().substr(std::string("replication.").size()));
    }
  }
  if (auto sr = root["site_recovery"]) {
    if (Status s = check_keys(err, "site_recovery", sr, {"time_scale"}); !s.is_ok()) return s;
    if (Status s = read_uint(err, "site_recovery.time_scale", sr["time_scale"], 1, 1'000'000,
                             &cfg.time_scale);
        !s.is_ok())
      return s;
  }
  if (auto st = root["storage"]) {
    if (Status s = check_keys(err, "storage", st, {"fsync"}); !s.is_ok()) return s;
    if (auto f = st["fsync"]) {
      if (f.Scalar() != "true" && f.Scalar() != "false") {
        return err.at("storage.fsync", f, "must be true or false");
      }
      cfg.fsync = f.Scalar() == "true";
    }
  }
  if (auto tm = root["traffic_manager"]) {
    const std::string f = "traffic_manager";
    if (Status s = check_keys(err, f, tm,
                              {"listen", "profile", "probe_interval_ms", "probe_timeout_ms",
                               "tolerated_failures", "ttl_ms"});
        !s.is_ok()) {
      return s;
    }
    if (Status s = read_listen(err, f + ".listen", tm["listen"], &cfg.trafficmgr_listen); !s.is_ok())
      return s;
    if (auto p = tm["profile"]) {
      if (Status s = region::validate_workload_name(f + ".profile", p.Scalar()); !s.is_ok()) {
        return err.at(f + ".profile", p, s.message().substr(f.size() + 10));
      }
      cfg.profile = p.Scalar();
    }
    if (Status s = read_uint(err, f + ".probe_interval_ms", tm["probe_interval_ms"], 1, 3'600'000,
                             &cfg.probe_interval_ms);
        !s.is_ok())
      return s;
    if (Status s = read_uint(err, f + ".probe_timeout_ms", tm["probe_timeout_ms"], 1, 3'600'000,
                             &cfg.probe_timeout_ms);
        !s.is_ok())
      return s;
    if (Status s = read_uint(err, f + ".tolerated_failures", tm["tolerated_failures"], 0, 9,
                             &cfg.tolerated_failures);
        !s.is_ok())
      return s;
    // Real DNS TTLs are 0 to 2,147,483,647 s.
    if (Status s = read_uint(err, f + ".ttl_ms", tm["ttl_ms"], 0, 2'147'483'647'000ull, &cfg.ttl_ms);
        !s.is_ok())
      return s;
    if (cfg.probe_timeout_ms > cfg.probe_interval_ms) {
      return err.at(f + ".probe_timeout_ms", tm["probe_timeout_ms"],
                    std::to_string(cfg.probe_timeout_ms) + " must not exceed probe_interval_ms " +
                        std::to_string(cfg.probe_interval_ms));
    }
  }
  if (Status s = check_placement_transport(cfg, err.locate("security.transport", root["security"]));
      !s.is_ok()) {
    return s;
  }
  return cfg;
}

}  // namespace

Status override_placement(TopologyConfig& config, const std::string& placement,
                          const std::string& subnet) {
  if (placement == "netns") config.placement = Placement::kNetns;
  if (placement == "loopback") config.placement = Placement::kLoopback;
  if (!placement.empty()) {
    config.placement_where = "--placement";
    config.subnet_where = "--placement netns: subnet " + config.netns_subnet;
  }
  if (!subnet.empty()) {
    if (config.placement != Placement::kNetns) {
      return invalid_argument("--subnet: applies to --placement netns only");
    }
    auto net = model::parse_ipv4_net(subnet, "--subnet");
    if (!net.is_ok()) return net.status();
    config.netns_subnet = net->text();
    config.subnet_where = "--subnet";
  }
  return check_placement_transport(config, "--placement");
}

Status check_placement_transport(const TopologyConfig& config, const std::string& field) {
  if (config.placement == Placement::kNetns &&
      config.transport == net::TransportSecurity::kInsecure) {
    return invalid_argument(field +
                            ": insecure (plain TCP) is loopback only, and placement: netns "
                            "listens on a bridge: use transport mtls (the default)");
  }
  return Status::ok();
}

Result<TopologyConfig> load_topology_config(const std::string& path) {
  auto text = read_text_file(path, "topology file");
  if (!text.is_ok()) return text.status();
  return parse_topology_config(*text, path);
}

// ---------------------------------------------------------------- state

namespace {

json config_to_json(const TopologyConfig& c) {
  json wl = json::array();
  for (const auto& w : c.workloads) {
    wl.push_back({{"name", w.name}, {"mode", region::replication_mode_name(w.mode)}});
  }
  return {{"workloads", wl},
          {"profile", c.profile},
          {"probe_interval_ms", c.probe_interval_ms},
          {"probe_timeout_ms", c.probe_timeout_ms},
          {"tolerated_failures", c.tolerated_failures},
          {"ttl_ms", c.ttl_ms},
          {"fsync", c.fsync},
          {"fault_proxy", c.fault_proxy},
          {"fault_seed", c.fault_seed},
          {"unsafe_ack_before_standby", c.unsafe_ack_before_standby},
          {"lease_ms", c.lease_ms},
          {"lease_renew_interval_ms", c.lease_renew_interval_ms},
          {"unsafe_no_lease", c.unsafe_no_lease},
          {"transport", net::transport_security_name(c.transport)},
          {"placement", c.placement == Placement::kNetns ? "netns" : "loopback"},
          {"netns_subnet", c.netns_subnet}};
}

json direction_to_json(const model::KernelDirectionFaults& d) {
  json j = json::object();
  if (d.partition) j["partition"] = *d.partition == model::PartitionMode::kDrop ? "drop" : "blackhole";
  if (d.loss_percent) j["loss_percent"] = d.loss_percent;
  if (d.rate) j["rate"] = {{"bytes_per_second", d.rate->bytes_per_second},
                           {"burst_bytes", d.rate->burst_bytes}};
  if (d.delay) {
    j["delay"] = {{"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                     d.delay->latency).count()},
                  {"jitter_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                    d.delay->jitter).count()}};
  }
  return j;
}

model::KernelDirectionFaults direction_from_json(const json& j) {
  model::KernelDirectionFaults d;
  if (j.contains("partition")) {
    d.partition = j.at("partition") == "drop" ? model::PartitionMode::kDrop
                                              : model::PartitionMode::kBlackhole;
  }
  d.loss_percent = j.value("loss_percent", 0u);
  if (j.contains("rate")) {
    d.rate = model::BandwidthFault{j.at("rate").at("bytes_per_second"),
                                   j.at("rate").at("burst_bytes")};
  }
  if (j.contains("delay")) {
    d.delay = model::LatencyFault{
        std::chrono::milliseconds(j.at("delay").at("latency_ms").get<int64_t>()),
        std::chrono::milliseconds(j.at("delay").at("jitter_ms").get<int64_t>())};
  }
  return d;
}

json netns_to_json(const NetnsState& n) {
  json members = json::array();
  for (const auto& m : n.layout.members) {
    members.push_back({{"name", m.name}, {"netns", m.netns}, {"host_veth", m.host_veth},
                       {"address", m.address}});
  }
  json faults = json::object();
  for (const auto& [link, f] : n.kernel_faults) {
    faults[link] = {{"up", direction_to_json(f.up)}, {"down", direction_to_json(f.down)}};
  }
  return {{"tag", n.layout.tag},
          {"subnet", n.layout.subnet.text()},
          {"bridge", n.layout.bridge},
          {"host_address", n.layout.host_address},
          {"members", members},
          {"kernel_faults", faults},
          {"tc_roots", n.tc_roots}};
}

NetnsState netns_from_json(const json& j) {
  NetnsState n;
  n.layout.tag = j.at("tag");
  auto subnet = model::parse_ipv4_net(j.at("subnet").get<std::string>(), "netns.subnet");
  if (subnet.is_ok()) n.layout.subnet = *subnet;
  n.layout.bridge = j.at("bridge");
  n.layout.host_address = j.at("host_address");
  for (const auto& m : j.at("members")) {
    n.layout.members.push_back({m.at("name"), m.at("netns"), m.at("host_veth"), m.at("address")});
  }
  const json faults = j.value("kernel_faults", json::object());
  for (const auto& [link, f] : faults.items()) {
    n.kernel_faults[link] = {direction_from_json(f.at("up")), direction_from_json(f.at("down"))};
  }
  n.tc_roots = j.value("tc_roots", std::set<std::string>{});
  return n;
}

TopologyConfig config_from_json(const json& j) {
  TopologyConfig c;
  c.workloads.clear();
  for (const auto& w : j.at("workloads")) {
    c.workloads.push_back({w.at("name").get<std::string>(),
                           w.at("mode").get<std::string>() == "sync"
                               ? region::ReplicationMode::kSync
                               : region::ReplicationMode::kAsync});
  }
  c.profile = j.at("profile");
  c.probe_interval_ms = j.at("probe_interval_ms");
  c.probe_timeout_ms = j.at("probe_timeout_ms");
  c.tolerated_failures = j.at("tolerated_failures");
  c.ttl_ms = j.at("ttl_ms");
  c.fsync = j.value("fsync", false);
  c.unsafe_ack_before_standby = j.value("unsafe_ack_before_standby", false);
  c.fault_proxy = j.value("fault_proxy", false);
  c.fault_seed = j.value("fault_seed", uint64_t{1});
  c.lease_ms = j.value("lease_ms", uint64_t{1000});
  c.lease_renew_interval_ms = j.value("lease_renew_interval_ms", uint64_t{250});
  c.unsafe_no_lease = j.value("unsafe_no_lease", false);
  // A topology.json written before mTLS started its daemons without it.
  c.transport = j.value("transport", "insecure") == "mtls" ? net::TransportSecurity::kMutualTls
                                                            : net::TransportSecurity::kInsecure;
  c.placement = j.value("placement", "loopback") == "netns" ? Placement::kNetns
                                                            : Placement::kLoopback;
  c.netns_subnet = j.value("netns_subnet", std::string(model::kDefaultNetnsSubnet));
  return c;
}

}  // namespace

Status save_state(const TopologyState& state) {
  json procs = json::object();
  for (const auto& [name, p] : state.processes) {
    procs[name] = {{"pid", p.pid},         {"start_ticks", p.start_ticks},
                   {"address", p.address}, {"argv", p.argv},
                   {"log", p.log},         {"data_dir", p.data_dir}};
    for (const auto& [key, address] : p.more_addresses) procs[name][key] = address;
  }
  json links = json::object();
  for (const auto& [name, l] : state.links) {
    links[name] = {{"from", l.from}, {"to", l.to}, {"listen", l.listen}, {"upstream", l.upstream}};
  }
  json j = {{"home", state.home},
            {"config", config_to_json(state.config)},
            {"processes", procs},
            {"links", links}};
  if (state.netns) j["netns"] = netns_to_json(*state.netns);
  if (!state.attached_from.empty()) j["attached_from"] = state.attached_from;
  std::string tmp = state.state_file() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.flush()) return unavailable("cannot write " + tmp);
  }
  fs::rename(tmp, state.state_file());
  return Status::ok();
}

std::string process_identity(const std::string& name, const std::vector<std::string>& argv) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--tls-identity") return argv[i + 1];
  }
  return name;
}

Result<TopologyState> load_state(const std::string& home) {
  TopologyState state;
  state.home = fs::absolute(home).lexically_normal().string();
  std::ifstream in(state.state_file());
  if (!in) {
    return not_found("no topology is up in " + state.home +
                               " (run `drsim up --home " + home + "` first)");
  }
  try {
    json j = json::parse(in);
    state.config = config_from_json(j.at("config"));
    for (const auto& [name, p] : j.at("processes").items()) {
      ProcessInfo info;
      info.pid = p.at("pid");
      info.start_ticks = p.value("start_ticks", uint64_t{0});
      info.address = p.at("address");
      info.argv = p.at("argv").get<std::vector<std::string>>();
      info.log = p.at("log");
      info.data_dir = p.value("data_dir", "");
      for (const char* key : {"dns_address", "dashboard_address", "http_address"}) {
        if (p.contains(key)) info.more_addresses[key] = p.at(key).get<std::string>();
      }
      state.processes[name] = info;
    }
    if (j.contains("netns")) state.netns = netns_from_json(j.at("netns"));
    state.attached_from = j.value("attached_from", "");
    if (j.contains("links")) {
      for (const auto& [name, l] : j.at("links").items()) {
        state.links[name] = {l.at("from"), l.at("to"), l.at("listen"), l.at("upstream")};
      }
    }
  } catch (const std::exception& e) {
    return invalid_argument(state.state_file() + ": corrupt topology state: " + e.what());
  }
  // Every command that works on this topology dials its daemons as its operator, and each
  // address as the daemon that listens there.
  if (Status s = use_topology_transport(state.home, state.config.transport); !s.is_ok()) {
    return s;
  }
  for (const auto& [name, p] : state.processes) {
    expect_identity_at(p.address, process_identity(name, p.argv));
  }
  for (const auto& [name, l] : state.links) expect_identity_at(l.listen, l.to);
  return state;
}

// ---------------------------------------------------------------- up / down

Result<ProcessInfo> start_daemon(const std::string& name, std::vector<std::string> argv,
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
                                 // DNS and the dashboard on ephemeral loopback ports; each
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

  // Healthy = the Traffic Manager routes to the active region and, when that region protects
  // its peer, its replication stream is connected. The active region is whichever the daemons'
  // durable state says (after a failover and re-protect, the secondary), not always the primary.
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
    if (r.is_ok() && !r->fail_open() && !active.empty() && r->endpoint() == active &&
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
                                  " active=" + active +
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
