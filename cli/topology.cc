// Topology configuration: the default topology file, TopologyConfig's derived figures and
// parsing a topology file (cli/topology.h). State in topology_state.cc, up/down in
// topology_up.cc.
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

// ---- One parser per top-level section of a topology file, `node` being its value.

// fault_proxy: {enabled: true, seed: 1}
Status parse_fault_proxy(const ConfigError& err, const YAML::Node& fp, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "fault_proxy", fp, {"enabled", "seed"}); !s.is_ok()) return s;
  if (Status s = read_bool(err, "fault_proxy.enabled", fp["enabled"], &cfg->fault_proxy);
      !s.is_ok())
    return s;
  return read_uint(err, "fault_proxy.seed", fp["seed"], 0, UINT64_MAX, &cfg->fault_seed);
}

// security: {transport: mtls | insecure}
Status parse_security(const ConfigError& err, const YAML::Node& sec, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "security", sec, {"transport"}); !s.is_ok()) return s;
  if (auto t = sec["transport"]) {
    if (t.Scalar() == "mtls") {
      cfg->transport = net::TransportSecurity::kMutualTls;
    } else if (t.Scalar() == "insecure") {
      cfg->transport = net::TransportSecurity::kInsecure;
    } else {
      return err.at("security.transport", t, "'" + t.Scalar() + "' must be mtls or insecure");
    }
  }
  return Status::ok();
}

// `placement: netns`, or `placement: {kind: netns, subnet: 10.213.0.0/24}`.
Status parse_placement(const ConfigError& err, const YAML::Node& pl, TopologyConfig* cfg) {
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
      cfg->netns_subnet = net->text();
    }
  }
  cfg->subnet_where =
      err.locate("placement.subnet", pl.IsMap() && pl["subnet"] ? pl["subnet"] : pl);
  if (!kind || !kind.IsScalar() || (kind.Scalar() != "netns" && kind.Scalar() != "loopback")) {
    return err.at(pl.IsMap() ? "placement.kind" : "placement", kind ? kind : pl,
                  "must be loopback or netns");
  }
  cfg->placement = kind.Scalar() == "netns" ? Placement::kNetns : Placement::kLoopback;
  cfg->placement_where = err.locate("placement", pl);
  return Status::ok();
}

// regions: {primary: {listen: ADDRESS}, secondary: {listen: ADDRESS}}
Status parse_regions(const ConfigError& err, const YAML::Node& regions, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "regions", regions, {"primary", "secondary"}); !s.is_ok())
    return s;
  for (const char* name : {"primary", "secondary"}) {
    auto r = regions[name];
    if (!r) continue;
    std::string field = std::string("regions.") + name;
    if (Status s = check_keys(err, field, r, {"listen"}); !s.is_ok()) return s;
    std::string* listen =
        std::string(name) == "primary" ? &cfg->primary_listen : &cfg->secondary_listen;
    if (Status s = read_listen(err, field + ".listen", r["listen"], listen); !s.is_ok()) return s;
  }
  return Status::ok();
}

// workloads[i]: {name: NAME, mode: sync | async}; `seen` holds the names before it.
Result<region::WorkloadSpec> parse_workload(const ConfigError& err, const std::string& field,
                                            const YAML::Node& w, std::set<std::string>* seen) {
  if (Status s = check_keys(err, field, w, {"name", "mode"}); !s.is_ok()) return s;
  region::WorkloadSpec spec;
  if (!w["name"] || !w["name"].IsScalar()) return err.at(field + ".name", w, "is required");
  spec.name = w["name"].Scalar();
  if (Status s = region::validate_workload_name(field + ".name", spec.name); !s.is_ok()) {
    return err.at(field + ".name", w["name"], s.message().substr(field.size() + 7));
  }
  if (!seen->insert(spec.name).second) {
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
  return spec;
}

// workloads: a non-empty list of {name, mode}.
Status parse_workloads(const ConfigError& err, const YAML::Node& wl, TopologyConfig* cfg) {
  if (!wl.IsSequence() || wl.size() == 0) {
    return err.at("workloads", wl, "must be a non-empty list of {name, mode}");
  }
  cfg->workloads.clear();
  std::set<std::string> seen;
  for (size_t i = 0; i < wl.size(); ++i) {
    auto spec = parse_workload(err, "workloads[" + std::to_string(i) + "]", wl[i], &seen);
    if (!spec.is_ok()) return spec.status();
    cfg->workloads.push_back(*spec);
  }
  if (cfg->workloads.size() > kMaxTopologyWorkloads) {
    return err.at("workloads", wl,
                  "at most " + std::to_string(kMaxTopologyWorkloads) + " workloads");
  }
  return Status::ok();
}

// testing: deliberately broken variants, for proving that drills and the checker catch what
// they break. Never set in a real drill.
Status parse_testing(const ConfigError& err, const YAML::Node& t, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "testing", t,
                            {"ack_sync_writes_before_standby", "ack_writes_without_lease"});
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_bool(err, "testing.ack_writes_without_lease", t["ack_writes_without_lease"],
                           &cfg->unsafe_no_lease);
      !s.is_ok())
    return s;
  return read_bool(err, "testing.ack_sync_writes_before_standby",
                   t["ack_sync_writes_before_standby"], &cfg->unsafe_ack_before_standby);
}

// replication: {lease_ms, lease_renew_interval_ms (default lease_ms / 4)}
Status parse_replication(const ConfigError& err, const YAML::Node& rep, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "replication", rep, {"lease_ms", "lease_renew_interval_ms"});
      !s.is_ok()) {
    return s;
  }
  if (Status s =
          read_uint(err, "replication.lease_ms", rep["lease_ms"], 10, 60'000, &cfg->lease_ms);
      !s.is_ok())
    return s;
  cfg->lease_renew_interval_ms = rep["lease_renew_interval_ms"]
                                     ? cfg->lease_renew_interval_ms
                                     : std::max<uint64_t>(1, cfg->lease_ms / 4);
  if (Status s =
          read_uint(err, "replication.lease_renew_interval_ms", rep["lease_renew_interval_ms"], 1,
                    30'000, &cfg->lease_renew_interval_ms);
      !s.is_ok())
    return s;
  if (Status s = cfg->lease_times().validate("replication"); !s.is_ok()) {
    return err.at("replication", rep, s.message().substr(std::string("replication.").size()));
  }
  return Status::ok();
}

// site_recovery: {time_scale: N}
Status parse_site_recovery(const ConfigError& err, const YAML::Node& sr, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "site_recovery", sr, {"time_scale"}); !s.is_ok()) return s;
  return read_uint(err, "site_recovery.time_scale", sr["time_scale"], 1, 1'000'000,
                   &cfg->time_scale);
}

// storage: {fsync: true | false}
Status parse_storage(const ConfigError& err, const YAML::Node& st, TopologyConfig* cfg) {
  if (Status s = check_keys(err, "storage", st, {"fsync"}); !s.is_ok()) return s;
  return read_bool(err, "storage.fsync", st["fsync"], &cfg->fsync);
}

// traffic_manager: {listen, profile, probe_interval_ms, probe_timeout_ms, tolerated_failures,
// ttl_ms}
Status parse_traffic_manager(const ConfigError& err, const YAML::Node& tm, TopologyConfig* cfg) {
  const std::string f = "traffic_manager";
  if (Status s = check_keys(err, f, tm,
                            {"listen", "profile", "probe_interval_ms", "probe_timeout_ms",
                             "tolerated_failures", "ttl_ms"});
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_listen(err, f + ".listen", tm["listen"], &cfg->trafficmgr_listen); !s.is_ok())
    return s;
  if (auto p = tm["profile"]) {
    if (Status s = region::validate_workload_name(f + ".profile", p.Scalar()); !s.is_ok()) {
      return err.at(f + ".profile", p, s.message().substr(f.size() + 10));
    }
    cfg->profile = p.Scalar();
  }
  if (Status s = read_uint(err, f + ".probe_interval_ms", tm["probe_interval_ms"], 1, 3'600'000,
                           &cfg->probe_interval_ms);
      !s.is_ok())
    return s;
  if (Status s = read_uint(err, f + ".probe_timeout_ms", tm["probe_timeout_ms"], 1, 3'600'000,
                           &cfg->probe_timeout_ms);
      !s.is_ok())
    return s;
  if (Status s = read_uint(err, f + ".tolerated_failures", tm["tolerated_failures"], 0, 9,
                           &cfg->tolerated_failures);
      !s.is_ok())
    return s;
  // Real DNS TTLs are 0 to 2,147,483,647 s.
  if (Status s = read_uint(err, f + ".ttl_ms", tm["ttl_ms"], 0, 2'147'483'647'000ull, &cfg->ttl_ms);
      !s.is_ok())
    return s;
  if (cfg->probe_timeout_ms > cfg->probe_interval_ms) {
    return err.at(f + ".probe_timeout_ms", tm["probe_timeout_ms"],
                  std::to_string(cfg->probe_timeout_ms) + " must not exceed probe_interval_ms " +
                      std::to_string(cfg->probe_interval_ms));
  }
  return Status::ok();
}

using SectionParser = Status (*)(const ConfigError& err, const YAML::Node& node,
                                 TopologyConfig* cfg);
struct Section {
  const char* key;
  SectionParser parse;
};
// Every section a topology file may have, in the order they are read (the first wrong one is
// the one reported).
constexpr Section kSections[] = {
    {"fault_proxy", parse_fault_proxy}, {"security", parse_security},
    {"placement", parse_placement},     {"regions", parse_regions},
    {"workloads", parse_workloads},     {"testing", parse_testing},
    {"replication", parse_replication}, {"site_recovery", parse_site_recovery},
    {"storage", parse_storage},         {"traffic_manager", parse_traffic_manager},
};

Result<TopologyConfig> parse_topology_fields(const YAML::Node& root, const ConfigError& err) {
  TopologyConfig cfg;
  if (!root || root.IsNull()) return cfg;
  std::set<std::string> keys;
  for (const auto& section : kSections) keys.insert(section.key);
  if (Status s = check_keys(err, "", root, keys); !s.is_ok()) return s;
  for (const auto& section : kSections) {
    if (auto node = root[section.key]) {
      if (Status s = section.parse(err, node, &cfg); !s.is_ok()) return s;
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

}  // namespace drsim::cli
