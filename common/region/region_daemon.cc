#include "common/config/listen_address.h"
#include "common/region/region_daemon.h"

#include <filesystem>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <rocksdb/env.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/core/drifting_scheduler.h"
#include "common/net/asio_scheduler.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "common/net/http_server.h"
#include "common/net/https_context.h"
#include "common/net/transport_flags.h"
#include "common/runtime/daemon_flags.h"
#include "common/runtime/process_runtime.h"
#include "common/net/rpc_counters.h"
#include "common/region/backup_service.h"
#include "common/region/grpc_region_links.h"
#include "common/region/region_metrics.h"
#include "common/region/region_node.h"
#include "common/region/region_services.h"
#include "common/region/replication_streams.h"
#include "common/region/site_recovery_service.h"
#include "common/storage/free_space.h"

namespace drsim::region {

namespace {

// Below this, RocksDB may not even open (a restart on a full disk died in its assertion).
constexpr uint64_t kDefaultMinFreeBytes = 16ull << 20;

using grpc::health::v1::HealthCheckResponse;

// GET /health: 200 "active" exactly when the gRPC health service says drsim.v1.Workload is
// SERVING (the region serves writes), else 503 with the reason — so an HTTP probe of Traffic
// Manager sees what its gRPC probe sees.
net::HttpResponse health_answer(RegionNode& node, net::HealthService& health) {
  v1::GetStatusResponse st;
  node.status(false, &st);
  if (st.outage() || health.outage()) {
    return net::HttpResponse::text(503,
                                   "outage: region " + st.region() + " is in an injected outage");
  }
  if (health.status("drsim.v1.Workload") == HealthCheckResponse::SERVING) {
    return net::HttpResponse::text(200, "active");
  }
  std::string why;
  if (st.role() == v1::ROLE_STANDBY) {
    why = "standby: region " + st.region() + " is the standby; the active region is " +
          (st.active_region().empty() ? "unknown" : st.active_region()) + " (epoch " +
          std::to_string(st.epoch()) + ")";
    if (!st.fenced_reason().empty()) why += "; " + st.fenced_reason();
  } else {
    why = "not serving writes: " + (st.fenced_reason().empty()
                                        ? std::string("active role not confirmed")
                                        : st.fenced_reason());
  }
  return net::HttpResponse::text(503, why);
}

// GET /health as above, with the region's epoch and role in X-Drsim-Epoch / X-Drsim-Role (the
// Traffic Manager refuses a 200 at a superseded epoch, like a gRPC SERVING).
net::HttpResponse health_response(RegionNode& node, net::HealthService& health) {
  net::HttpResponse response = health_answer(node, health);
  if (auto region = health.region()) {
    response.headers.emplace_back(net::kEpochHeader, std::to_string(region->epoch));
    response.headers.emplace_back(net::kRoleHeader, region->role);
  }
  return response;
}

// What the flags say, checked: everything serve() needs.
struct RegionDaemonConfig {
  RegionOptions opt;
  BackupOptions backup;
  double time_scale = 1.0;
  uint64_t min_free_bytes = kDefaultMinFreeBytes;
  runtime::DaemonFlags daemon_flags;
  std::optional<net::Transport> transport;
};

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

// Parses and checks the flags into `c`; an exit code when the daemon must not go on (0 after
// --help, 2 for bad flags, with the reason on stderr).
std::optional<int> parse_flags(int argc, char** argv, const DaemonDefaults& defaults,
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

// Makes the data dir and checks it has room to start; an exit code when the daemon must not go
// on (2: it cannot be made, 1: too little room), with the reason logged.
std::optional<int> prepare_data_dir(const RegionDaemonConfig& c) {
  const RegionOptions& opt = c.opt;
  std::error_code ec;
  std::filesystem::create_directories(opt.data_dir, ec);
  if (ec) {
    spdlog::error("--data-dir: cannot create {}: {}", opt.data_dir, ec.message());
    return 2;
  }
  // The same measure of room as the store's own refusal of writes (RocksDB's Env).
  if (Status s = storage::require_free_bytes(*rocksdb::Env::Default(), opt.data_dir,
                                             c.min_free_bytes, "to start; --min-free-bytes",
                                             storage::UnknownRoom::kRefuse);
      !s.is_ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  return std::nullopt;
}

// Where Site Recovery keeps its recovery points: beside the data dir, "<data-dir>.points".
std::string points_dir(std::string data_dir) {
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  return data_dir + ".points";
}

// The running region daemon: its loop, scheduler and clock, the node with its drivers and
// services, and the servers in front of them. Members are built in this order and destroyed in
// reverse: the servers go before the services they call, the loop last.
class RegionProcess {
 public:
  RegionProcess(const RegionDaemonConfig& c, storage::RegionStore& store,
                storage::BackupStore& backup_store);

  // Starts the servers and drivers, serves until SIGTERM / SIGINT and stops them in order; the
  // exit code.
  int run();

 private:
  bool start_grpc_server();
  bool start_drivers();
  bool start_http_server();
  bool write_ready_file();
  void run_until_stopped();

  const RegionOptions& opt_;
  const net::Transport& transport_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  // One scheduler and one clock for the process, injected into every driver; a drill's clock
  // drift (SetClockDrift) decorates the scheduler, its clock skew (SetClockOffset) the clock.
  net::AsioScheduler real_time_;
  DriftingScheduler scheduler_;
  SkewedClock clock_;
  net::HealthService health_;
  // The region's links to its peer and the lease witness, over gRPC.
  GrpcRegionLinks links_;
  RegionNode node_;
  WorkloadService workload_;
  AdminService admin_;
  ReplicationService replication_;
  BackupDriver backup_;
  BackupService backup_service_;
  SiteRecoveryDriver site_recovery_;
  SiteRecoveryService site_recovery_service_;
  grpc::ServerBuilder builder_;
  // The ops counters of /metrics; without --http-listen nobody reads them, so no interceptor.
  net::RpcCounters rpc_counters_;
  net::StartedServer server_;
  std::shared_ptr<net::HttpServer> http_;
  std::string ready_extra_;
};

RegionProcess::RegionProcess(const RegionDaemonConfig& c, storage::RegionStore& store,
                             storage::BackupStore& backup_store)
    : opt_(c.opt),
      transport_(*c.transport),
      guard_(boost::asio::make_work_guard(io_)),
      real_time_(io_),
      scheduler_(real_time_),
      clock_(scheduler_),
      links_(transport_, opt_.peer_name, io_),
      node_(opt_, links_.links(), transport_, io_, scheduler_, clock_, store, health_),
      workload_(node_),
      admin_(node_, scheduler_),
      replication_(node_, links_.gate()),
      backup_(node_, scheduler_, clock_, store, backup_store, c.backup),
      backup_service_(io_, backup_),
      site_recovery_(node_, scheduler_, clock_, points_dir(opt_.data_dir), c.time_scale),
      site_recovery_service_(io_, site_recovery_) {}

int RegionProcess::run() {
  if (!start_grpc_server() || !start_drivers() || !start_http_server() || !write_ready_file()) {
    return 1;
  }
  spdlog::info("region {} serving on {} (pid {})", opt_.name, server_.address, ::getpid());
  run_until_stopped();
  return 0;
}

// Registers the services and binds --listen; false (logged) when it cannot.
bool RegionProcess::start_grpc_server() {
  builder_.RegisterService(&workload_);
  builder_.RegisterService(&admin_);
  builder_.RegisterService(&replication_);
  builder_.RegisterService(&site_recovery_service_);
  builder_.RegisterService(&health_);
  builder_.RegisterService(&backup_service_);
  if (!opt_.http_listen.empty()) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(net::make_rpc_counting_interceptor(&rpc_counters_));
    builder_.experimental().SetInterceptorCreators(std::move(creators));
  }
  auto server = net::start_server(
      builder_, opt_.listen,
      transport_.server_credentials({opt_.peer_name, {opt_.name, opt_.peer_name}}),
      net::kRegionServerLimits);
  if (!server.is_ok()) {
    spdlog::error("--listen: {}", server.status().message());
    return false;
  }
  server_ = std::move(server).value();
  return true;
}

// Starts the node, then Backup, then Site Recovery; on a failure stops what started (logged).
bool RegionProcess::start_drivers() {
  if (Status s = node_.start(server_.address); !s.is_ok()) {
    spdlog::error("cannot start region: {}", s.to_string());
    server_.server->Shutdown();
    return false;
  }
  if (Status s = backup_.start(); !s.is_ok()) {
    spdlog::error("cannot start backups: {}", s.to_string());
    node_.stop();
    server_.server->Shutdown();
    return false;
  }
  if (Status s = site_recovery_.start(); !s.is_ok()) {
    spdlog::error("cannot start the Site Recovery vault: {}", s.to_string());
    backup_.stop();
    node_.stop();
    server_.server->Shutdown();
    return false;
  }
  return true;
}

// GET /health and /metrics on --http-listen, if given; false (logged) when it cannot bind.
bool RegionProcess::start_http_server() {
  if (opt_.http_listen.empty()) return true;
  net::HttpRoutes routes;
  routes["/health"] = [this](const net::HttpRequest&) { return health_response(node_, health_); };
  routes["/metrics"] = [this](const net::HttpRequest&) {
    return metrics_response(node_, health_, rpc_counters_, site_recovery_, backup_);
  };
  auto https = net::https_server_context_for(transport_);
  auto started = https.is_ok() ? net::HttpServer::start(io_, "--http-listen", opt_.http_listen,
                                                        std::move(routes), {}, *https)
                               : Result<std::shared_ptr<net::HttpServer>>(https.status());
  if (!started.is_ok()) {
    spdlog::error("{}", started.status().message());
    node_.stop();
    server_.server->Shutdown(std::chrono::system_clock::now());
    return false;
  }
  http_ = std::move(started).value();
  ready_extra_ = "\"http_address\":\"" + http_->address() + "\"";
  spdlog::info("region {} {} on {}: GET /health, /metrics", opt_.name, http_->scheme(),
               http_->address());
  return true;
}

// The --ready-file, if given; false (logged) when it cannot be written.
bool RegionProcess::write_ready_file() {
  if (opt_.ready_file.empty()) return true;
  if (Status s = runtime::write_ready_file(opt_.ready_file, server_.address, ready_extra_);
      !s.is_ok()) {
    spdlog::error("{}", s.message());
    return false;
  }
  return true;
}

// Runs the loop until SIGTERM / SIGINT, then stops the drivers and the servers in order and logs
// that the region stopped.
void RegionProcess::run_until_stopped() {
  std::thread stopper;
  runtime::StopSignals signals(io_, [&] {
    if (http_) http_->stop();
    backup_.stop();
    site_recovery_.stop();
    node_.stop();
    // Shutdown waits for in-flight RPCs, which finish on this loop: run it
    // off the loop, then stop the loop.
    stopper = std::thread([&] {
      server_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      // Outgoing calls still in flight (cancelled by stop(), or a frozen peer's or witness's
      // deadline) answer through the loop, which still runs; the channels go only once no
      // call's state is left (LoopGate: a channel whose last reference goes on a gRPC thread
      // makes gRPC free its callback queue twice). The gate stays open: the loop may still
      // touch a stream that a refused OnDone would delete.
      // Two gates: the region links' (replication stream, peer fence, witness calls) and the
      // node's (Backup, Site Recovery and hand-over calls); 5 s in all.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      for (const auto* gate : {&links_.gate(), &node_.loop_gate()}) {
        auto left = (*gate)->wait_for_calls(until - std::chrono::steady_clock::now());
        if (!left.empty()) spdlog::warn("outgoing calls still alive 5 s after shutdown: {}", left);
      }
      boost::asio::post(io_, [&] {
        guard_.reset();
        io_.stop();
      });
    });
  });
  io_.run();
  // The loop has stopped for good: replication reactors gRPC finishes from now on clean up
  // without posting to it (the io_context is destroyed with this object).
  node_.close_loop_gate();
  links_.close_loop_gate();
  if (stopper.joinable()) stopper.join();
  spdlog::info("region {} stopped", opt_.name);
}

// Opens the stores, builds the drivers and serves until SIGTERM / SIGINT; the exit code.
int serve(const RegionDaemonConfig& c) {
  const RegionOptions& opt = c.opt;
  c.daemon_flags.start_logging(opt.name);
  if (std::optional<int> rc = prepare_data_dir(c)) return *rc;
  auto store = storage::RegionStore::open(
      opt.data_dir,
      opt.fsync ? storage::Durability::kPowerLoss : storage::Durability::kProcessCrash,
      opt.log_retention);
  if (!store.is_ok()) {
    spdlog::error("{}", store.status().message());
    return 1;
  }
  auto backup_store = storage::BackupStore::open(opt.data_dir + "/backup");
  if (!backup_store.is_ok()) {
    spdlog::error("{}", backup_store.status().message());
    return 1;
  }
  RegionProcess process(c, **store, **backup_store);
  return process.run();
}

}  // namespace

int run_region_daemon(int argc, char** argv, const DaemonDefaults& defaults) {
  RegionDaemonConfig c;
  if (std::optional<int> done = parse_flags(argc, argv, defaults, c)) return *done;
  return serve(c);
}

}  // namespace drsim::region
