#include "common/region/region_daemon.h"

#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "common/net/process_runtime.h"
#include "common/region/region_node.h"
#include "common/region/region_services.h"
#include "common/region/replication_streams.h"

namespace drsim::region {

int run_region_daemon(int argc, char** argv, const DaemonDefaults& defaults) {
  RegionOptions opt;
  opt.name = defaults.name;
  opt.peer_name = defaults.peer_name;
  opt.initial_role = defaults.initial_role;
  std::string workloads = "vm-web,vm-db";
  std::string mode = "sync";
  std::string role = defaults.initial_role == model::Role::kActive ? "active" : "standby";
  std::string log_format = "text";
  std::string log_level = "info";
  int64_t sync_ack_timeout_ms = opt.sync_ack_timeout.count();
  int64_t fence_check_timeout_ms = opt.fence_check_timeout.count();

  CLI::App app{defaults.program + ": a drsim region daemon (" + defaults.name +
               " region). Hosts protected workloads, replicates them to its peer region, and "
               "serves Workload, Replication, RegionAdmin and grpc.health.v1 on one port."};
  app.add_option("--name", opt.name, "Region name")->capture_default_str();
  app.add_option("--peer-name", opt.peer_name, "Peer region name")->capture_default_str();
  app.add_option("--listen", opt.listen, "host:port to serve on (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--peer", opt.peer_address, "host:port of the peer region (can be set later "
                                             "with the SetPeer admin RPC)");
  app.add_option("--data-dir", opt.data_dir, "Directory of the region's RocksDB state")
      ->required();
  app.add_option("--role", role, "Role on first start (kept on disk afterwards)")
      ->check(CLI::IsMember({"active", "standby"}))
      ->capture_default_str();
  app.add_option("--workloads", workloads,
                 "Protected workloads: name[:sync|async],... (simulated VMs)")
      ->capture_default_str();
  app.add_option("--mode", mode, "Default replication mode")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str();
  app.add_flag("--fsync", opt.fsync, "Sync the WAL on every write (survive power loss, slower)");
  app.add_flag("--unsafe-ack-before-standby", opt.unsafe_ack_before_standby,
               "TEST HOOK: acknowledge sync writes before the standby has them (breaks RPO 0; "
               "exists so tests can prove the checker reports the loss)");
  app.add_option("--max-batch-changes", opt.max_batch_changes, "Changes per replication frame")
      ->capture_default_str();
  app.add_option("--max-unacked-changes", opt.max_unacked_changes,
                 "Per-workload changes in flight to the standby")
      ->capture_default_str();
  app.add_option("--log-retention", opt.log_retention, "Replication log entries kept per workload")
      ->capture_default_str();
  app.add_option("--max-value-bytes", opt.max_value_bytes, "Largest value accepted")
      ->capture_default_str();
  app.add_option("--sync-ack-timeout-ms", sync_ack_timeout_ms,
                 "Sync writes not acknowledged by the standby within this fail as indeterminate")
      ->capture_default_str();
  app.add_option("--fence-check-timeout-ms", fence_check_timeout_ms,
                 "An active region restarted from disk waits this long for its peer to confirm "
                 "no failover happened before serving")
      ->capture_default_str();
  app.add_option("--ready-file", opt.ready_file, "Write {pid, address} here once serving");
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  opt.sync_ack_timeout = std::chrono::milliseconds(sync_ack_timeout_ms);
  opt.fence_check_timeout = std::chrono::milliseconds(fence_check_timeout_ms);
  opt.initial_role = role == "active" ? model::Role::kActive : model::Role::kStandby;
  auto specs = parse_workloads("--workloads", workloads,
                               mode == "sync" ? ReplicationMode::kSync : ReplicationMode::kAsync);
  Status valid = specs.is_ok() ? Status::ok() : specs.status();
  if (valid.is_ok()) {
    opt.workloads = specs.value();
    valid = opt.validate();
  }
  if (valid.is_ok()) valid = net::validate_listen_address("--listen", opt.listen);
  if (valid.is_ok() && !opt.peer_address.empty()) {
    valid = net::validate_listen_address("--peer", opt.peer_address);
  }
  if (!valid.is_ok()) {
    std::fprintf(stderr, "%s: %s\n", defaults.program.c_str(), valid.message().c_str());
    return 2;
  }

  net::setup_logging(opt.name, log_format, log_level);
  std::error_code ec;
  std::filesystem::create_directories(opt.data_dir, ec);
  if (ec) {
    spdlog::error("--data-dir: cannot create {}: {}", opt.data_dir, ec.message());
    return 2;
  }
  auto store = storage::RegionStore::open(
      opt.data_dir, opt.fsync ? storage::Durability::kPowerLoss : storage::Durability::kProcessCrash,
      opt.log_retention);
  if (!store.is_ok()) {
    spdlog::error("{}", store.status().message());
    return 1;
  }

  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  net::HealthService health;
  RegionNode node(opt, io, **store, health);
  WorkloadService workload(node);
  AdminService admin(node);
  ReplicationService replication(node);

  grpc::ServerBuilder builder;
  builder.RegisterService(&workload);
  builder.RegisterService(&admin);
  builder.RegisterService(&replication);
  builder.RegisterService(&health);
  auto server = net::start_server(builder, opt.listen);
  if (!server.is_ok()) {
    spdlog::error("--listen: {}", server.status().message());
    return 1;
  }
  if (Status s = node.start(server->address); !s.is_ok()) {
    spdlog::error("cannot start region: {}", s.to_string());
    server->server->Shutdown();
    return 1;
  }
  if (!opt.ready_file.empty()) {
    if (Status s = net::write_ready_file(opt.ready_file, server->address); !s.is_ok()) {
      spdlog::error("{}", s.message());
      return 1;
    }
  }
  spdlog::info("region {} serving on {} (pid {})", opt.name, server->address, ::getpid());

  std::thread stopper;
  net::StopSignals signals(io, [&] {
    node.stop();
    // Shutdown waits for in-flight RPCs, which finish on this loop: run it
    // off the loop, then stop the loop.
    stopper = std::thread([&] {
      server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
      boost::asio::post(io, [&] { guard.reset(); io.stop(); });
    });
  });
  io.run();
  if (stopper.joinable()) stopper.join();
  spdlog::info("region {} stopped", opt.name);
  return 0;
}

}  // namespace drsim::region
