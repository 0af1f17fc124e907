// drsim-trafficmgr: probes the region endpoints and answers Resolve with the priority route.
// main only parses flags, builds the objects, runs the loop and stops on SIGTERM.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "common/net/asio_scheduler.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "common/net/process_runtime.h"
#include "trafficmgr/dns_server.h"
#include "trafficmgr/traffic_manager.h"
#include "trafficmgr/traffic_manager_service.h"

namespace {

constexpr int kExitBadConfig = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(2);

int bad_config(const std::string& message) {
  std::cerr << "drsim-trafficmgr: " << message << "\n";
  return kExitBadConfig;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace drsim;
  CLI::App app{"drsim Traffic Manager: probes region endpoints, answers Resolve by priority"};
  trafficmgr::TrafficManagerConfig config;
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> endpoint_flags, probe_address_flags;
  int64_t interval_ms = 100, timeout_ms = 50, tolerated = 2, ttl_ms = 500;
  std::string ready_file, log_format = "text", log_level = "info";
  std::string dns_listen, dns_name;
  std::vector<std::string> dns_address_flags;
  app.add_option("--listen", listen, "gRPC listen address host:port (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--profile", config.profile, "Traffic Manager profile name")
      ->capture_default_str();
  app.add_option("--endpoint", endpoint_flags,
                 "NAME=HOST:PORT[@PRIORITY], repeatable; priority defaults to 1, 2, ... in order")
      ->take_all();
  app.add_option("--probe-address", probe_address_flags,
                 "NAME=HOST:PORT, repeatable: probe endpoint NAME here instead of its --endpoint "
                 "address (clients still get that one)")
      ->take_all();
  app.add_option("--probe-interval-ms", interval_ms, "probe every endpoint this often")
      ->capture_default_str();
  app.add_option("--probe-timeout-ms", timeout_ms, "probe deadline (<= interval)")
      ->capture_default_str();
  app.add_option("--tolerated-failures", tolerated, "failures before Degraded (0..9)")
      ->capture_default_str();
  app.add_option("--ttl-ms", ttl_ms, "TTL of Resolve answers")->capture_default_str();
  app.add_option("--health-service", config.health_service,
                 "grpc.health.v1 service name each probe checks")
      ->capture_default_str();
  app.add_option("--dns-listen", dns_listen,
                 "answer DNS (UDP and TCP) on this loopback host:port (port 0 = ephemeral); "
                 "empty = no DNS");
  app.add_option("--dns-name", dns_name,
                 "DNS name answered (default <profile>.trafficmanager.test); others get NXDOMAIN");
  app.add_option("--dns-address", dns_address_flags,
                 "NAME=IP, repeatable: the A/AAAA answer while endpoint NAME is routed (default: "
                 "the HOST of its --endpoint; DNS carries no port). E.g. primary=127.0.0.11")
      ->take_all();
  app.add_option("--ready-file", ready_file,
                 "write {pid, address[, dns_address]} here once serving");
  app.add_option("--log-format", log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", log_level, "spdlog level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error naming the flag
    return rc == 0 ? 0 : kExitBadConfig;
  }

  if (Status s = net::validate_listen_address("--listen", listen); !s.is_ok()) {
    return bad_config(s.message());
  }
  for (size_t i = 0; i < endpoint_flags.size(); ++i) {
    auto spec = trafficmgr::parse_endpoint_flag(endpoint_flags[i], static_cast<uint32_t>(i + 1));
    if (!spec.is_ok()) return bad_config(spec.status().message());
    config.endpoints.push_back(std::move(spec).value());
  }
  for (const auto& flag : probe_address_flags) {
    if (Status s = trafficmgr::apply_probe_address_flag(flag, &config.endpoints); !s.is_ok()) {
      return bad_config(s.message());
    }
  }
  if (tolerated < 0 || tolerated > model::kMaxToleratedFailures) {
    return bad_config("--tolerated-failures: " + std::to_string(tolerated) +
                      " is out of range 0.." + std::to_string(model::kMaxToleratedFailures));
  }
  config.monitor.probe_interval = std::chrono::milliseconds(interval_ms);
  config.monitor.probe_timeout = std::chrono::milliseconds(timeout_ms);
  config.monitor.tolerated_failures = static_cast<uint32_t>(tolerated);
  config.ttl = std::chrono::milliseconds(ttl_ms);
  if (Status s = config.validate(); !s.is_ok()) return bad_config(s.message());
  std::optional<trafficmgr::DnsServerConfig> dns_config;
  if (!dns_listen.empty()) {
    if (dns_name.empty()) dns_name = config.profile + ".trafficmanager.test";
    auto made = trafficmgr::make_dns_server_config(dns_listen, dns_name, dns_address_flags,
                                                   config.endpoints);
    if (!made.is_ok()) return bad_config(made.status().message());
    dns_config = std::move(made).value();
  } else if (!dns_name.empty() || !dns_address_flags.empty()) {
    return bad_config("--dns-name and --dns-address need --dns-listen");
  }

  net::setup_logging("trafficmgr", log_format, log_level);
  boost::asio::io_context io;
  net::AsioScheduler scheduler(io);
  trafficmgr::TrafficManager traffic_manager(config, scheduler);
  trafficmgr::TrafficManagerService service(traffic_manager.state());
  net::HealthService health;
  health.set_status("", grpc::health::v1::HealthCheckResponse::SERVING);
  health.set_status("drsim.v1.TrafficManager", grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  builder.RegisterService(&health);
  auto started = net::start_server(builder, listen);
  if (!started.is_ok()) {
    spdlog::error("{}", started.status().message());
    return 1;
  }
  spdlog::info(
      "profile {} serving on {}: {} endpoints, probe every {} ms (timeout {} ms, "
      "tolerated failures {}), ttl {} ms, health service '{}'",
      config.profile, started->address, config.endpoints.size(), interval_ms, timeout_ms, tolerated,
      ttl_ms, config.health_service);
  for (const auto& e : config.endpoints) {
    spdlog::info("endpoint {} at {} priority {} (probed at {})", e.name, e.address, e.priority,
                 e.probed());
  }
  std::shared_ptr<trafficmgr::DnsServer> dns;
  std::string ready_extra;
  if (dns_config) {
    auto dns_started = trafficmgr::DnsServer::start(io, *dns_config, traffic_manager.state());
    if (!dns_started.is_ok()) {
      spdlog::error("{}", dns_started.status().message());
      started->server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
    dns = std::move(dns_started).value();
    std::string answers;
    for (const auto& [name, ip] : dns_config->endpoint_address_text) {
      answers += (answers.empty() ? "" : ", ") + name + "=" + ip;
    }
    spdlog::info("dns serving {} on {} (udp+tcp), answers {}", dns_config->name.to_string(),
                 dns->address(), answers);
    ready_extra = "\"dns_address\":\"" + dns->address() + "\"";
  }
  if (!ready_file.empty()) {
    if (Status s = net::write_ready_file(ready_file, started->address, ready_extra); !s.is_ok()) {
      spdlog::error("{}", s.message());
      started->server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
  }

  boost::asio::post(io, [&] { traffic_manager.start(); });
  net::StopSignals stop_signals(io, [&] {
    if (dns) dns->stop();
    traffic_manager.stop();
    io.stop();
  });
  io.run();

  // Watch streams end cleanly first, so Shutdown does not wait out its deadline on them.
  health.set_status("", grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  traffic_manager.state().close();
  started->server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  spdlog::info("stopped");
  return 0;
}
