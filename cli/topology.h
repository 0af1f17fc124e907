// A local drsim topology: its configuration (YAML, validated with
// file:line: field: reason errors), and its running state (topology.json in the
// home directory: PIDs, addresses, argv for restarts). `drsim up` / `down`.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/netns.h"
#include "common/config/yaml_fields.h"
#include "common/core/status.h"
#include "common/net/transport.h"

#include "common/region/region_options.h"
#include "common/runtime/process_identity.h"
#include "drsim/v1/admin.pb.h"

namespace drsim::config {
class ConfigError;
}

namespace drsim::cli {

// Where the daemons run: on the host's loopback, or each in a Linux network namespace of its own
// on a bridge (`placement: netns`, root only; docs/deploy.md).
enum class Placement { kLoopback, kNetns };

struct TopologyConfig {
  Placement placement = Placement::kLoopback;
  std::string netns_subnet = model::kDefaultNetnsSubnet;  // placement.subnet
  // How errors found at `up` (not root, subnet in use) name the field: "file:N: placement".
  std::string placement_where = "placement";
  std::string subnet_where = "placement.subnet";
  std::string primary_listen = "127.0.0.1:0";
  std::string secondary_listen = "127.0.0.1:0";
  std::string trafficmgr_listen = "127.0.0.1:0";
  std::vector<region::WorkloadSpec> workloads = {{"vm-web", region::ReplicationMode::kSync},
                                                 {"vm-db", region::ReplicationMode::kSync}};
  bool fsync = false;
  bool unsafe_ack_before_standby = false;  // testing.ack_sync_writes_before_standby
  std::string profile = "drsim";
  uint32_t probe_interval_ms = 100;
  uint32_t probe_timeout_ms = 50;
  uint32_t tolerated_failures = 2;
  uint64_t ttl_ms = 500;
  // Every link between the processes goes through drsim-faultproxy so any of them can be
  // faulted (`fault_proxy.enabled: false` connects them directly: no link faults then).
  bool fault_proxy = true;
  uint64_t fault_seed = 1;  // jitter and stall windows of every link
  // site_recovery.time_scale: the regions' Site Recovery clock runs this many times faster than
  // real time (300: a 5-minute crash-consistent recovery point every second).
  uint64_t time_scale = 1;
  // security.transport: every gRPC link is mutual TLS with the certificates `drsim up` makes
  // under <home>/tls (default), or plain TCP (`insecure`, loopback only; for tests).
  net::TransportSecurity transport = net::TransportSecurity::kMutualTls;

  // replication.lease_ms / lease_renew_interval_ms: the lease on being active (docs/replication.md);
  // the drift bound ε is model::LeaseTimes' default (5 %).
  uint64_t lease_ms = 1000;
  uint64_t lease_renew_interval_ms = 250;
  bool unsafe_no_lease = false;  // testing.ack_writes_without_lease
  model::LeaseTimes lease_times() const;
  // An unplanned failover promotes no earlier than lease × (1 + ε) after the old active region's
  // last renewal, which is at most the fault's instant.
  uint64_t lease_wait_ms() const;

  // Documented failover estimate: TTL + max(tolerated × interval, lease wait).
  uint64_t documented_failover_ms() const {
    return ttl_ms + std::max<uint64_t>(tolerated_failures * probe_interval_ms, lease_wait_ms());
  }
  // Stricter worst case: max((interval + timeout) × (tolerated + 1), lease wait) + TTL.
  uint64_t strict_failover_ms() const {
    return std::max<uint64_t>((probe_interval_ms + probe_timeout_ms) * (tolerated_failures + 1),
                              lease_wait_ms()) +
           ttl_ms;
  }
  std::string workloads_flag() const;
};

// `drsim drill run --placement P --subnet S`: runs a drill's topology elsewhere. INVALID_ARGUMENT
// naming the flag (a subnet without netns, plain TCP with netns).
Status override_placement(TopologyConfig& config, const std::string& placement,
                          const std::string& subnet);
// `placement: netns` with plain TCP: INVALID_ARGUMENT naming `field` (nothing listens beyond
// loopback without mTLS).
Status check_placement_transport(const TopologyConfig& config, const std::string& field);

using config::ConfigError;
// Parses YAML text; `source` names the file in errors ("file:line: field: reason").
Result<TopologyConfig> parse_topology_config(const std::string& text, const std::string& source);
Result<TopologyConfig> load_topology_config(const std::string& path);
// The same from a parsed node (a drill file's `topology:` section).
Result<TopologyConfig> parse_topology_node(const YAML::Node& root, const ConfigError& err);
// The embedded default (what `drsim demo` uses with no files).
const char* default_topology_yaml();

// The two region daemons (as opposed to the Traffic Manager and the fault proxy).
inline bool is_region(const std::string& name) { return name == "primary" || name == "secondary"; }

struct ProcessInfo {
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // the PID's start time (runtime/process_identity.h); 0 = unknown
  std::string address;
  std::vector<std::string> argv;
  std::string log;
  std::string data_dir;
  // From the ready file: "dns_address" and "dashboard_address" (Traffic Manager),
  // "http_address" (regions). Pinned in argv like `address`, so a restart keeps them.
  std::map<std::string, std::string> more_addresses;
  runtime::ProcessIdentity identity() const { return {pid, start_ticks}; }
  std::string more(const std::string& key) const {
    auto it = more_addresses.find(key);
    return it == more_addresses.end() ? "" : it->second;
  }
};

// One fault-proxy link: `from` connects to `listen`, which forwards to `to` at `upstream`.
// Direction "up" is from -> to (requests, replication frames), "down" the answers.
struct LinkInfo {
  std::string from, to;
  std::string listen;
  std::string upstream;
};

struct TopologyState {
  std::string home;
  TopologyConfig config;
  // "primary", "secondary", "trafficmgr" and, with links, "faultproxy".
  std::map<std::string, ProcessInfo> processes;
  // client.primary, client.secondary, probe.primary, probe.secondary, repl.primary-secondary
  // (the primary's outgoing stream), repl.secondary-primary. Empty without the fault proxy.
  std::map<std::string, LinkInfo> links;
  // placement: netns: every name drsim created, and the kernel faults set on links.
  std::optional<NetnsState> netns;
  // `drsim attach`: the attach file; the processes run elsewhere (pid 0), drsim started none.
  std::string attached_from;

  const ProcessInfo& at(const std::string& name) const { return processes.at(name); }
  std::string state_file() const { return home + "/topology.json"; }
};

// The identity process `name` presents: its --tls-identity (a test failover copy's
// `test-failover`), else its name.
std::string process_identity(const std::string& name, const std::vector<std::string>& argv);

Result<TopologyState> load_state(const std::string& home);
Status save_state(const TopologyState& state);

// Starts secondary, primary and Traffic Manager, waits until the Traffic
// Manager routes to a healthy primary. On failure stops what it started.
// `progress` receives one line per step.
Result<TopologyState> topology_up(const std::string& home, const TopologyConfig& config,
                                  const std::function<void(const std::string&)>& progress);
// What the Traffic Manager's DNS answers for each region: every region listens on 127.0.0.1,
// so each gets a loopback address of its own that a dig can tell apart.
inline constexpr const char* kPrimaryDnsAddress = "127.0.0.11";
inline constexpr const char* kSecondaryDnsAddress = "127.0.0.12";
// "dns 127.0.0.1:PORT name drsim.trafficmanager.test (...)" and "dashboard https://…/", for
// `drsim up` and `drsim status`.
std::string dns_line(const TopologyState& state);
std::string dashboard_line(const TopologyState& state);
// "https://ADDRESS/" with mTLS (the daemons' HTTP listeners serve HTTPS with their certificate,
// verified against <home>/tls/ca.crt), "http://ADDRESS/" with --insecure; "" for "".
std::string http_url(const TopologyState& state, const std::string& address);
// "mTLS (CA <home>/tls/ca.crt)" or "plain TCP (--insecure)", for `drsim up` and `drsim status`.
std::string transport_line(const TopologyState& state);
// Where each daemon runs: "placement: loopback (127.0.0.1)", or for netns the bridge line and
// one "  primary     netns drsim-1a2b3c-primary  10.213.0.2:41234" line per daemon.
std::vector<std::string> placement_lines(const TopologyState& state);
// The region that answers with `role` now (secondary checked first); "" when none does.
std::string find_region(const TopologyState& state, drsim::v1::RegionRole role);
std::string find_standby(const TopologyState& state);
// Stops every process of the topology (SIGTERM, then SIGKILL after grace).
Status topology_down(const std::string& home, std::chrono::milliseconds grace);
// Spawns a daemon (argv[0] = binary), logs in <dir>/<name>.log, waits for its ready file; the
// returned argv pins the bound --listen port for restarts.
Result<ProcessInfo> start_daemon(const std::string& name, std::vector<std::string> argv,
                                 const std::string& dir, const std::string& data_dir);
// Starts a stopped or killed daemon again with its original arguments.
Status restart_process(TopologyState& state, const std::string& name);

// The region daemons' workload list argument: `--workloads name:mode,...` for up to
// kWorkloadsOnArgv workloads, else `--workloads-file <home>/workloads.txt` (written here, one
// workload a line), since a long list passes Linux's 128 KiB limit on one argument.
inline constexpr size_t kWorkloadsOnArgv = 64;
// The most workloads a topology file may list: measured on one 2-core pair in
// docs/benchmarks.md (start time, RSS per region, status time, failover).
inline constexpr size_t kMaxTopologyWorkloads = 100'000;
Result<std::vector<std::string>> workloads_args(const TopologyConfig& config,
                                                const std::string& home);

}  // namespace drsim::cli
