#include "cli/attach.h"

#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/operator_transport.h"
#include "cli/rpc_clients.h"
#include "cli/yaml_fields.h"
#include "common/config/listen_address.h"
#include "common/tls/certificates.h"

namespace drsim::cli {

namespace fs = std::filesystem;

namespace {

// The daemons an attach file names, in the order they are checked.
const char* const kDaemons[] = {"primary", "secondary", "trafficmgr"};
// The files of a `drsim certs make` directory the CLI needs: the CA and the operator's own.
std::vector<fs::path> operator_files(const fs::path& dir) {
  const tls::IdentityFiles f = tls::identity_files(dir, "operator");
  return {f.ca_cert, f.cert, f.key};
}

// host:port to dial: what a listen address may be, but not port 0.
Status read_dial_address(const ConfigError& err, const std::string& field, const YAML::Node& node,
                         std::string* out) {
  if (!node) return err.at(field, node, "missing: give host:port");
  if (!node.IsScalar()) return err.at(field, node, "must be host:port");
  const std::string& value = node.Scalar();
  auto at = config::parse_host_port(field, value);
  if (!at.is_ok()) return err.at(field, node, at.status().message().substr(field.size() + 2));
  if (at->port == 0) {
    return err.at(field, node, "port 0 cannot be dialled: give the port the daemon listens on");
  }
  *out = value;
  return Status::ok();
}

Status parse_daemon(const ConfigError& err, const std::string& name, const YAML::Node& node,
                    AttachedDaemon* out) {
  const std::string field = "attach." + name;
  if (!node) return err.at(field, node, "missing: where " + name + " answers ({ address: host:port })");
  const std::set<std::string> keys = name == "trafficmgr"
                                         ? std::set<std::string>{"address", "dns", "dashboard"}
                                         : std::set<std::string>{"address", "http"};
  if (Status s = check_keys(err, field, node, keys); !s.is_ok()) return s;
  if (Status s = read_dial_address(err, field + ".address", node["address"], &out->address);
      !s.is_ok()) {
    return s;
  }
  const std::pair<const char*, const char*> more[] = {
      {"http", "http_address"}, {"dns", "dns_address"}, {"dashboard", "dashboard_address"}};
  for (const auto& [key, state_key] : more) {
    if (!node[key]) continue;
    std::string address;
    if (Status s = read_dial_address(err, field + "." + key, node[key], &address); !s.is_ok()) {
      return s;
    }
    out->more_addresses[state_key] = address;
  }
  return Status::ok();
}

// The file is a mapping with an attach: section of known keys, and none of the sections only a
// topology drsim starts has.
Status check_attach_sections(const ConfigError& err, const YAML::Node& root) {
  if (!root || !root.IsMap()) return err.at("", root, "must be a mapping with an attach: section");
  YAML::Node attach = root["attach"];
  if (!attach) {
    return err.at("attach", root,
                  "missing: say where the daemons answer (attach: { primary: …, secondary: …, "
                  "trafficmgr: …, tls_dir: … })");
  }
  if (Status s = check_keys(err, "attach", attach,
                            {"primary", "secondary", "trafficmgr", "tls_dir", "timeout_ms"});
      !s.is_ok()) {
    return s;
  }
  // What only a topology drsim starts has: refused rather than silently ignored.
  for (const char* key : {"regions", "placement", "fault_proxy", "testing", "storage"}) {
    if (root[key]) {
      return err.at(key, root[key],
                    "not used when attaching: the daemons run already (their addresses are under "
                    "attach:, their own settings are theirs)");
    }
  }
  return Status::ok();
}

// The rest of the file as a topology (no link faults; workloads, when not given, taken from the
// primary at attach), and which of the daemons' timings it states.
Status read_attach_topology(const ConfigError& err, const YAML::Node& root, AttachConfig& cfg) {
  const bool workloads_given = bool(root["workloads"]);
  YAML::Node topology = YAML::Clone(root);
  topology.remove("attach");
  auto parsed = parse_topology_node(topology, err);
  if (!parsed.is_ok()) return parsed.status();
  cfg.topology = *parsed;
  cfg.topology.fault_proxy = false;  // the links are direct: no link faults
  if (!workloads_given) cfg.topology.workloads.clear();  // taken from the primary at attach
  for (const auto& [section, keys] :
       {std::pair<const char*, std::vector<const char*>>{
            "traffic_manager",
            {"probe_interval_ms", "probe_timeout_ms", "tolerated_failures", "ttl_ms"}},
        {"replication", {"lease_ms", "lease_renew_interval_ms"}}}) {
    for (const char* key : keys) {
      if (root[section] && root[section][key]) cfg.stated.insert(std::string(section) + "." + key);
    }
  }
  return Status::ok();
}

// mTLS: attach.tls_dir holds the operator's files. Plain TCP: no tls_dir, loopback only.
Status read_transport(const ConfigError& err, const YAML::Node& attach, AttachConfig& cfg) {
  const bool tls = cfg.topology.transport == net::TransportSecurity::kMutualTls;
  if (YAML::Node dir = attach["tls_dir"]; dir) {
    if (!dir.IsScalar() || dir.Scalar().empty()) return err.at("attach.tls_dir", dir, "must be a directory");
    if (!tls) {
      return err.at("attach.tls_dir", dir, "given with security.transport: insecure; drop one");
    }
    std::error_code ec;
    for (const fs::path& file : operator_files(dir.Scalar())) {
      if (!fs::is_regular_file(file, ec)) {
        return err.at("attach.tls_dir", dir,
                      dir.Scalar() + " has no " + file.filename().string() +
                          " (a directory `drsim certs make --out DIR` made: the CA and the "
                          "operator's certificate and key)");
      }
    }
    cfg.tls_dir = dir.Scalar();
  } else if (tls) {
    return err.at("attach.tls_dir", attach,
                  "missing: the operator's certificate, key and the CA (`drsim certs make`); "
                  "plain TCP needs security.transport: insecure, loopback only");
  }
  if (!tls) {
    for (const auto& [name, d] : cfg.daemons) {
      // read_dial_address parsed it
      const std::string host = config::parse_host_port(name, d.address)->host;
      if (host != "127.0.0.1" && host != "localhost") {
        return err.at("attach." + name + ".address", attach[name]["address"],
                      "plain TCP (security.transport: insecure) is loopback only: use mTLS "
                      "(attach.tls_dir)");
      }
    }
  }
  return Status::ok();
}

Result<AttachConfig> parse_attach_fields(YAML::Node root, const std::string& source) {
  const ConfigError err(source);
  if (Status s = check_attach_sections(err, root); !s.is_ok()) return s;
  YAML::Node attach = root["attach"];
  AttachConfig cfg;
  cfg.source = source;
  for (const char* name : kDaemons) {
    if (Status s = parse_daemon(err, name, attach[name], &cfg.daemons[name]); !s.is_ok()) return s;
  }
  if (Status s = read_uint(err, "attach.timeout_ms", attach["timeout_ms"], 100, 600000,
                           &cfg.timeout_ms);
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_attach_topology(err, root, cfg); !s.is_ok()) return s;
  if (Status s = read_transport(err, attach, cfg); !s.is_ok()) return s;
  return cfg;
}

Status copy_operator_files(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return unavailable("cannot create " + to + ": " + ec.message());
  fs::permissions(to, fs::perms::owner_all, ec);
  for (const fs::path& file : operator_files(from)) {
    const fs::path dst = fs::path(to) / file.filename();
    fs::copy_file(file, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return unavailable("cannot copy " + file.string() + " to " + to + ": " + ec.message());
    fs::permissions(dst, fs::perms::owner_read | fs::perms::owner_write, ec);
  }
  return Status::ok();
}

// Whether `home` holds a topology (started or attached).
bool has_state(const std::string& home) {
  std::error_code ec;
  return fs::exists(fs::path(home) / "topology.json", ec);
}

}  // namespace

Result<AttachConfig> parse_attach_config(const std::string& text, const std::string& source) {
  auto root = load_yaml(text, source);
  if (!root.is_ok()) return root.status();
  try {
    return parse_attach_fields(*root, source);
  } catch (const YAML::Exception& e) {
    return ConfigError(source).at("", *root, std::string("unreadable value: ") + e.what());
  }
}

Result<AttachConfig> load_attach_config(const std::string& path) {
  auto text = read_text_file(path, "attach file");
  if (!text.is_ok()) return text.status();
  return parse_attach_config(*text, path);
}

namespace {

// `drsim attach`, one step a method; undo() removes what a failed attach created.
class Attacher {
 public:
  Attacher(const std::string& home, const AttachConfig& config,
           const std::function<void(const std::string&)>& progress)
      : home_(home),
        config_(config),
        progress_(progress),
        deadline_(std::chrono::milliseconds(config.timeout_ms)) {
    state_.home = fs::absolute(home).lexically_normal().string();
    tls_ = tls_dir_of(state_.home);
  }

  Result<TopologyState> run() {
    if (has_state(state_.home)) {
      return failed_precondition("a topology is already up or attached in " + state_.home +
                                 ": `drsim down --home " + home_ + "` first");
    }
    std::error_code ec;
    made_home_ = !fs::exists(state_.home, ec);
    made_tls_ = !fs::exists(tls_, ec);
    if (Status s = prepare_home(); !s.is_ok()) return s;
    state_.config = config_.topology;
    for (const char* name : kDaemons) expect_identity_at(config_.daemons.at(name).address, name);
    for (const char* name : {"primary", "secondary"}) {
      if (Status s = check_region(name); !s.is_ok()) return s;
    }
    if (Status s = adopt_timings(); !s.is_ok()) return s;
    for (const char* name : kDaemons) {
      ProcessInfo p;
      p.address = config_.daemons.at(name).address;
      p.more_addresses = config_.daemons.at(name).more_addresses;
      state_.processes[name] = p;
    }
    state_.attached_from = fs::absolute(config_.source).lexically_normal().string();
    if (Status s = save_state(state_); !s.is_ok()) return undo(s);
    return state_;
  }

 private:
  // Nothing of a failed attach stays: what it created goes. Returns `why`.
  Status undo(Status why) {
    std::error_code ec;
    if (made_home_) {
      fs::remove_all(state_.home, ec);
    } else if (made_tls_) {
      fs::remove_all(tls_, ec);
    }
    return why;
  }
  // The daemon `name` is not what the attach file says it is.
  Status refused(const std::string& name, const std::string& why) {
    return undo(invalid_argument(config_.source + ": attach." + name +
                                 ".address: " + config_.daemons.at(name).address + " " + why));
  }

  // The home, the operator's certificates copied in, and the transport the CLI dials with.
  Status prepare_home() {
    std::error_code ec;
    fs::create_directories(state_.home, ec);
    if (ec) return unavailable("cannot create " + state_.home + ": " + ec.message());
    if (!config_.tls_dir.empty()) {
      if (Status s = copy_operator_files(config_.tls_dir, tls_); !s.is_ok()) return undo(s);
    }
    if (Status s = use_topology_transport(state_.home, config_.topology.transport); !s.is_ok()) {
      return undo(s);
    }
    return Status::ok();
  }

  // Region `name` answers as itself and hosts every workload (the primary's, when the file
  // lists none).
  Status check_region(const char* name) {
    const std::string& address = config_.daemons.at(name).address;
    auto st = region_status(address, false, deadline_);
    if (!st.is_ok()) {
      return refused(name, "did not answer as region '" + std::string(name) + "' within " +
                               std::to_string(config_.timeout_ms) +
                               " ms: " + st.status().message());
    }
    if (st->region() != name) {
      return refused(name, "is region '" + st->region() + "', not " + name);
    }
    if (std::string(name) == "primary" && state_.config.workloads.empty()) {
      for (const auto& w : st->workloads()) {
        state_.config.workloads.push_back({w.name(), w.mode() == drsim::v1::MODE_SYNC
                                                         ? region::ReplicationMode::kSync
                                                         : region::ReplicationMode::kAsync});
      }
    }
    std::set<std::string> hosted;
    for (const auto& w : st->workloads()) hosted.insert(w.name());
    for (const auto& w : state_.config.workloads) {
      if (!hosted.contains(w.name)) {
        return undo(invalid_argument(config_.source + ": workloads: region " + std::string(name) +
                                     " at " + address + " does not host " + w.name));
      }
    }
    progress_(std::string(name) + " answers at " + address + ": " +
              (st->role() == drsim::v1::ROLE_ACTIVE ? "active" : "standby") + " at epoch " +
              std::to_string(st->epoch()));
    return Status::ok();
  }

  // The timings the daemons run, not the file's defaults: the failover estimate and a drill's
  // RTO expectations are judged by them. One the file states and they do not run is refused.
  Status adopt_timings() {
    const std::string& tm = config_.daemons.at("trafficmgr").address;
    auto endpoints = tm_endpoints(tm, state_.config.profile);
    if (!endpoints.is_ok()) {
      return refused("trafficmgr", "did not list profile '" + state_.config.profile +
                                       "': " + endpoints.status().message());
    }
    const std::string lease_from = config_.daemons.at("primary").address;
    auto primary = region_status(lease_from, false, deadline_);
    if (!primary.is_ok())
      return refused("primary", "stopped answering: " + primary.status().message());
    if (Status s = take_timings(tm, *endpoints, lease_from, *primary); !s.is_ok()) return s;
    const TopologyConfig& cfg = state_.config;
    progress_(fmt::format(
        "trafficmgr answers at {}: profile {}, {} endpoint(s); probe every {} ms "
        "(timeout {} ms, tolerated failures {}), TTL {} ms; lease {} ms renewed "
        "every {} ms",
        tm, cfg.profile, endpoints->endpoints_size(), cfg.probe_interval_ms, cfg.probe_timeout_ms,
        cfg.tolerated_failures, cfg.ttl_ms, cfg.lease_ms, cfg.lease_renew_interval_ms));
    return Status::ok();
  }

  // Each timing the Traffic Manager at `tm` and the primary at `lease_from` run, into the config.
  Status take_timings(const std::string& tm, const drsim::v1::ListEndpointsResponse& endpoints,
                      const std::string& lease_from, const drsim::v1::GetStatusResponse& primary) {
    TopologyConfig& cfg = state_.config;
    const struct {
      const char* field;
      uint64_t runs;
      const std::string& daemon;
      std::function<void(uint64_t)> record;
      uint64_t stated;
    } timings[] = {
        {"traffic_manager.probe_interval_ms", endpoints.probe_interval_ms(), tm,
         [&](uint64_t v) { cfg.probe_interval_ms = static_cast<uint32_t>(v); },
         cfg.probe_interval_ms},
        {"traffic_manager.probe_timeout_ms", endpoints.probe_timeout_ms(), tm,
         [&](uint64_t v) { cfg.probe_timeout_ms = static_cast<uint32_t>(v); },
         cfg.probe_timeout_ms},
        {"traffic_manager.tolerated_failures", endpoints.tolerated_failures(), tm,
         [&](uint64_t v) { cfg.tolerated_failures = static_cast<uint32_t>(v); },
         cfg.tolerated_failures},
        {"traffic_manager.ttl_ms", endpoints.ttl_ms(), tm, [&](uint64_t v) { cfg.ttl_ms = v; },
         cfg.ttl_ms},
        {"replication.lease_ms", primary.lease().lease_ms(), lease_from,
         [&](uint64_t v) { cfg.lease_ms = v; }, cfg.lease_ms},
        {"replication.lease_renew_interval_ms", primary.lease().renew_interval_ms(), lease_from,
         [&](uint64_t v) { cfg.lease_renew_interval_ms = v; }, cfg.lease_renew_interval_ms},
    };
    for (const auto& t : timings) {
      if (config_.stated.contains(t.field) && t.stated != t.runs) {
        return undo(invalid_argument(config_.source + ": " + t.field + ": the file says " +
                                     std::to_string(t.stated) + ", the daemon at " + t.daemon +
                                     " runs " + std::to_string(t.runs) +
                                     " (leave it out to take the daemon's)"));
      }
      // A daemon that reports none (an older one) keeps the file's value.
      if (t.runs != 0) t.record(t.runs);
    }
    return Status::ok();
  }

  const std::string& home_;  // as given (the messages name it so)
  const AttachConfig& config_;
  const std::function<void(const std::string&)>& progress_;
  const std::chrono::milliseconds deadline_;  // for each region's first answers
  TopologyState state_;
  std::string tls_;  // <home>/tls
  bool made_home_ = false, made_tls_ = false;
};

}  // namespace

Result<TopologyState> attach_topology(const std::string& home, const AttachConfig& config,
                                      const std::function<void(const std::string&)>& progress) {
  return Attacher(home, config, progress).run();
}

Status check_local(const TopologyState& state, const std::string& what) {
  if (state.attached_from.empty()) return Status::ok();
  return failed_precondition(what + ": the daemons of " + state.home +
                             " run elsewhere (attached by " + state.attached_from +
                             "): drsim has no process of theirs to signal and no fault proxy "
                             "on their links; `drsim inject outage` works over RPC");
}

}  // namespace drsim::cli
