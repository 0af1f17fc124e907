#include "common/region/region_daemon_flags.h"

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "common/config/listen_address.h"
#include "common/net/http_server.h"
#include "common/net/transport_flags.h"

namespace drsim::region {

namespace {

// The flags as typed, before they become RegionOptions: durations in milliseconds, the disk size
// in GiB, role and mode as words, the workloads as a list or a file. Starts at the defaults, which
// --help shows.
struct RegionFlags {
  explicit RegionFlags(const DaemonDefaults& defaults);

  RegionOptions opt;
  BackupOptions backup;
  std::string workloads = "vm-web,vm-db";
  std::string workloads_file;
  std::string mode = "sync";
  std::string role;
  int64_t sync_ack_timeout_ms;
  int64_t fence_check_timeout_ms;
  int64_t peer_fence_timeout_ms;
  int64_t lease_ms;
  int64_t lease_renew_ms;
  uint64_t vm_disk_gib;
  double time_scale = 1.0;
  uint64_t min_free_bytes = kDefaultMinFreeBytes;
  net::TransportFlags transport;
  std::string tls_identity;
};

RegionFlags::RegionFlags(const DaemonDefaults& defaults) {
  opt.name = defaults.name;
  opt.peer_name = defaults.peer_name;
  opt.initial_role = defaults.initial_role;
  role = defaults.initial_role == model::Role::kActive ? "active" : "standby";
  sync_ack_timeout_ms = opt.sync_ack_timeout.count();
  fence_check_timeout_ms = opt.fence_check_timeout.count();
  peer_fence_timeout_ms = opt.peer_fence_timeout.count();
  lease_ms = std::chrono::duration_cast<std::chrono::milliseconds>(opt.lease.lease).count();
  lease_renew_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(opt.lease.renew_interval).count();
  vm_disk_gib = backup.disk_size_bytes >> 30;
}

// Who the region is, where it listens, where its peer is and where its state lives.
void add_region_flags(CLI::App& app, RegionFlags& f) {
  app.add_option("--name", f.opt.name, "Region name")->capture_default_str();
  app.add_option("--peer-name", f.opt.peer_name, "Peer region name")->capture_default_str();
  app.add_option("--listen", f.opt.listen, "host:port to serve on (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--peer", f.opt.peer_address,
                 "host:port of the peer region (can be set later "
                 "with the SetPeer admin RPC)");
  app.add_option("--data-dir", f.opt.data_dir, "Directory of the region's RocksDB state")
      ->required();
  app.add_option("--role", f.role, "Role on first start (kept on disk afterwards)")
      ->check(CLI::IsMember({"active", "standby"}))
      ->capture_default_str();
}

// The protected workloads, how they replicate and how durably they are written; the test hooks of
// the test build.
void add_workload_flags(CLI::App& app, RegionFlags& f) {
  auto* workloads_opt = app.add_option("--workloads", f.workloads,
                                       "Protected workloads: name[:sync|async],... (simulated VMs)")
                            ->capture_default_str();
  app.add_option("--workloads-file", f.workloads_file,
                 "Read the workloads from this file instead: one name[:sync|async] a line (for "
                 "lists longer than a command line takes)")
      ->excludes(workloads_opt);
  app.add_option("--mode", f.mode, "Default replication mode")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str();
  app.add_flag("--fsync", f.opt.fsync, "Sync the WAL on every write (survive power loss, slower)");
  app.add_flag("--isolated", f.opt.isolated,
               "An isolated copy (a test failover's): no --peer, no --witness; serves reads and "
               "writes on its own data without a lease (nothing can be promoted over it)");
#if DRSIM_TEST_HOOKS
  app.add_flag("--unsafe-ack-before-standby", f.opt.unsafe_ack_before_standby,
               "TEST HOOK: acknowledge sync writes before the standby has them (breaks RPO 0; "
               "exists so tests can prove the checker reports the loss)");
  app.add_flag("--unsafe-no-lease", f.opt.unsafe_no_lease,
               "TEST HOOK: acknowledge writes without a valid lease (a frozen or partitioned "
               "former primary then acks writes that are lost; exists so tests can prove the "
               "checker reports them)");
#endif
}

// The lease on being active and the witness that may renew it.
void add_lease_flags(CLI::App& app, RegionFlags& f) {
  app.add_option("--lease-ms", f.lease_ms,
                 "Lease on being active: writes are acknowledged only while a renewal from the "
                 "peer or the witness is younger than this (x (1 - drift))")
      ->capture_default_str();
  app.add_option("--lease-renew-interval-ms", f.lease_renew_ms, "How often the lease is renewed")
      ->capture_default_str();
  app.add_option("--lease-drift", f.opt.lease.drift,
                 "Bound on the rate difference of two hosts' monotonic clocks (0.05 = 5 %)")
      ->capture_default_str();
  app.add_option("--witness", f.opt.witness_address,
                 "host:port of the Traffic Manager acting as lease witness (can be set later "
                 "with the SetWitness admin RPC); none = the peer alone grants the lease");
}

// Replication frames, windows and log, and the timeouts of sync acks and fencing.
void add_replication_flags(CLI::App& app, RegionFlags& f) {
  app.add_option("--max-batch-changes", f.opt.max_batch_changes, "Changes per replication frame")
      ->capture_default_str();
  app.add_option("--max-unacked-changes", f.opt.max_unacked_changes,
                 "Per-workload changes in flight to the standby")
      ->capture_default_str();
  app.add_option("--log-retention", f.opt.log_retention,
                 "Replication log entries kept per workload")
      ->capture_default_str();
  app.add_option("--max-value-bytes", f.opt.max_value_bytes, "Largest value accepted")
      ->capture_default_str();
  app.add_option("--sync-ack-timeout-ms", f.sync_ack_timeout_ms,
                 "Sync writes not acknowledged by the standby within this fail as indeterminate")
      ->capture_default_str();
  app.add_option("--fence-check-timeout-ms", f.fence_check_timeout_ms,
                 "An active region restarted from disk waits this long for its peer to confirm "
                 "no failover happened before serving")
      ->capture_default_str();
  app.add_option("--peer-fence-timeout-ms", f.peer_fence_timeout_ms,
                 "A region promoted by an unplanned failover serves once its peer stepped down, "
                 "or after this long without an answer (0: serve at once, no fencing)")
      ->capture_default_str();
}

// The HTTP endpoint, the Backup and Site Recovery clocks, the hosted disks' size and the room the
// data dir needs.
void add_service_flags(CLI::App& app, RegionFlags& f) {
  app.add_option("--http-listen", f.opt.http_listen,
                 "Loopback host:port (port 0 = ephemeral) of an HTTP server with GET /health "
                 "(200 while serving writes, else 503 and why) and GET /metrics (Prometheus); "
                 "HTTPS with this region's certificate under --tls-dir, plain HTTP with "
                 "--insecure; empty = none");
  app.add_option("--backup-time-scale", f.backup.time_scale,
                 "Backup clock speed: simulated seconds per real second (1..10000000); backup "
                 "schedules, retention and the 14-day soft delete run on it")
      ->check(CLI::Range(model::kMinTimeScale, model::kMaxTimeScale))
      ->capture_default_str();
  app.add_option("--vm-disk-gib", f.vm_disk_gib,
                 "Provisioned size of each hosted VM's OS disk (its keys are the used part)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{32767}))
      ->capture_default_str();
  app.add_option("--time-scale", f.time_scale,
                 "Site Recovery runs on drsim's clock, this many times faster than real time "
                 "(300: a 5-minute crash-consistent point every second)")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e6));
  app.add_option("--min-free-bytes", f.min_free_bytes,
                 "Refuse to start when the data dir's file system has less free space than this "
                 "(RocksDB cannot open on a full disk)")
      ->capture_default_str();
}

// --tls-dir | --insecure, and which certificate of --tls-dir the region presents.
void add_identity_flags(CLI::App& app, RegionFlags& f) {
  net::add_transport_flags(app, f.transport);
  app.add_option("--tls-identity", f.tls_identity,
                 "with --tls-dir: the certificate to present (default: --name); a test failover "
                 "copy is `test-failover`");
}

// The addresses the region serves on and dials, checked; INVALID_ARGUMENT naming the flag.
Status validate_addresses(const RegionOptions& opt) {
  if (Status s = config::validate_listen_address("--listen", opt.listen); !s.is_ok()) return s;
  if (!opt.http_listen.empty()) {
    if (Status s = net::validate_loopback_listen_address("--http-listen", opt.http_listen);
        !s.is_ok()) {
      return s;
    }
  }
  if (!opt.peer_address.empty()) {
    if (Status s = config::validate_listen_address("--peer", opt.peer_address); !s.is_ok()) {
      return s;
    }
  }
  if (!opt.witness_address.empty()) {
    if (Status s = config::validate_listen_address("--witness", opt.witness_address); !s.is_ok()) {
      return s;
    }
  }
  if (opt.isolated && (!opt.peer_address.empty() || !opt.witness_address.empty())) {
    return invalid_argument("--isolated: an isolated copy has no --peer and no --witness");
  }
  return Status::ok();
}

// Turns the typed flags into f.opt and f.backup and checks them; INVALID_ARGUMENT naming the flag
// (or the workloads file) that is wrong.
Status apply_flags(RegionFlags& f) {
  f.backup.disk_size_bytes = f.vm_disk_gib << 30;
  f.opt.sync_ack_timeout = std::chrono::milliseconds(f.sync_ack_timeout_ms);
  f.opt.fence_check_timeout = std::chrono::milliseconds(f.fence_check_timeout_ms);
  f.opt.peer_fence_timeout = std::chrono::milliseconds(f.peer_fence_timeout_ms);
  f.opt.lease.lease = std::chrono::milliseconds(f.lease_ms);
  f.opt.lease.renew_interval = std::chrono::milliseconds(f.lease_renew_ms);
  f.opt.initial_role = f.role == "active" ? model::Role::kActive : model::Role::kStandby;
  ReplicationMode default_mode =
      f.mode == "sync" ? ReplicationMode::kSync : ReplicationMode::kAsync;
  auto specs = f.workloads_file.empty() ? parse_workloads("--workloads", f.workloads, default_mode)
                                        : read_workloads_file(f.workloads_file, default_mode);
  if (!specs.is_ok()) return specs.status();
  f.opt.workloads = specs.value();
  if (Status s = f.opt.validate(); !s.is_ok()) return s;
  return validate_addresses(f.opt);
}

}  // namespace

std::optional<int> parse_region_daemon_flags(int argc, char** argv, const DaemonDefaults& defaults,
                                             RegionDaemonConfig& c) {
  RegionFlags f(defaults);
  CLI::App app{defaults.program + ": a drsim region daemon (" + defaults.name +
               " region). Hosts protected workloads, replicates them to its peer region, and "
               "serves Workload, Replication, RegionAdmin and grpc.health.v1 on one port."};
  add_region_flags(app, f);
  add_workload_flags(app, f);
  add_lease_flags(app, f);
  add_replication_flags(app, f);
  add_service_flags(app, f);
  c.daemon_flags.add_to(app, "Write {pid, address[, http_address]} here once serving");
  add_identity_flags(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  Status valid = apply_flags(f);
  if (valid.is_ok()) {
    // The region's identity is its name: its certificate is <tls-dir>/<name>.crt.
    auto made = net::make_transport(
        f.transport, f.tls_identity.empty() ? f.opt.name : f.tls_identity, f.opt.listen);
    valid = made.status();
    if (made.is_ok()) c.transport = std::move(*made);
  }
  if (!valid.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", defaults.program.c_str(), valid.message().c_str());
    return 2;
  }
  f.opt.ready_file = c.daemon_flags.ready_file;
  c.opt = std::move(f.opt);
  c.backup = f.backup;
  c.time_scale = f.time_scale;
  c.min_free_bytes = f.min_free_bytes;
  return std::nullopt;
}

}  // namespace drsim::region
