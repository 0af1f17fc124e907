// drsim-faultproxy: hosts named TCP links on the host of its --listen (127.0.0.1, or its netns
// address) and faults them per direction on request
// (drsim.v1.FaultProxy). main only parses flags, builds the objects, runs the loop and stops on
// SIGTERM.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/config/listen_address.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "common/net/transport_flags.h"
#include "common/runtime/daemon_flags.h"
#include "common/runtime/process_runtime.h"
#include "faultproxy/fault_proxy_service.h"

namespace {

constexpr int kExitBadConfig = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(2);

}  // namespace

int main(int argc, char** argv) {
  using namespace drsim;
  using grpc::health::v1::HealthCheckResponse;
  CLI::App app{"drsim fault proxy: named TCP links (on the host of --listen) with per-direction "
               "faults"};
  std::string listen = "127.0.0.1:0";
  uint64_t seed = 1;
  runtime::DaemonFlags daemon_flags;
  app.add_option("--listen", listen, "control gRPC address host:port (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--seed", seed, "seed of every link's jitter and stall windows")
      ->capture_default_str();
  daemon_flags.add_to(app, "write {pid, address} here once serving");
  net::TransportFlags transport_flags;
  net::add_transport_flags(app, transport_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error naming the flag
    return rc == 0 ? 0 : kExitBadConfig;
  }
  if (Status s = config::validate_listen_address("--listen", listen); !s.is_ok()) {
    std::cerr << "drsim-faultproxy: " << s.message() << "\n";
    return kExitBadConfig;
  }
  // Its links forward bytes: the TLS of the processes it connects passes through end to end.
  auto transport = net::make_transport(transport_flags, "faultproxy", listen);
  if (!transport.is_ok()) {
    std::cerr << "drsim-faultproxy: " << transport.status().message() << "\n";
    return kExitBadConfig;
  }

  // The links listen where the control service does: 127.0.0.1, or the proxy's own address in
  // a netns topology (plain TCP is refused beyond loopback above; the links carry the TLS of
  // the processes they connect).
  std::string link_host = listen.substr(0, listen.rfind(':'));
  if (link_host == "localhost") link_host = "127.0.0.1";
  boost::system::error_code host_ec;
  auto link_address = boost::asio::ip::make_address(link_host, host_ec);
  if (host_ec) {
    std::cerr << "drsim-faultproxy: --listen: '" << listen
              << "': host must be an IP address (the links listen there)\n";
    return kExitBadConfig;
  }

  daemon_flags.start_logging("faultproxy");
  boost::asio::io_context io;
  RealClock clock;  // the process clock, injected (the links' Asio timers run on real time)
  faultproxy::FaultProxyService service(io, clock, seed, link_address);
  net::HealthService health;
  health.set_status("", HealthCheckResponse::SERVING);
  health.set_status("drsim.v1.FaultProxy", HealthCheckResponse::SERVING);

  // Installed before the server starts, so a SIGTERM during start-up is a clean stop too (the
  // handler runs only once the loop does). The loop keeps running during Server::Shutdown:
  // calls already posted to it must still Finish (they answer UNAVAILABLE), or Shutdown would
  // wait for them forever.
  auto work = boost::asio::make_work_guard(io);
  grpc::Server* server = nullptr;
  std::thread shutdown_thread;
  runtime::StopSignals stop_signals(io, [&] {
    service.stop();
    health.set_status("", HealthCheckResponse::NOT_SERVING);
    shutdown_thread = std::thread([&] {
      server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
      boost::asio::post(io, [&] {
        work.reset();
        io.stop();
      });
    });
  });

  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  builder.RegisterService(&health);
  auto started = net::start_server(builder, listen, transport->server_credentials({}),
                                   net::kControlServerLimits);
  if (!started.is_ok()) {
    spdlog::error("{}", started.status().message());
    return 1;
  }
  server = started->server.get();
  spdlog::info("fault proxy serving on {} (seed {})", started->address, seed);
  if (!daemon_flags.ready_file.empty()) {
    if (Status s = runtime::write_ready_file(daemon_flags.ready_file, started->address);
        !s.is_ok()) {
      spdlog::error("{}", s.message());
      server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
  }
  io.run();
  if (shutdown_thread.joinable()) shutdown_thread.join();
  spdlog::info("stopped");
  return 0;
}
