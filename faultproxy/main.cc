// drsim-faultproxy: hosts named TCP links on the host of its --listen (127.0.0.1, or its netns
// address) and faults them per direction on request
// (drsim.v1.FaultProxy). main only parses flags, builds the objects, runs the loop and stops on
// SIGTERM.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
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

using drsim::Result;
using drsim::Status;

constexpr int kExitBadConfig = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(2);

int bad_config(const std::string& message) {
  std::cerr << "drsim-faultproxy: " << message << "\n";
  return kExitBadConfig;
}

// What the flags say, checked: everything serve() needs.
struct ProxyConfig {
  std::string listen = "127.0.0.1:0";
  uint64_t seed = 1;
  drsim::runtime::DaemonFlags daemon_flags;
  std::optional<drsim::net::Transport> transport;
  boost::asio::ip::address link_address;
};

// The links listen where the control service does: 127.0.0.1, or the proxy's own address in
// a netns topology (plain TCP is refused beyond loopback by make_transport; the links carry the
// TLS of the processes they connect). INVALID_ARGUMENT when the host of --listen is a name.
Result<boost::asio::ip::address> link_address_of(const std::string& listen) {
  auto parsed = drsim::config::parse_host_port("--listen", listen);
  if (!parsed.is_ok()) return parsed.status();
  const std::string link_host = parsed->host == "localhost" ? "127.0.0.1" : parsed->host;
  boost::system::error_code host_ec;
  auto link_address = boost::asio::ip::make_address(link_host, host_ec);
  if (host_ec) {
    return drsim::invalid_argument("--listen: '" + listen +
                                   "': host must be an IP address (the links listen there)");
  }
  return link_address;
}

// Parses and checks the flags into `c`; an exit code when the proxy must not go on (0 after
// --help, 2 for bad flags, with the reason on stderr).
std::optional<int> parse_flags(int argc, char** argv, ProxyConfig& c) {
  using namespace drsim;
  CLI::App app{"drsim fault proxy: named TCP links (on the host of --listen) with per-direction "
               "faults"};
  app.add_option("--listen", c.listen, "control gRPC address host:port (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed of every link's jitter and stall windows")
      ->capture_default_str();
  c.daemon_flags.add_to(app, "write {pid, address} here once serving");
  net::TransportFlags transport_flags;
  net::add_transport_flags(app, transport_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error naming the flag
    return rc == 0 ? 0 : kExitBadConfig;
  }
  if (Status s = config::validate_listen_address("--listen", c.listen); !s.is_ok()) {
    return bad_config(s.message());
  }
  // Its links forward bytes: the TLS of the processes it connects passes through end to end.
  auto transport = net::make_transport(transport_flags, "faultproxy", c.listen);
  if (!transport.is_ok()) return bad_config(transport.status().message());
  c.transport = std::move(transport).value();
  auto link_address = link_address_of(c.listen);
  if (!link_address.is_ok()) return bad_config(link_address.status().message());
  c.link_address = *link_address;
  return std::nullopt;
}

// Registers the proxy's services and binds --listen (errors logged).
Result<drsim::net::StartedServer> start_control_server(grpc::ServerBuilder& builder,
                                                       grpc::Service& service,
                                                       drsim::net::HealthService& health,
                                                       const ProxyConfig& c) {
  builder.RegisterService(&service);
  builder.RegisterService(&health);
  auto started = drsim::net::start_server(builder, c.listen, c.transport->server_credentials({}),
                                          drsim::net::kControlServerLimits);
  if (!started.is_ok()) spdlog::error("{}", started.status().message());
  return started;
}

// Logs that the proxy serves and writes the --ready-file, if given; false (logged, the server
// shut down) when it cannot be written.
bool announce_serving(const ProxyConfig& c, const drsim::net::StartedServer& started) {
  spdlog::info("fault proxy serving on {} (seed {})", started.address, c.seed);
  if (c.daemon_flags.ready_file.empty()) return true;
  if (Status s = drsim::runtime::write_ready_file(c.daemon_flags.ready_file, started.address);
      !s.is_ok()) {
    spdlog::error("{}", s.message());
    started.server->Shutdown(std::chrono::system_clock::now());
    return false;
  }
  return true;
}

// Serves the links and the control service until SIGTERM / SIGINT; the exit code.
int serve(const ProxyConfig& c) {
  using namespace drsim;
  using grpc::health::v1::HealthCheckResponse;
  c.daemon_flags.start_logging("faultproxy");
  boost::asio::io_context io;
  RealClock clock;  // the process clock, injected (the links' Asio timers run on real time)
  faultproxy::FaultProxyService service(io, clock, c.seed, c.link_address);
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
  auto started = start_control_server(builder, service, health, c);
  if (!started.is_ok()) return 1;
  server = started->server.get();
  if (!announce_serving(c, *started)) return 1;
  io.run();
  if (shutdown_thread.joinable()) shutdown_thread.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ProxyConfig c;
  if (std::optional<int> done = parse_flags(argc, argv, c)) return *done;
  return serve(c);
}
