// `drsim attach --config FILE --home H`: drive daemons that run elsewhere (systemd units,
// Kubernetes pods, another `drsim up`) without starting anything. The file is a topology file
// (workloads, Traffic Manager timings, security) with an `attach:` section saying where each
// daemon answers and where the operator's certificates are:
//
//   attach:
//     primary:    { address: 10.0.0.1:7001, http: 10.0.0.1:8081 }   # http optional
//     secondary:  { address: 10.0.0.2:7001 }
//     trafficmgr: { address: 10.0.0.3:7000, dns: 10.0.0.3:5353, dashboard: 10.0.0.3:8080 }
//     tls_dir: /etc/drsim/tls      # ca.crt, operator.crt, operator.key (`drsim certs make`)
//     timeout_ms: 5000             # how long each daemon has to answer (default 5000)
//
// Every daemon must answer as the identity its role names, each region must report the name of
// its key, and the Traffic Manager must know the profile; then <home>/topology.json records the
// topology as attached and every command that works over RPC (status, load, failover,
// reprotect, failback, inject outage, protect, plans, backups) works on it. What needs a local
// process — signals (inject kill/pause/restart), link faults (no fault proxy), `up` — is
// refused naming why; `drsim down` detaches (forgets the home's state, stops nothing).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "cli/topology.h"
#include "common/core/status.h"

namespace drsim::cli {

struct AttachedDaemon {
  std::string address;                              // gRPC, host:port
  std::map<std::string, std::string> more_addresses;  // http_address, dns_address, dashboard_address
};

struct AttachConfig {
  TopologyConfig topology;
  std::map<std::string, AttachedDaemon> daemons;  // primary, secondary, trafficmgr
  std::string tls_dir;                            // empty with security.transport: insecure
  uint64_t timeout_ms = 5000;
  std::string source;  // the file, for messages
  // The timings the file states (traffic_manager.probe_interval_ms, replication.lease_ms, ...):
  // the daemons' own are read at attach and recorded; a stated one they do not run is refused.
  std::set<std::string> stated;
};

// Parses an attach file; INVALID_ARGUMENT as "file:line: field: reason".
Result<AttachConfig> parse_attach_config(const std::string& text, const std::string& source);
Result<AttachConfig> load_attach_config(const std::string& path);

// Checks every daemon answers as configured, reads the timings they run (the Traffic Manager's
// probe interval, timeout, tolerated failures and TTL; the regions' lease and renewal) into the
// recorded topology, so that failover estimates and drills judge by them, then writes
// <home>/topology.json (attached) and <home>/tls (the operator's certificate and the CA,
// copied). INVALID_ARGUMENT naming the field
// of a daemon that does not answer or answers as another; nothing is left in `home` then.
// FAILED_PRECONDITION when a topology is up or attached in `home` already.
Result<TopologyState> attach_topology(const std::string& home, const AttachConfig& config,
                                      const std::function<void(const std::string&)>& progress);

// FAILED_PRECONDITION "<what>: region primary runs elsewhere (attached by <file>): drsim cannot
// signal it; ..." when `state` is attached; OK otherwise.
Status check_local(const TopologyState& state, const std::string& what);

}  // namespace drsim::cli
