// drsim-trafficmgr: probes the endpoints of its profiles and answers Resolve and DNS with each
// profile's routing method. The profiles come from --config FILE, or from flags (one priority
// profile). main only parses options, builds the objects, runs the loop and stops on SIGTERM.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "common/config/listen_address.h"
#include "common/net/asio_scheduler.h"
#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "common/net/http_server.h"
#include "common/net/https_context.h"
#include "common/net/transport_flags.h"
#include "common/runtime/daemon_flags.h"
#include "common/runtime/process_runtime.h"
#include "trafficmgr/dashboard.h"
#include "trafficmgr/dns_server.h"
#include "trafficmgr/region_status_poller.h"
#include "trafficmgr/traffic_manager.h"
#include "trafficmgr/traffic_manager_config_file.h"
#include "trafficmgr/lease_witness.h"
#include "trafficmgr/traffic_manager_service.h"

using namespace drsim;

namespace {

constexpr int kExitBadConfig = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(2);
// The dashboard page polls every 250 ms; region status is fetched as often, each call bounded.
constexpr auto kRegionStatusInterval = std::chrono::milliseconds(250);
constexpr auto kRegionStatusTimeout = std::chrono::milliseconds(1000);
// The dashboard's Site Recovery and Backup panels: items, jobs and vaults change at human pace.
constexpr auto kRegionListsInterval = std::chrono::milliseconds(1000);
constexpr size_t kMaxRegionAdmins = 16;
// The region daemons of a drsim topology: who may renew and fence a lease here, and the names a
// gRPC health probe requires of the server it reaches (prober.h, probe_peers).
const std::vector<std::string> kRegions = {"primary", "secondary"};

int bad_config(const std::string& message) {
  std::cerr << "drsim-trafficmgr: " << message << "\n";
  return kExitBadConfig;
}

// What the flags say, checked: everything serve() needs.
struct TmDaemonConfig {
  trafficmgr::TrafficManagerConfig config;
  std::vector<trafficmgr::RegionAdminSpec> region_admins;
  std::optional<trafficmgr::DnsServerConfig> dns_config;
  std::optional<net::Transport> transport;
  runtime::DaemonFlags daemon_flags;
  std::string listen = "127.0.0.1:0";
  std::string dashboard_listen;
  std::string state_dir;
};

// One line per profile and per endpoint: what this Traffic Manager serves and probes.
void log_profiles(const trafficmgr::TrafficManagerConfig& config, const std::string& address) {
  for (const auto& spec : config.profiles) {
    const model::TmProfile& profile = spec.profile;
    const model::TmMonitorConfig& m = profile.monitor;
    std::string probe_what = model::tm_probe_protocol_name(m.protocol);
    if (m.protocol == model::TmProbeProtocol::kGrpcHealth) {
      probe_what += " of '" + spec.health_service + "'";
    } else if (!m.path.empty()) {
      probe_what += " GET " + m.path;
    }
    spdlog::info(
        "profile {} serving on {}: {} routing, {} endpoints, {} probe every {} ms (timeout {} "
        "ms, tolerated failures {}), ttl {} ms{}",
        profile.name, address, model::tm_routing_method_name(profile.routing),
        profile.endpoints.size(), probe_what, to_ms(m.interval), to_ms(m.timeout),
        m.tolerated_failures, profile.ttl.count(),
        profile.enabled == model::TmEnabled::kDisabled ? " (disabled)" : "");
    for (size_t i = 0; i < profile.endpoints.size(); ++i) {
      const model::TmEndpoint& e = profile.endpoints[i];
      spdlog::info("endpoint {}/{} at {} priority {} weight {} (probed at {})", profile.name,
                   e.name, e.target, e.priority, e.weight,
                   e.kind == model::TmEndpointKind::kNested ? "-" : spec.probe_target(i));
    }
  }
}

// Parses and checks the flags into `c`; an exit code when the daemon must not go on (0 after
// --help, 2 for bad flags, with the reason on stderr).
std::optional<int> parse_flags(int argc, char** argv, TmDaemonConfig& c) {
  CLI::App app{"drsim Traffic Manager: probes endpoints, answers Resolve and DNS per profile"};
  trafficmgr::FlagProfileConfig flag_profile;
  std::string config_file;
  uint64_t seed = 1;
  std::string& listen = c.listen;
  std::vector<std::string> endpoint_flags, probe_address_flags;
  int64_t interval_ms = 100, timeout_ms = 50, tolerated = 2, ttl_ms = 500;
  runtime::DaemonFlags& daemon_flags = c.daemon_flags;
  std::string dns_listen, dns_name;
  std::vector<std::string> dns_address_flags;
  std::string probe_protocol = "grpc", probe_path;
  std::vector<std::string> probe_header_flags, expected_status_flags, region_admin_flags;
  std::string& dashboard_listen = c.dashboard_listen;
  std::string& state_dir = c.state_dir;
  net::TransportFlags transport_flags;
  app.add_option("--listen", listen, "gRPC listen address host:port (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--state-dir", state_dir,
                 "Directory where the lease witness records the highest epoch of each region "
                 "pair (witness.json), so a restart does not forget a promotion; without it the "
                 "witness remembers nothing across restarts")
      ->check(CLI::ExistingDirectory);
  app.add_option("--config", config_file,
                 "YAML file of profiles (routing methods, monitors, endpoints, nesting), client "
                 "locations and latency; replaces the single-profile flags (docs/trafficmgr.md)");
  app.add_option("--seed", seed, "seed of weighted and performance draws (with --config the "
                                 "file's seed: wins)")
      ->capture_default_str();
  app.add_option("--profile", flag_profile.profile, "Traffic Manager profile name")
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
  app.add_option("--health-service", flag_profile.health_service,
                 "grpc.health.v1 service name each probe checks (--probe-protocol grpc)")
      ->capture_default_str();
  app.add_option("--probe-protocol", probe_protocol,
                 "grpc (grpc.health.v1 Check), http, https (certificate not validated) or tcp "
                 "(connect); http/https/tcp probe each endpoint's --probe-address, e.g. a "
                 "region's --http-listen address. With --tls-dir, http and https probes of an "
                 "endpoint named primary or secondary speak HTTPS and require that region's "
                 "certificate of the CA")
      ->capture_default_str();
  app.add_option("--probe-path", probe_path,
                 "HTTP(S) only: the path probes GET (default /health, a region's health page)");
  app.add_option("--probe-header", probe_header_flags,
                 "HTTP(S) only: NAME:VALUE sent with every probe, repeatable, at most 8")
      ->take_all();
  app.add_option("--expected-status", expected_status_flags,
                 "HTTP(S) only: status code or range counted as success (e.g. 200-299), "
                 "repeatable, at most 8; default 200")
      ->take_all();
  app.add_option("--dashboard-listen", dashboard_listen,
                 "serve the dashboard (GET /, /api/state, /metrics) on this loopback host:port "
                 "(port 0 = ephemeral); HTTPS with the trafficmgr certificate under --tls-dir, "
                 "plain HTTP with --insecure; empty = no dashboard");
  app.add_option("--region-admin", region_admin_flags,
                 "NAME=HOST:PORT, repeatable: a region's gRPC address; the dashboard shows its "
                 "role, epoch and replication lag (GetStatus). Needs --dashboard-listen")
      ->take_all();
  app.add_option("--dns-listen", dns_listen,
                 "answer DNS (UDP and TCP) on this loopback host:port (port 0 = ephemeral); "
                 "empty = no DNS");
  app.add_option("--dns-name", dns_name,
                 "DNS name answered (default <profile>.trafficmanager.test); others get NXDOMAIN");
  app.add_option("--dns-address", dns_address_flags,
                 "NAME=IP, repeatable: the A/AAAA answer while endpoint NAME is routed (default: "
                 "the HOST of its --endpoint; DNS carries no port). E.g. primary=127.0.0.11")
      ->take_all();
  daemon_flags.add_to(app,
                "write {pid, address[, dns_address][, dashboard_address]} here once serving");
  net::add_transport_flags(app, transport_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error naming the flag
    return rc == 0 ? 0 : kExitBadConfig;
  }

  if (Status s = config::validate_listen_address("--listen", listen); !s.is_ok()) {
    return bad_config(s.message());
  }
  // The one profile the flags describe, as `drsim up` starts it.
  auto from_flags = [&]() -> std::variant<int, trafficmgr::TrafficManagerConfig> {
    for (size_t i = 0; i < endpoint_flags.size(); ++i) {
      auto spec = trafficmgr::parse_endpoint_flag(endpoint_flags[i], static_cast<uint32_t>(i + 1));
      if (!spec.is_ok()) return bad_config(spec.status().message());
      flag_profile.endpoints.push_back(std::move(spec).value());
    }
    for (const auto& flag : probe_address_flags) {
      if (Status s = trafficmgr::apply_probe_address_flag(flag, &flag_profile.endpoints); !s.is_ok()) {
        return bad_config(s.message());
      }
    }
    if (tolerated < 0 || tolerated > model::kMaxToleratedFailures) {
      return bad_config("--tolerated-failures: " + std::to_string(tolerated) +
                        " is out of range 0.." + std::to_string(model::kMaxToleratedFailures));
    }
    flag_profile.monitor.probe_interval = std::chrono::milliseconds(interval_ms);
    flag_profile.monitor.probe_timeout = std::chrono::milliseconds(timeout_ms);
    flag_profile.monitor.tolerated_failures = static_cast<uint32_t>(tolerated);
    flag_profile.ttl = std::chrono::milliseconds(ttl_ms);
    auto protocol = trafficmgr::parse_probe_protocol_flag(probe_protocol);
    if (!protocol.is_ok()) return bad_config(protocol.status().message());
    flag_profile.probe.protocol = *protocol;
    bool http_probe =
        *protocol == model::TmProbeProtocol::kHttp || *protocol == model::TmProbeProtocol::kHttps;
    // drsim's regions answer /health; Azure's default path "/" would only find a 404 there.
    flag_profile.probe.path = !probe_path.empty() ? probe_path : (http_probe ? "/health" : "");
    for (const auto& flag : probe_header_flags) {
      auto header = trafficmgr::parse_probe_header_flag(flag);
      if (!header.is_ok()) return bad_config(header.status().message());
      flag_profile.probe.custom_headers.push_back(*header);
    }
    for (const auto& flag : expected_status_flags) {
      auto range = trafficmgr::parse_expected_status_flag(flag);
      if (!range.is_ok()) return bad_config(range.status().message());
      flag_profile.probe.expected_status_codes.push_back(*range);
    }
    if (Status s = flag_profile.validate(); !s.is_ok()) return bad_config(s.message());
    trafficmgr::TrafficManagerConfig config;
    config.seed = seed;
    config.profiles.push_back(flag_profile.to_profile_spec());
    if (Status s = trafficmgr::apply_dns_flags(dns_name, dns_address_flags, &config.profiles[0]);
        !s.is_ok()) {
      return bad_config(s.message());
    }
    if (Status s = config.validate(); !s.is_ok()) return bad_config(s.message());
    return config;
  };
  trafficmgr::TrafficManagerConfig& config = c.config;
  if (!config_file.empty()) {
    for (const char* flag : {"--profile", "--endpoint", "--probe-address", "--probe-interval-ms",
                             "--probe-timeout-ms", "--tolerated-failures", "--ttl-ms",
                             "--health-service", "--probe-protocol", "--probe-path",
                             "--probe-header", "--expected-status", "--dns-name",
                             "--dns-address"}) {
      if (app.count(flag) > 0) {
        return bad_config(std::string("--config: ") + flag +
                          " cannot be combined with it; give the setting in the file");
      }
    }
    auto loaded = trafficmgr::load_traffic_manager_config(config_file);
    if (!loaded.is_ok()) return bad_config(loaded.status().message());
    config = std::move(loaded).value();
  } else {
    auto made = from_flags();
    if (std::holds_alternative<int>(made)) return std::get<int>(made);
    config = std::move(std::get<trafficmgr::TrafficManagerConfig>(made));
  }
  std::vector<trafficmgr::RegionAdminSpec>& region_admins = c.region_admins;
  for (const auto& flag : region_admin_flags) {
    auto spec = trafficmgr::parse_region_admin_flag(flag);
    if (!spec.is_ok()) return bad_config(spec.status().message());
    for (const auto& other : region_admins) {
      if (other.name == spec->name) {
        return bad_config("--region-admin: region '" + spec->name + "' is given twice");
      }
    }
    region_admins.push_back(*spec);
  }
  if (region_admins.size() > kMaxRegionAdmins) {
    return bad_config("--region-admin: at most " + std::to_string(kMaxRegionAdmins) + " regions");
  }
  if (!dashboard_listen.empty()) {
    if (Status s = net::validate_loopback_listen_address("--dashboard-listen", dashboard_listen);
        !s.is_ok()) {
      return bad_config(s.message());
    }
  } else if (!region_admins.empty()) {
    return bad_config("--region-admin needs --dashboard-listen (only the dashboard shows it)");
  }
  std::optional<trafficmgr::DnsServerConfig>& dns_config = c.dns_config;
  if (!dns_listen.empty()) {
    auto made = trafficmgr::make_dns_server_config(dns_listen, config);
    if (!made.is_ok()) return bad_config(made.status().message());
    dns_config = std::move(made).value();
  } else if (!dns_name.empty() || !dns_address_flags.empty()) {
    return bad_config("--dns-name and --dns-address need --dns-listen");
  }

  // Last of the flags: a bad profile flag is named first, whatever the transport.
  auto transport = net::make_transport(transport_flags, "trafficmgr", listen);
  if (!transport.is_ok()) return bad_config(transport.status().message());
  c.transport = std::move(transport).value();
  return std::nullopt;
}

// Starts the Traffic Manager, its witness, DNS and dashboard, and serves until SIGTERM /
// SIGINT; the exit code.
int serve(TmDaemonConfig& c) {
  const trafficmgr::TrafficManagerConfig& config = c.config;
  std::optional<net::Transport>& transport = c.transport;
  const std::string& listen = c.listen;
  const std::string& state_dir = c.state_dir;
  const std::string& dashboard_listen = c.dashboard_listen;
  const std::vector<trafficmgr::RegionAdminSpec>& region_admins = c.region_admins;
  std::optional<trafficmgr::DnsServerConfig>& dns_config = c.dns_config;
  const runtime::DaemonFlags& daemon_flags = c.daemon_flags;
  daemon_flags.start_logging("trafficmgr");
  boost::asio::io_context io;
  // One scheduler for the process, which is its clock too, injected into every driver.
  net::AsioScheduler scheduler(io);
  const Clock& clock = scheduler;
  trafficmgr::TrafficManager traffic_manager(
      config, scheduler, clock,
      [&io, &clock, &transport](const trafficmgr::ProberConfig& prober,
                                trafficmgr::Prober::ResultHandler on) {
        return trafficmgr::make_prober(io, clock, *transport, prober, kRegions, std::move(on));
      });
  // Monotonic: clock skew moves wall time only.
  trafficmgr::LeaseWitness witness(clock, state_dir.empty() ? "" : state_dir + "/witness.json");
  if (Status s = witness.restore(); !s.is_ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (state_dir.empty()) {
    spdlog::warn("lease witness: no --state-dir, so a restart forgets every epoch it has seen");
  }
  // A region that has just begun serving (a promotion) is probed at once, not at the next
  // interval: routing follows the promotion without waiting out a probe interval.
  trafficmgr::TrafficManagerService service(
      traffic_manager.state(), witness, [&io, &traffic_manager](const std::string& region,
                                                                 uint64_t epoch) {
        boost::asio::post(io, [&traffic_manager, region, epoch] {
          spdlog::info("region {} serves at epoch {}: probing every endpoint now", region, epoch);
          traffic_manager.probe_now();
        });
      });
  net::HealthService health;
  health.set_status("", grpc::health::v1::HealthCheckResponse::SERVING);
  health.set_status("drsim.v1.TrafficManager", grpc::health::v1::HealthCheckResponse::SERVING);

  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  builder.RegisterService(&health);
  auto started =
      net::start_server(builder, listen, transport->server_credentials({"", kRegions}),
                        net::kControlServerLimits);
  if (!started.is_ok()) {
    spdlog::error("{}", started.status().message());
    return 1;
  }
  log_profiles(config, started->address);
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
    for (const auto& [name, profile] : dns_config->names) {
      spdlog::info("dns serving {} on {} (udp+tcp) for profile {}, answers {}", name.to_string(),
                   dns->address(), profile, dns_config->endpoint_address_text[profile]);
    }
    ready_extra = "\"dns_address\":\"" + dns->address() + "\"";
  }
  std::unique_ptr<trafficmgr::RegionStatusPoller> region_poller;
  if (!region_admins.empty()) {
    region_poller = std::make_unique<trafficmgr::RegionStatusPoller>(
        scheduler, *transport, region_admins, kRegionStatusInterval, kRegionStatusTimeout,
        kRegionListsInterval);
  }
  trafficmgr::Dashboard dashboard(traffic_manager, region_poller.get());
  std::shared_ptr<net::HttpServer> dashboard_server;
  if (!dashboard_listen.empty()) {
    auto https = net::https_server_context_for(*transport);
    auto http_started = https.is_ok() ? net::HttpServer::start(io, "--dashboard-listen",
                                                               dashboard_listen, dashboard.routes(),
                                                               {}, *https)
                                      : Result<std::shared_ptr<net::HttpServer>>(https.status());
    if (!http_started.is_ok()) {
      spdlog::error("{}", http_started.status().message());
      if (dns) dns->stop();
      started->server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
    dashboard_server = std::move(http_started).value();
    spdlog::info("dashboard on {} (GET /, /api/state, /metrics), {} region(s) watched",
                 dashboard_server->url(), region_admins.size());
    ready_extra += std::string(ready_extra.empty() ? "" : ",") + "\"dashboard_address\":\"" +
                   dashboard_server->address() + "\"";
  }
  if (!daemon_flags.ready_file.empty()) {
    if (Status s =
            runtime::write_ready_file(daemon_flags.ready_file, started->address, ready_extra);
        !s.is_ok()) {
      spdlog::error("{}", s.message());
      started->server->Shutdown(std::chrono::system_clock::now());
      return 1;
    }
  }

  boost::asio::post(io, [&] {
    traffic_manager.start();
    if (region_poller) region_poller->start();
  });
  runtime::StopSignals stop_signals(io, [&] {
    if (dns) dns->stop();
    if (dashboard_server) dashboard_server->stop();
    if (region_poller) region_poller->stop();
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

}  // namespace

int main(int argc, char** argv) {
  TmDaemonConfig c;
  if (std::optional<int> done = parse_flags(argc, argv, c)) return *done;
  return serve(c);
}
