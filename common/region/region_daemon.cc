#include "common/region/region_daemon.h"

#include <filesystem>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
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
#include "common/runtime/daemon_flags.h"
#include "common/runtime/process_runtime.h"
#include "common/net/rpc_counters.h"
#include "common/region/backup_service.h"
#include "common/region/grpc_region_links.h"
#include "common/region/region_daemon_flags.h"
#include "common/region/region_metrics.h"
#include "common/region/region_node.h"
#include "common/region/region_services.h"
#include "common/region/replication_streams.h"
#include "common/region/site_recovery_service.h"
#include "common/storage/free_space.h"

namespace drsim::region {

namespace {

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
  // exit code. When a part cannot start, what started is stopped the same way and the exit code
  // is 1, with one error naming the flag or file and why.
  int run();

 private:
  // The parts in start order; started_ is the last one running.
  enum class Part { kNone, kGrpcServer, kNode, kBackup, kSiteRecovery, kHttpServer };

  Status start();
  Status start_grpc_server();
  Status start_drivers();
  Status start_http_server();
  Status write_ready_file();
  void stop_started();
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
  Part started_ = Part::kNone;
  std::thread stopper_;
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
  const Status started = start();
  if (started.is_ok()) {
    spdlog::info("region {} serving on {} (pid {})", opt_.name, server_.address, ::getpid());
  } else {
    spdlog::error("{}", started.message());
    boost::asio::post(io_, [this] { stop_started(); });
  }
  run_until_stopped();
  return started.is_ok() ? 0 : 1;
}

// The parts in order; the first failure stops the rest.
Status RegionProcess::start() {
  if (Status s = start_grpc_server(); !s.is_ok()) return s;
  if (Status s = start_drivers(); !s.is_ok()) return s;
  if (Status s = start_http_server(); !s.is_ok()) return s;
  return write_ready_file();
}

// Registers the services and binds --listen.
Status RegionProcess::start_grpc_server() {
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
  if (!server.is_ok()) return unavailable("--listen: " + server.status().message());
  server_ = std::move(server).value();
  started_ = Part::kGrpcServer;
  return Status::ok();
}

// Starts the node, then Backup, then Site Recovery.
Status RegionProcess::start_drivers() {
  if (Status s = node_.start(server_.address); !s.is_ok()) {
    return Status(s.code(), "cannot start region: " + s.to_string());
  }
  started_ = Part::kNode;
  if (Status s = backup_.start(); !s.is_ok()) {
    return Status(s.code(), "cannot start backups: " + s.to_string());
  }
  started_ = Part::kBackup;
  if (Status s = site_recovery_.start(); !s.is_ok()) {
    return Status(s.code(), "cannot start the Site Recovery vault: " + s.to_string());
  }
  started_ = Part::kSiteRecovery;
  return Status::ok();
}

// GET /health and /metrics on --http-listen, if given.
Status RegionProcess::start_http_server() {
  if (opt_.http_listen.empty()) return Status::ok();
  net::HttpRoutes routes;
  routes["/health"] = [this](const net::HttpRequest&) { return health_response(node_, health_); };
  routes["/metrics"] = [this](const net::HttpRequest&) {
    return metrics_response(node_, health_, rpc_counters_, site_recovery_, backup_);
  };
  auto https = net::https_server_context_for(transport_);
  if (!https.is_ok()) {
    return Status(https.status().code(), "--http-listen: " + https.status().message());
  }
  auto started =
      net::HttpServer::start(io_, "--http-listen", opt_.http_listen, std::move(routes), {}, *https);
  if (!started.is_ok()) return started.status();  // names --http-listen
  http_ = std::move(started).value();
  started_ = Part::kHttpServer;
  ready_extra_ = "\"http_address\":\"" + http_->address() + "\"";
  spdlog::info("region {} {} on {}: GET /health, /metrics", opt_.name, http_->scheme(),
               http_->address());
  return Status::ok();
}

// The --ready-file, if given.
Status RegionProcess::write_ready_file() {
  if (opt_.ready_file.empty()) return Status::ok();
  return runtime::write_ready_file(opt_.ready_file, server_.address, ready_extra_);
}

// On the loop: stops what started, newest first, then (off the loop, on stopper_) shuts the gRPC
// server down and stops the loop once no outgoing call is left.
void RegionProcess::stop_started() {
  if (stopper_.joinable()) return;  // stopping already (a signal after a failed start)
  std::string stopped;
  auto stop = [&](Part part, const char* name, auto&& stop_part) {
    if (started_ < part) return;
    stop_part();
    stopped += (stopped.empty() ? "" : ", ") + std::string(name);
  };
  stop(Part::kHttpServer, "HTTP server", [&] { http_->stop(); });
  stop(Part::kSiteRecovery, "Site Recovery", [&] { site_recovery_.stop(); });
  stop(Part::kBackup, "Backup", [&] { backup_.stop(); });
  stop(Part::kNode, "region node", [&] { node_.stop(); });
  stop(Part::kGrpcServer, "gRPC server", [] {});  // below, off the loop
  spdlog::info("region {} stopping: {}", opt_.name, stopped.empty() ? "nothing started" : stopped);
  // Shutdown waits for in-flight RPCs, which finish on this loop: run it off the loop, then stop
  // the loop.
  stopper_ = std::thread([this] {
    if (started_ >= Part::kGrpcServer) {
      server_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
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
    boost::asio::post(io_, [this] {
      guard_.reset();
      io_.stop();
    });
  });
}

// Runs the loop until stop_started (on SIGTERM / SIGINT, or after a failed start) has stopped
// it, and logs that the region stopped.
void RegionProcess::run_until_stopped() {
  runtime::StopSignals signals(io_, [this] { stop_started(); });
  io_.run();
  // The loop has stopped for good: replication reactors gRPC finishes from now on clean up
  // without posting to it (the io_context is destroyed with this object).
  node_.close_loop_gate();
  links_.close_loop_gate();
  if (stopper_.joinable()) stopper_.join();
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
  if (std::optional<int> done = parse_region_daemon_flags(argc, argv, defaults, c)) return *done;
  return serve(c);
}

}  // namespace drsim::region
