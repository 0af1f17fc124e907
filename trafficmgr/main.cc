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

// The flags as typed: the one profile they describe (unless --config gives the profiles), the
// repeatable NAME=... flags still as text, and the transport flags.
struct TmFlags {
  trafficmgr::FlagProfileConfig flag_profile;
  std::string config_file;
  uint64_t seed = 1;
  std::vector<std::string> endpoint_flags, probe_address_flags;
  int64_t interval_ms = 100, timeout_ms = 50, tolerated = 2, ttl_ms = 500;
  std::string dns_listen, dns_name;
  std::vector<std::string> dns_address_flags;
  std::string probe_protocol = "grpc", probe_path;
  std::vector<std::string> probe_header_flags, expected_status_flags, region_admin_flags;
  net::TransportFlags transport_flags;
};

// Where the Traffic Manager serves gRPC, where its witness keeps state, and where the profiles
// come from.
void add_server_flags(CLI::App& app, TmFlags& f, TmDaemonConfig& c) {
  app.add_option("--listen", c.listen, "gRPC listen address host:port (port 0 = ephemeral)")
      ->capture_default_str();
  app.add_option("--state-dir", c.state_dir,
                 "Directory where the lease witness records the highest epoch of each region "
                 "pair (witness.json), so a restart does not forget a promotion; without it the "
                 "witness remembers nothing across restarts")
      ->check(CLI::ExistingDirectory);
  app.add_option("--config", f.config_file,
                 "YAML file of profiles (routing methods, monitors, endpoints, nesting), client "
                 "locations and latency; replaces the single-profile flags (docs/trafficmgr.md)");
  app.add_option("--seed", f.seed,
                 "seed of weighted and performance draws (with --config the "
                 "file's seed: wins)")
      ->capture_default_str();
}

// The single profile: its name, endpoints, monitor and TTL.
void add_profile_flags(CLI::App& app, TmFlags& f) {
  app.add_option("--profile", f.flag_profile.profile, "Traffic Manager profile name")
      ->capture_default_str();
  app.add_option("--endpoint", f.endpoint_flags,
                 "NAME=HOST:PORT[@PRIORITY], repeatable; priority defaults to 1, 2, ... in order")
      ->take_all();
  app.add_option("--probe-address", f.probe_address_flags,
                 "NAME=HOST:PORT, repeatable: probe endpoint NAME here instead of its --endpoint "
                 "address (clients still get that one)")
      ->take_all();
  app.add_option("--probe-interval-ms", f.interval_ms, "probe every endpoint this often")
      ->capture_default_str();
  app.add_option("--probe-timeout-ms", f.timeout_ms, "probe deadline (<= interval)")
      ->capture_default_str();
  app.add_option("--tolerated-failures", f.tolerated, "failures before Degraded (0..9)")
      ->capture_default_str();
  app.add_option("--ttl-ms", f.ttl_ms, "TTL of Resolve answers")->capture_default_str();
  app.add_option("--health-service", f.flag_profile.health_service,
                 "grpc.health.v1 service name each probe checks (--probe-protocol grpc)")
      ->capture_default_str();
}

// How the single profile's probes ask: protocol, and for HTTP(S) path, headers and good codes.
void add_probe_flags(CLI::App& app, TmFlags& f) {
  app.add_option("--probe-protocol", f.probe_protocol,
                 "grpc (grpc.health.v1 Check), http, https (certificate not validated) or tcp "
                 "(connect); http/https/tcp probe each endpoint's --probe-address, e.g. a "
                 "region's --http-listen address. With --tls-dir, http and https probes of an "
                 "endpoint named primary or secondary speak HTTPS and require that region's "
                 "certificate of the CA")
      ->capture_default_str();
  app.add_option("--probe-path", f.probe_path,
                 "HTTP(S) only: the path probes GET (default /health, a region's health page)");
  app.add_option("--probe-header", f.probe_header_flags,
                 "HTTP(S) only: NAME:VALUE sent with every probe, repeatable, at most 8")
      ->take_all();
  app.add_option("--expected-status", f.expected_status_flags,
                 "HTTP(S) only: status code or range counted as success (e.g. 200-299), "
                 "repeatable, at most 8; default 200")
      ->take_all();
}

// The dashboard and the regions it watches.
void add_dashboard_flags(CLI::App& app, TmFlags& f, TmDaemonConfig& c) {
  app.add_option("--dashboard-listen", c.dashboard_listen,
                 "serve the dashboard (GET /, /api/state, /metrics) on this loopback host:port "
                 "(port 0 = ephemeral); HTTPS with the trafficmgr certificate under --tls-dir, "
                 "plain HTTP with --insecure; empty = no dashboard");
  app.add_option("--region-admin", f.region_admin_flags,
                 "NAME=HOST:PORT, repeatable: a region's gRPC address; the dashboard shows its "
                 "role, epoch and replication lag (GetStatus). Needs --dashboard-listen")
      ->take_all();
}

// The DNS server: where it listens, the name it answers and the addresses it gives.
void add_dns_flags(CLI::App& app, TmFlags& f) {
  app.add_option("--dns-listen", f.dns_listen,
                 "answer DNS (UDP and TCP) on this loopback host:port (port 0 = ephemeral); "
                 "empty = no DNS");
  app.add_option("--dns-name", f.dns_name,
                 "DNS name answered (default <profile>.trafficmanager.test); others get NXDOMAIN");
  app.add_option("--dns-address", f.dns_address_flags,
                 "NAME=IP, repeatable: the A/AAAA answer while endpoint NAME is routed (default: "
                 "the HOST of its --endpoint; DNS carries no port). E.g. primary=127.0.0.11")
      ->take_all();
}

// --endpoint and --probe-address into the single profile's endpoints.
Status apply_endpoint_flags(TmFlags& f) {
  for (size_t i = 0; i < f.endpoint_flags.size(); ++i) {
    auto spec = trafficmgr::parse_endpoint_flag(f.endpoint_flags[i], static_cast<uint32_t>(i + 1));
    if (!spec.is_ok()) return spec.status();
    f.flag_profile.endpoints.push_back(std::move(spec).value());
  }
  for (const auto& flag : f.probe_address_flags) {
    if (Status s = trafficmgr::apply_probe_address_flag(flag, &f.flag_profile.endpoints);
        !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

// --probe-protocol, --probe-path, --probe-header and --expected-status into the single profile's
// probe.
Status apply_probe_flags(TmFlags& f) {
  auto protocol = trafficmgr::parse_probe_protocol_flag(f.probe_protocol);
  if (!protocol.is_ok()) return protocol.status();
  f.flag_profile.probe.protocol = *protocol;
  bool http_probe =
      *protocol == model::TmProbeProtocol::kHttp || *protocol == model::TmProbeProtocol::kHttps;
  // drsim's regions answer /health; Azure's default path "/" would only find a 404 there.
  f.flag_profile.probe.path = !f.probe_path.empty() ? f.probe_path : (http_probe ? "/health" : "");
  for (const auto& flag : f.probe_header_flags) {
    auto header = trafficmgr::parse_probe_header_flag(flag);
    if (!header.is_ok()) return header.status();
    f.flag_profile.probe.custom_headers.push_back(*header);
  }
  for (const auto& flag : f.expected_status_flags) {
    auto range = trafficmgr::parse_expected_status_flag(flag);
    if (!range.is_ok()) return range.status();
    f.flag_profile.probe.expected_status_codes.push_back(*range);
  }
  return Status::ok();
}

// The one profile the flags describe, as `drsim up` starts it.
Result<trafficmgr::TrafficManagerConfig> config_from_flags(TmFlags& f) {
  if (Status s = apply_endpoint_flags(f); !s.is_ok()) return s;
  if (f.tolerated < 0 || f.tolerated > model::kMaxToleratedFailures) {
    return invalid_argument("--tolerated-failures: " + std::to_string(f.tolerated) +
                            " is out of range 0.." + std::to_string(model::kMaxToleratedFailures));
  }
  f.flag_profile.monitor.probe_interval = std::chrono::milliseconds(f.interval_ms);
  f.flag_profile.monitor.probe_timeout = std::chrono::milliseconds(f.timeout_ms);
  f.flag_profile.monitor.tolerated_failures = static_cast<uint32_t>(f.tolerated);
  f.flag_profile.ttl = std::chrono::milliseconds(f.ttl_ms);
  if (Status s = apply_probe_flags(f); !s.is_ok()) return s;
  if (Status s = f.flag_profile.validate(); !s.is_ok()) return s;
  trafficmgr::TrafficManagerConfig config;
  config.seed = f.seed;
  config.profiles.push_back(f.flag_profile.to_profile_spec());
  if (Status s = trafficmgr::apply_dns_flags(f.dns_name, f.dns_address_flags, &config.profiles[0]);
      !s.is_ok()) {
    return s;
  }
  if (Status s = config.validate(); !s.is_ok()) return s;
  return config;
}

// The profiles of --config, which no single-profile flag may accompany.
Result<trafficmgr::TrafficManagerConfig> config_from_file(const CLI::App& app,
                                                          const std::string& config_file) {
  for (const char* flag :
       {"--profile", "--endpoint", "--probe-address", "--probe-interval-ms", "--probe-timeout-ms",
        "--tolerated-failures", "--ttl-ms", "--health-service", "--probe-protocol", "--probe-path",
        "--probe-header", "--expected-status", "--dns-name", "--dns-address"}) {
    if (app.count(flag) > 0) {
      return invalid_argument(std::string("--config: ") + flag +
                              " cannot be combined with it; give the setting in the file");
    }
  }
  return trafficmgr::load_traffic_manager_config(config_file);
}

// --region-admin into c.region_admins: each region once, at most kMaxRegionAdmins, and only with
// the dashboard that shows them.
Status apply_region_admin_flags(const TmFlags& f, TmDaemonConfig& c) {
  std::vector<trafficmgr::RegionAdminSpec>& region_admins = c.region_admins;
  for (const auto& flag : f.region_admin_flags) {
    auto spec = trafficmgr::parse_region_admin_flag(flag);
    if (!spec.is_ok()) return spec.status();
    for (const auto& other : region_admins) {
      if (other.name == spec->name) {
        return invalid_argument("--region-admin: region '" + spec->name + "' is given twice");
      }
    }
    region_admins.push_back(*spec);
  }
  if (region_admins.size() > kMaxRegionAdmins) {
    return invalid_argument("--region-admin: at most " + std::to_string(kMaxRegionAdmins) +
                            " regions");
  }
  if (!c.dashboard_listen.empty()) {
    return net::validate_loopback_listen_address("--dashboard-listen", c.dashboard_listen);
  }
  if (!region_admins.empty()) {
    return invalid_argument(
        "--region-admin needs --dashboard-listen (only the dashboard shows it)");
  }
  return Status::ok();
}

// --dns-listen (with --dns-name and --dns-address) into c.dns_config.
Status apply_dns_listen_flags(const TmFlags& f, TmDaemonConfig& c) {
  if (!f.dns_listen.empty()) {
    auto made = trafficmgr::make_dns_server_config(f.dns_listen, c.config);
    if (!made.is_ok()) return made.status();
    c.dns_config = std::move(made).value();
  } else if (!f.dns_name.empty() || !f.dns_address_flags.empty()) {
    return invalid_argument("--dns-name and --dns-address need --dns-listen");
  }
  return Status::ok();
}

// Checks the parsed flags and fills `c`, in the order their errors are reported;
// INVALID_ARGUMENT naming the flag (or the config file) that is wrong.
Status apply_flags(const CLI::App& app, TmFlags& f, TmDaemonConfig& c) {
  if (Status s = config::validate_listen_address("--listen", c.listen); !s.is_ok()) return s;
  auto config = f.config_file.empty() ? config_from_flags(f) : config_from_file(app, f.config_file);
  if (!config.is_ok()) return config.status();
  c.config = std::move(config).value();
  if (Status s = apply_region_admin_flags(f, c); !s.is_ok()) return s;
  if (Status s = apply_dns_listen_flags(f, c); !s.is_ok()) return s;
  // Last of the flags: a bad profile flag is named first, whatever the transport.
  auto transport = net::make_transport(f.transport_flags, "trafficmgr", c.listen);
  if (!transport.is_ok()) return transport.status();
  c.transport = std::move(transport).value();
  return Status::ok();
}

// Parses and checks the flags into `c`; an exit code when the daemon must not go on (0 after
// --help, 2 for bad flags, with the reason on stderr).
std::optional<int> parse_flags(int argc, char** argv, TmDaemonConfig& c) {
  CLI::App app{"drsim Traffic Manager: probes endpoints, answers Resolve and DNS per profile"};
  TmFlags f;
  add_server_flags(app, f, c);
  add_profile_flags(app, f);
  add_probe_flags(app, f);
  add_dashboard_flags(app, f, c);
  add_dns_flags(app, f);
  c.daemon_flags.add_to(
      app, "write {pid, address[, dns_address][, dashboard_address]} here once serving");
  net::add_transport_flags(app, f.transport_flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the error naming the flag
    return rc == 0 ? 0 : kExitBadConfig;
  }
  if (Status s = apply_flags(app, f, c); !s.is_ok()) return bad_config(s.message());
  return std::nullopt;
}

// The running Traffic Manager: its loop and scheduler, the Traffic Manager with its lease witness,
// the gRPC services, and the DNS and dashboard servers in front of them. Members are built in this
// order and destroyed in reverse: the servers go before what they serve, the loop last.
class TrafficManagerProcess {
 public:
  explicit TrafficManagerProcess(const TmDaemonConfig& c);

  // Restores the witness, starts the servers and the probes, serves until SIGTERM / SIGINT and
  // stops in order; the exit code.
  int run();

 private:
  bool start_grpc_server();
  bool start_dns_server();
  bool start_dashboard();
  bool write_ready_file();
  void run_until_stopped();

  const TmDaemonConfig& c_;
  boost::asio::io_context io_;
  // One scheduler for the process, which is its clock too, injected into every driver.
  net::AsioScheduler scheduler_;
  trafficmgr::TrafficManager traffic_manager_;
  // Monotonic: clock skew moves wall time only.
  trafficmgr::LeaseWitness witness_;
  trafficmgr::TrafficManagerService service_;
  net::HealthService health_;
  grpc::ServerBuilder builder_;
  net::StartedServer server_;
  std::shared_ptr<trafficmgr::DnsServer> dns_;
  std::string ready_extra_;
  std::unique_ptr<trafficmgr::RegionStatusPoller> region_poller_;
  std::optional<trafficmgr::Dashboard> dashboard_;
  std::shared_ptr<net::HttpServer> dashboard_server_;
};

TrafficManagerProcess::TrafficManagerProcess(const TmDaemonConfig& c)
    : c_(c),
      scheduler_(io_),
      traffic_manager_(
          c.config, scheduler_, scheduler_,
          [this](const trafficmgr::ProberConfig& prober, trafficmgr::Prober::ResultHandler on) {
            return trafficmgr::make_prober(io_, scheduler_, *c_.transport, prober, kRegions,
                                           std::move(on));
          }),
      witness_(scheduler_, c.state_dir.empty() ? "" : c.state_dir + "/witness.json"),
      // A region that has just begun serving (a promotion) is probed at once, not at the next
      // interval: routing follows the promotion without waiting out a probe interval.
      service_(traffic_manager_.state(), witness_,
               [this](const std::string& region, uint64_t epoch) {
                 boost::asio::post(io_, [this, region, epoch] {
                   spdlog::info("region {} serves at epoch {}: probing every endpoint now", region,
                                epoch);
                   traffic_manager_.probe_now();
                 });
               }) {}

int TrafficManagerProcess::run() {
  if (Status s = witness_.restore(); !s.is_ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (c_.state_dir.empty()) {
    spdlog::warn("lease witness: no --state-dir, so a restart forgets every epoch it has seen");
  }
  health_.set_status("", grpc::health::v1::HealthCheckResponse::SERVING);
  health_.set_status("drsim.v1.TrafficManager", grpc::health::v1::HealthCheckResponse::SERVING);
  if (!start_grpc_server()) return 1;
  log_profiles(c_.config, server_.address);
  if (!start_dns_server() || !start_dashboard() || !write_ready_file()) return 1;
  run_until_stopped();
  return 0;
}

// Registers the services and binds --listen; false (logged) when it cannot.
bool TrafficManagerProcess::start_grpc_server() {
  builder_.RegisterService(&service_);
  builder_.RegisterService(&health_);
  auto started =
      net::start_server(builder_, c_.listen, c_.transport->server_credentials({"", kRegions}),
                        net::kControlServerLimits);
  if (!started.is_ok()) {
    spdlog::error("{}", started.status().message());
    return false;
  }
  server_ = std::move(started).value();
  return true;
}

// DNS on --dns-listen, if given; false (logged) when it cannot bind.
bool TrafficManagerProcess::start_dns_server() {
  if (!c_.dns_config) return true;
  const trafficmgr::DnsServerConfig& dns_config = *c_.dns_config;
  auto dns_started = trafficmgr::DnsServer::start(io_, dns_config, traffic_manager_.state());
  if (!dns_started.is_ok()) {
    spdlog::error("{}", dns_started.status().message());
    server_.server->Shutdown(std::chrono::system_clock::now());
    return false;
  }
  dns_ = std::move(dns_started).value();
  for (const auto& [name, profile] : dns_config.names) {
    spdlog::info("dns serving {} on {} (udp+tcp) for profile {}, answers {}", name.to_string(),
                 dns_->address(), profile, dns_config.endpoint_address_text.at(profile));
  }
  ready_extra_ = "\"dns_address\":\"" + dns_->address() + "\"";
  return true;
}

// The regions' status poller (with --region-admin) and the dashboard on --dashboard-listen, if
// given; false (logged) when it cannot bind.
bool TrafficManagerProcess::start_dashboard() {
  if (!c_.region_admins.empty()) {
    region_poller_ = std::make_unique<trafficmgr::RegionStatusPoller>(
        scheduler_, *c_.transport, c_.region_admins, kRegionStatusInterval, kRegionStatusTimeout,
        kRegionListsInterval);
  }
  dashboard_.emplace(traffic_manager_, region_poller_.get());
  if (c_.dashboard_listen.empty()) return true;
  auto https = net::https_server_context_for(*c_.transport);
  auto http_started = https.is_ok()
                          ? net::HttpServer::start(io_, "--dashboard-listen", c_.dashboard_listen,
                                                   dashboard_->routes(), {}, *https)
                          : Result<std::shared_ptr<net::HttpServer>>(https.status());
  if (!http_started.is_ok()) {
    spdlog::error("{}", http_started.status().message());
    if (dns_) dns_->stop();
    server_.server->Shutdown(std::chrono::system_clock::now());
    return false;
  }
  dashboard_server_ = std::move(http_started).value();
  spdlog::info("dashboard on {} (GET /, /api/state, /metrics), {} region(s) watched",
               dashboard_server_->url(), c_.region_admins.size());
  ready_extra_ += std::string(ready_extra_.empty() ? "" : ",") + "\"dashboard_address\":\"" +
                  dashboard_server_->address() + "\"";
  return true;
}

// The --ready-file, if given; false (logged) when it cannot be written.
bool TrafficManagerProcess::write_ready_file() {
  if (c_.daemon_flags.ready_file.empty()) return true;
  if (Status s =
          runtime::write_ready_file(c_.daemon_flags.ready_file, server_.address, ready_extra_);
      !s.is_ok()) {
    spdlog::error("{}", s.message());
    server_.server->Shutdown(std::chrono::system_clock::now());
    return false;
  }
  return true;
}

// Starts the probes and runs the loop until SIGTERM / SIGINT, then stops the servers and probes
// and shuts the gRPC server down.
void TrafficManagerProcess::run_until_stopped() {
  boost::asio::post(io_, [this] {
    traffic_manager_.start();
    if (region_poller_) region_poller_->start();
  });
  runtime::StopSignals stop_signals(io_, [this] {
    if (dns_) dns_->stop();
    if (dashboard_server_) dashboard_server_->stop();
    if (region_poller_) region_poller_->stop();
    traffic_manager_.stop();
    io_.stop();
  });
  io_.run();

  // Watch streams end cleanly first, so Shutdown does not wait out its deadline on them.
  health_.set_status("", grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  traffic_manager_.state().close();
  server_.server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  spdlog::info("stopped");
}

// Starts the Traffic Manager, its witness, DNS and dashboard, and serves until SIGTERM /
// SIGINT; the exit code.
int serve(const TmDaemonConfig& c) {
  c.daemon_flags.start_logging("trafficmgr");
  TrafficManagerProcess process(c);
  return process.run();
}

}  // namespace

int main(int argc, char** argv) {
  TmDaemonConfig c;
  if (std::optional<int> done = parse_flags(argc, argv, c)) return *done;
  return serve(c);
}
