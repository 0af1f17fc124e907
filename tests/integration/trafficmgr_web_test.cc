// drsim-trafficmgr's HTTP, HTTPS and TCP probes and its dashboard, end to end: the real binary
// against real region daemons (--http-listen) or in-test HTTP servers, every process stopped by
// PID and every wait bounded. The last test renders the dashboard in headless chromium while
// an outage and a failover happen, and keeps a screenshot in the build tree.
#include <gtest/gtest.h>

#include <strings.h>

#include <atomic>
#include <mutex>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "common/model/dns/message.h"
#include "common/net/http_server.h"
#include "drsim/v1/backup.grpc.pb.h"
#include "drsim/v1/siterecovery.grpc.pb.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "tests/integration/web_fixture.h"

namespace drsim {
namespace {

using namespace webtest;
using nlohmann::json;
namespace asio = boost::asio;

// An in-test HTTP endpoint: GET /probe answers the status the test sets and records the
// headers of the last probe.
class FakeHttpEndpoint {
 public:
  FakeHttpEndpoint() : guard_(io_.get_executor()) {
    net::HttpRoutes routes;
    routes["/probe"] = [this](const net::HttpRequest& r) {
      std::lock_guard lock(mu_);
      last_headers_ = r.headers;
      ++probes_;
      return net::HttpResponse::text(status_.load(), "fake says " + std::to_string(status_));
    };
    auto started = net::HttpServer::start(io_, "--fake", "127.0.0.1:0", routes);
    if (!started.is_ok()) std::abort();
    server_ = *started;
    address_ = server_->address();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeHttpEndpoint() { stop(); }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      server_->stop();
      guard_.reset();
    });
    thread_.join();
  }
  void set_status(int status) { status_ = status; }
  const std::string& address() const { return address_; }
  std::string header(const std::string& name) {
    std::lock_guard lock(mu_);
    for (const auto& [n, v] : last_headers_) {
      if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
  int probes() {
    std::lock_guard lock(mu_);
    return probes_;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::shared_ptr<net::HttpServer> server_;
  std::string address_;
  std::thread thread_;
  std::atomic<int> status_{200};
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> last_headers_;
  int probes_ = 0;
};

// A loopback port nothing listens on (bound, then closed).
std::string closed_port_address() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return "127.0.0.1:" + std::to_string(a.local_endpoint().port());
}

constexpr const char* kChromium = "/usr/bin/chromium";

class TrafficManagerWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("drsim-tm-web");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (HasFailure()) {
      if (tm_) std::cerr << "--- drsim-trafficmgr log ---\n" << tm_->log();
      if (regions_) std::cerr << "--- region logs ---\n" << regions_->logs();
    }
    tm_.reset();
    regions_.reset();
    remove_test_dir(dir_);
  }

  void start_regions() {
    regions_ = std::make_unique<RegionPair>(dir_);
    ASSERT_TRUE(regions_->ok());
  }

  // drsim-trafficmgr with fast probes (interval_ms_, 1 tolerated failure) and a dashboard.
  void start_tm(std::vector<std::string> args) {
    fs::path ready = dir_ / "tm.ready.json";
    std::vector<std::string> argv{DRSIM_TRAFFICMGR_BIN,
                                  "--listen",
                                  "127.0.0.1:0",
                                  "--insecure",
                                  "--dashboard-listen",
                                  "127.0.0.1:0",
                                  "--probe-interval-ms",
                                  std::to_string(interval_ms_),
                                  "--probe-timeout-ms",
                                  std::to_string(timeout_ms_),
                                  "--tolerated-failures",
                                  "1",
                                  "--ttl-ms",
                                  "100",
                                  "--ready-file",
                                  ready.string(),
                                  "--log-level",
                                  "debug"};
    argv.insert(argv.end(), args.begin(), args.end());
    tm_ = std::make_unique<Process>(argv, dir_ / "trafficmgr.log");
    ASSERT_GT(tm_->pid(), 0);
    auto fields = wait_ready_file(ready);
    ASSERT_FALSE(fields["dashboard_address"].empty()) << "no ready file with dashboard_address";
    address_ = fields["address"];
    dashboard_ = fields["dashboard_address"];
    dns_ = fields["dns_address"];
  }

  // The TM probing the real regions' /health over HTTP, showing both regions' status.
  void start_tm_on_regions(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "--endpoint",       "primary=" + regions_->primary.address,
        "--endpoint",       "secondary=" + regions_->secondary.address,
        "--probe-protocol", "http",
        "--probe-address",  "primary=" + regions_->primary.http_address,
        "--probe-address",  "secondary=" + regions_->secondary.http_address,
        "--region-admin",   "primary=" + regions_->primary.address,
        "--region-admin",   "secondary=" + regions_->secondary.address};
    args.insert(args.end(), extra.begin(), extra.end());
    start_tm(args);
    // As `drsim up` does: the Traffic Manager is the regions' lease witness, so a region
    // promoted while its peer is in an outage can hold a lease (docs/replication.md).
    for (const char* name : {"primary", "secondary"}) {
      ASSERT_TRUE(regions_->set_witness(name, address_).ok()) << name;
    }
  }

  // Headless chromium on the dashboard. The page fetches /api/state after it loads; the virtual
  // time budget lets its first polls finish before the DOM is dumped or the screenshot taken.
  std::vector<std::string> chromium_args(const std::string& what) {
    return std::vector<std::string>{kChromium,
                                    "--headless",
                                    "--no-sandbox",
                                    "--disable-gpu",
                                    "--disable-dev-shm-usage",
                                    "--no-first-run",
                                    "--disable-background-networking",
                                    "--disable-component-update",
                                    "--disable-sync",
                                    "--user-data-dir=" + (dir_ / "chromium-profile").string(),
                                    "--virtual-time-budget=3000",
                                    "--window-size=1400,1100",
                                    what,
                                    "http://" + dashboard_ + "/"};
  }
  std::string dump_dom(const std::string& name) {
    fs::path out = dir_ / (name + ".dom.html");
    int rc = run_bounded(chromium_args("--dump-dom"), out, 90s);
    EXPECT_EQ(rc, 0) << "chromium --dump-dom " << name << " (-1: timed out after 90 s)";
    return read_file(out);
  }

  json state() {
    HttpReply r = http_get(dashboard_, "/api/state", 2s);
    if (r.status != 200) return json::object();
    return json::parse(r.body, nullptr, false);
  }
  json endpoint(const json& s, const std::string& name) {
    if (!s.contains("endpoints")) return json::object();
    for (const auto& e : s["endpoints"]) {
      if (e["name"] == name) return e;
    }
    return json::object();
  }
  std::string status_of(const std::string& name) {
    json e = endpoint(state(), name);
    return e.contains("status") ? e["status"].get<std::string>() : "";
  }
  std::string routed() {
    json s = state();
    return s.contains("routing") ? s["routing"]["endpoint"].get<std::string>() : "";
  }

  grpc::Status failover(const std::string& region) {
    auto stub = v1::RegionAdmin::NewStub(net::make_insecure_channel(regions_->region(region).address));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::FailoverRequest request;
    request.set_reason("trafficmgr_web_test");
    v1::FailoverResponse response;
    return stub->Failover(&ctx, request, &response);
  }

  fs::path dir_;
  std::unique_ptr<RegionPair> regions_;
  std::unique_ptr<Process> tm_;
  std::string address_, dashboard_, dns_;
  int interval_ms_ = 50;
  int timeout_ms_ = 40;
};

TEST_F(TrafficManagerWebTest, HttpProbeOfRealRegionsFailsOpenInAnOutageAndFollowsTheFailover) {
  ASSERT_NO_FATAL_FAILURE(start_regions());
  ASSERT_NO_FATAL_FAILURE(start_tm_on_regions());
  // The standby answers 503 on /health: HTTP probes see it Degraded, the primary Online.
  ASSERT_TRUE(wait_until([&] {
    return status_of("primary") == "Online" && status_of("secondary") == "Degraded";
  })) << state().dump(2);
  json s = state();
  EXPECT_EQ(s["routing"]["endpoint"], "primary");
  EXPECT_EQ(s["routing"]["address"], regions_->primary.address) << "clients get the gRPC address";
  EXPECT_EQ(endpoint(s, "primary")["last_probe_result"], "HTTP 200 OK");
  EXPECT_EQ(endpoint(s, "primary")["probe_address"], regions_->primary.http_address);
  EXPECT_EQ(endpoint(s, "secondary")["last_probe_result"].get<std::string>().rfind(
                "HTTP 503 Service Unavailable: standby: region secondary is the standby", 0),
            0u)
      << endpoint(s, "secondary").dump();

  // Outage on the primary: its /health goes 503, both are Degraded, answers fail open.
  ASSERT_TRUE(regions_->set_outage("primary", true).ok());
  ASSERT_TRUE(wait_until([&] { return status_of("primary") == "Degraded"; })) << state().dump(2);
  s = state();
  EXPECT_EQ(s["routing"]["endpoint"], "primary");
  EXPECT_TRUE(s["routing"]["fail_open"].get<bool>());
  EXPECT_EQ(s["profile_status"], "Degraded");
  EXPECT_EQ(endpoint(s, "primary")["last_probe_result"],
            "HTTP 503 Service Unavailable: outage: region primary is in an injected outage");

  // The operator fails over: the secondary serves writes, its /health turns 200, and the
  // Traffic Manager routes to it.
  ASSERT_TRUE(failover("secondary").ok());
  ASSERT_TRUE(wait_until([&] { return routed() == "secondary"; })) << state().dump(2);
  s = state();
  EXPECT_FALSE(s["routing"]["fail_open"].get<bool>());
  EXPECT_EQ(endpoint(s, "secondary")["status"], "Online");
  bool saw_route_change = false;
  for (const auto& e : s["events"]) {
    if (e["kind"] == "route" && e["to"] == "secondary") saw_route_change = true;
  }
  EXPECT_TRUE(saw_route_change) << s["events"].dump(2);
}

TEST_F(TrafficManagerWebTest, HttpProbeSendsHeadersAndJudgesTheExpectedStatusRanges) {
  FakeHttpEndpoint a, b;
  ASSERT_NO_FATAL_FAILURE(start_tm(
      {"--endpoint", "a=" + a.address(), "--endpoint", "b=" + b.address(), "--probe-protocol",
       "http", "--probe-path", "/probe", "--probe-header", "X-Drill: yes", "--probe-header",
       "Host:example.test", "--expected-status", "200-299", "--expected-status", "418"}));
  ASSERT_TRUE(wait_until([&] { return status_of("a") == "Online" && status_of("b") == "Online"; }));
  EXPECT_EQ(a.header("X-Drill"), "yes");
  EXPECT_EQ(a.header("Host"), "example.test");
  EXPECT_EQ(a.header("User-Agent"), "drsim-trafficmgr endpoint monitor");

  // Codes inside a listed range keep the endpoint healthy.
  for (int code : {204, 418}) {
    a.set_status(code);
    int seen = a.probes();
    ASSERT_TRUE(wait_until([&] { return a.probes() > seen + 2; }));
    EXPECT_EQ(status_of("a"), "Online") << code;
  }
  EXPECT_EQ(endpoint(state(), "a")["last_probe_result"], "HTTP 418 Unknown");

  // A redirect is not followed and not expected: a failure, like any other code outside.
  a.set_status(301);
  ASSERT_TRUE(wait_until([&] { return status_of("a") == "Degraded"; }));
  EXPECT_EQ(routed(), "b");
  EXPECT_EQ(endpoint(state(), "a")["last_probe_result"],
            "HTTP 301 Moved Permanently: fake says 301");
  a.set_status(299);
  EXPECT_TRUE(wait_until([&] { return status_of("a") == "Online" && routed() == "a"; }));
}

TEST_F(TrafficManagerWebTest, HttpProbeFailsOnTimeoutsAndRefusedConnections) {
  FakeHttpEndpoint a;
  // b accepts TCP connections (the kernel's backlog) but never answers HTTP.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io,
                                 asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string silent_address = "127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  ASSERT_NO_FATAL_FAILURE(start_tm(
      {"--endpoint", "a=" + a.address(), "--endpoint", "b=" + silent_address, "--endpoint",
       "c=" + closed_port_address(), "--probe-protocol", "http", "--probe-path", "/probe"}));
  ASSERT_TRUE(wait_until([&] {
    return status_of("a") == "Online" && status_of("b") == "Degraded" &&
           status_of("c") == "Degraded";
  })) << state().dump(2);
  json s = state();
  EXPECT_EQ(endpoint(s, "b")["last_probe_result"], "DEADLINE_EXCEEDED: no answer within 40ms");
  EXPECT_NE(endpoint(s, "c")["last_probe_result"].get<std::string>().find(
                "UNAVAILABLE: connect 127.0.0.1:"),
            std::string::npos)
      << endpoint(s, "c").dump();
}

TEST_F(TrafficManagerWebTest, TcpProbeIsOnlineWhileSomethingAcceptsConnections) {
  auto a = std::make_unique<FakeHttpEndpoint>();
  std::string a_address = a->address();
  ASSERT_NO_FATAL_FAILURE(start_tm({"--endpoint", "a=" + a_address, "--endpoint",
                                    "b=" + closed_port_address(), "--probe-protocol", "tcp"}));
  ASSERT_TRUE(wait_until([&] {
    return status_of("a") == "Online" && status_of("b") == "Degraded";
  })) << state().dump(2);
  json s = state();
  EXPECT_EQ(endpoint(s, "a")["last_probe_result"], "connected");
  EXPECT_NE(endpoint(s, "b")["last_probe_result"].get<std::string>().find("Connection refused"),
            std::string::npos)
      << endpoint(s, "b").dump();
  EXPECT_EQ(s["probe"]["protocol"], "TCP");
  EXPECT_EQ(s["probe"]["path"], "");

  a.reset();  // nothing listens on a any more
  EXPECT_TRUE(wait_until([&] { return status_of("a") == "Degraded"; }));
  EXPECT_TRUE(state()["routing"]["fail_open"].get<bool>());
}

TEST_F(TrafficManagerWebTest, TcpProbeOfARealRegionsHttpPort) {
  ASSERT_NO_FATAL_FAILURE(start_regions());
  ASSERT_NO_FATAL_FAILURE(
      start_tm({"--endpoint", "primary=" + regions_->primary.address, "--endpoint",
                "secondary=" + regions_->secondary.address, "--probe-protocol", "tcp",
                "--probe-address", "primary=" + regions_->primary.http_address, "--probe-address",
                "secondary=" + regions_->secondary.http_address}));
  // TCP only sees that the port accepts: the standby counts as Online, unlike with HTTP.
  EXPECT_TRUE(wait_until([&] {
    return status_of("primary") == "Online" && status_of("secondary") == "Online";
  })) << state().dump(2);
  regions_->primary.process->stop();
  EXPECT_TRUE(wait_until([&] { return routed() == "secondary"; })) << state().dump(2);
}

TEST_F(TrafficManagerWebTest, HttpsProbeDoesNotValidateTheCertificate) {
  const fs::path openssl = "/usr/bin/openssl";
  if (!fs::exists(openssl)) FAIL() << "openssl is not installed"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  // A self-signed certificate for a name nobody asked for: validation would refuse it.
  int rc = run_bounded(
      {openssl.string(), "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=not-this-host.invalid",
       "-keyout", (dir_ / "key.pem").string(), "-out", (dir_ / "cert.pem").string()},
      dir_ / "openssl-req.log", 30s);
  ASSERT_EQ(rc, 0) << read_file(dir_ / "openssl-req.log");
  std::string tls_address = closed_port_address();
  // `s_server -www` answers every GET with 200 and a status page.
  Process server(
      {openssl.string(), "s_server", "-accept", tls_address, "-cert", (dir_ / "cert.pem").string(),
       "-key", (dir_ / "key.pem").string(), "-www", "-quiet"},
      dir_ / "s_server.log");
  ASSERT_TRUE(wait_until([&] { return RawConnection(tls_address).connected(); }))
      << read_file(dir_ / "s_server.log");
  FakeHttpEndpoint plain;
  // A TLS handshake on a busy machine takes longer than a plain request.
  interval_ms_ = 300;
  timeout_ms_ = 250;
  ASSERT_NO_FATAL_FAILURE(
      start_tm({"--endpoint", "tls=" + tls_address, "--endpoint", "plain=" + plain.address(),
                "--probe-protocol", "https", "--probe-path", "/probe"}));
  ASSERT_TRUE(wait_until([&] {
    return status_of("tls") == "Online" && status_of("plain") == "Degraded";
  })) << state().dump(2);
  json s = state();
  EXPECT_EQ(endpoint(s, "tls")["last_probe_result"].get<std::string>().rfind("HTTP 200", 0), 0u);
  EXPECT_NE(endpoint(s, "plain")["last_probe_result"].get<std::string>().find("TLS handshake"),
            std::string::npos)
      << endpoint(s, "plain").dump();
  EXPECT_EQ(s["probe"]["protocol"], "HTTPS");
}

TEST_F(TrafficManagerWebTest, BadProbeAndDashboardFlagsExitTwoNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<std::string> many_headers, many_ranges;
  for (int i = 0; i < 9; ++i) {
    many_headers.insert(many_headers.end(), {"--probe-header", "X-" + std::to_string(i) + ":v"});
    many_ranges.insert(many_ranges.end(), {"--expected-status", std::to_string(200 + i)});
  }
  auto with_http = [](std::vector<std::string> more) {
    std::vector<std::string> args{"--probe-protocol", "http"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<Case> cases{
      {{"--probe-protocol", "udp"}, "--probe-protocol: 'udp' is not grpc, http, https or tcp"},
      {{"--probe-protocol", "tcp", "--probe-path", "/x"},
       "--probe-path: path: \"/x\" is not allowed for TCP probes"},
      {{"--probe-protocol", "grpc", "--probe-path", "/x"}, "--probe-path: path"},
      {{"--probe-protocol", "tcp", "--probe-header", "A:b"},
       "--probe-header: custom_headers: only HTTP and HTTPS probes send them, not TCP"},
      {{"--probe-protocol", "tcp", "--expected-status", "200"}, "--expected-status:"},
      {with_http({"--probe-path", "health"}), "--probe-path: path: \"health\" must start with '/'"},
      {with_http(many_headers), "--probe-header: custom_headers: 9 headers, at most 8"},
      {with_http(many_ranges), "--expected-status: expected_status_codes: 9 ranges, at most 8"},
      {with_http({"--probe-header", "novalue"}), "--probe-header: 'novalue': expected NAME:VALUE"},
      {with_http({"--probe-header", "Bad Name:x"}), "is not an HTTP header name"},
      {with_http({"--probe-header", "Host:*.example"}), "'*' is not supported in a custom Host"},
      {with_http({"--expected-status", "2xx"}), "--expected-status: '2xx'"},
      {with_http({"--expected-status", "99"}), "is outside 100..999"},
      {with_http({"--expected-status", "300-200"}), "starts after it ends"},
      {{"--region-admin", "primary=127.0.0.1:1"}, "--region-admin needs --dashboard-listen"},
      {{"--dashboard-listen", "0.0.0.0:0"},
       "--dashboard-listen: '0.0.0.0:0': host must be a "
       "loopback IP address"},
      {{"--dashboard-listen", "127.0.0.1:0", "--region-admin", "primary"},
       "--region-admin: 'primary': expected NAME=HOST:PORT"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{DRSIM_TRAFFICMGR_BIN, "--endpoint", "a=127.0.0.1:1"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    Process p(argv, dir_ / "flags.log");
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2)) << c.expected;
    EXPECT_NE(p.log().find(c.expected), std::string::npos)
        << "want: " << c.expected << "\ngot: " << p.log();
  }
}

TEST_F(TrafficManagerWebTest, DashboardServesStatePageAndMetricsCountingResolves) {
  ASSERT_NO_FATAL_FAILURE(start_regions());
  ASSERT_NO_FATAL_FAILURE(
      start_tm_on_regions({"--dns-listen", "127.0.0.1:0", "--dns-address", "primary=127.0.0.11",
                           "--dns-address", "secondary=127.0.0.12"}));
  ASSERT_TRUE(wait_until(
      [&] { return status_of("primary") == "Online" && status_of("secondary") == "Degraded"; }));
  // Region status arrives through the TM's RegionAdmin calls.
  ASSERT_TRUE(wait_until([&] {
    json s = state();
    return s["regions"].size() == 2 && s["regions"][0].contains("role") &&
           s["regions"][1].contains("role");
  })) << state().dump(2);
  json s = state();
  EXPECT_EQ(s["regions"][0]["name"], "primary");
  EXPECT_EQ(s["regions"][0]["role"], "active");
  EXPECT_GE(s["regions"][0]["epoch"].get<int>(), 1);
  EXPECT_EQ(s["regions"][0]["workloads"].size(), 2u);
  EXPECT_TRUE(s["regions"][0]["workloads"][0].contains("lag_writes"));
  EXPECT_EQ(s["regions"][1]["role"], "standby");
  // Degraded only because the standby does not serve, by design: marked and explained.
  EXPECT_EQ(s["endpoints"][1]["standby_by_design"], true) << s["endpoints"].dump(2);
  EXPECT_EQ(s["endpoints"][0]["standby_by_design"], nullptr) << s["endpoints"].dump(2);
  EXPECT_NE(s.value("profile_status_note", "").find("by design"), std::string::npos) << s.dump(2);
  EXPECT_EQ(s["profile_status"], "Degraded");  // the Traffic Manager's own status, unchanged
  EXPECT_EQ(s["probe"]["protocol"], "HTTP");
  EXPECT_EQ(s["probe"]["path"], "/health");

  // Two gRPC resolves and one DNS answer, counted by the endpoint answered.
  auto stub = v1::TrafficManager::NewStub(net::make_insecure_channel(address_));
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ResolveRequest request;
    request.set_profile("drsim");
    v1::ResolveResponse response;
    ASSERT_TRUE(stub->Resolve(&ctx, request, &response).ok());
  }
  {
    auto name = model::parse_dns_name_text("drsim.trafficmanager.test");
    ASSERT_TRUE(name.is_ok());
    auto query = model::encode_dns_query(7, model::DnsQuestion{*name});
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(std::stoi(dns_.substr(dns_.rfind(':') + 1))));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    uint8_t reply[512];
    EXPECT_GT(::recv(fd, reply, sizeof reply, 0), 12);
    ::close(fd);
  }
  HttpReply metrics = http_get(dashboard_, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string& m = metrics.body;
  EXPECT_EQ(
      metric_value(m, "drsim_tm_resolves_total{profile=\"drsim\",answer=\"primary\",via=\"grpc\"}"),
      2.0)
      << m;
  EXPECT_EQ(
      metric_value(m, "drsim_tm_resolves_total{profile=\"drsim\",answer=\"primary\",via=\"dns\"}"),
      1.0);
  EXPECT_EQ(metric_value(m, "drsim_tm_endpoint_routed{profile=\"drsim\",endpoint=\"primary\"}"),
            1.0);
  EXPECT_EQ(metric_value(m,
                         "drsim_tm_endpoint_status{profile=\"drsim\",endpoint=\"secondary\","
                         "status=\"Degraded\"}"),
            1.0);
  EXPECT_GT(metric_value(m,
                         "drsim_tm_probes_total{profile=\"drsim\",endpoint=\"primary\","
                         "result=\"success\"}")
                .value_or(0),
            0.0);
  EXPECT_TRUE(metric_value(m, "drsim_tm_routing_changes_total{profile=\"drsim\"}").has_value());
  // Base units: seconds, not milliseconds.
  EXPECT_TRUE(
      metric_value(m, "drsim_tm_failover_seconds{profile=\"drsim\",figure=\"documented\"}")
          .has_value())
      << m;
  // Base units, and the Grafana dashboard queries only names this daemon exports.
  expect_base_units_and_dashboard_names(m, "drsim_tm_", 7);

  HttpReply page = http_get(dashboard_, "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.body.find("/api/state"), std::string::npos);
  // Self-contained: nothing is loaded from anywhere.
  for (const char* external : {"http://", "https://", " src=", "<link"}) {
    EXPECT_EQ(page.body.find(external), std::string::npos) << external;
  }
}

TEST_F(TrafficManagerWebTest, DashboardInHeadlessChromiumShowsTheOutageAndTheFailover) {
  if (!fs::exists(kChromium)) FAIL() << "chromium is not installed"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  ASSERT_NO_FATAL_FAILURE(start_regions());
  ASSERT_NO_FATAL_FAILURE(start_tm_on_regions());
  ASSERT_TRUE(wait_until([&] { return status_of("primary") == "Online"; }));
  ASSERT_TRUE(wait_until([&] { return state()["regions"][1].contains("role"); }));

  const fs::path out_dir = DRSIM_TEST_OUTPUT_DIR;
  std::string before = dump_dom("before");
  EXPECT_NE(before.find("id=\"routing\">primary<"), std::string::npos) << before;
  EXPECT_NE(before.find("id=\"endpoint-primary\" data-status=\"Online\" class=\"routed\""),
            std::string::npos)
      << before;
  EXPECT_NE(before.find("id=\"region-primary\" data-role=\"active\""), std::string::npos) << before;
  // The healthy steady state: the standby does not serve by design, which is said, not red.
  EXPECT_NE(before.find("id=\"profile-status\" class=\"badge by-design\" title=\"Degraded*: a "
                        "healthy standby answers NOT_SERVING"),
            std::string::npos)
      << before;
  EXPECT_NE(before.find("<span class=\"badge by-design\" title=\"standby: not serving by design "
                        "(the Traffic Manager counts it Degraded)\">not serving*</span>"),
            std::string::npos)
      << before;
  EXPECT_NE(before.find("id=\"profile-note\">Degraded*: a healthy standby"), std::string::npos)
      << before;

  ASSERT_TRUE(regions_->set_outage("primary", true).ok());
  ASSERT_TRUE(wait_until([&] { return status_of("primary") == "Degraded"; })) << state().dump(2);
  std::string outage = dump_dom("outage");
  EXPECT_NE(outage.find("id=\"endpoint-primary\" data-status=\"Degraded\""), std::string::npos)
      << outage;
  EXPECT_NE(outage.find("id=\"profile-status\" class=\"badge Degraded\">Degraded<"),
            std::string::npos)
      << outage;
  EXPECT_NE(outage.find("fail open: every endpoint is Degraded"), std::string::npos) << outage;

  ASSERT_TRUE(failover("secondary").ok());
  ASSERT_TRUE(wait_until([&] { return routed() == "secondary"; })) << state().dump(2);
  ASSERT_TRUE(wait_until([&] {
    json s = state();
    return s["regions"][1].value("role", "") == "active";
  }));
  std::string after = dump_dom("after");
  EXPECT_NE(after.find("id=\"routing\">secondary<"), std::string::npos) << after;
  EXPECT_NE(after.find("id=\"endpoint-secondary\" data-status=\"Online\" class=\"routed\""),
            std::string::npos)
      << after;
  EXPECT_NE(after.find("id=\"endpoint-primary\" data-status=\"Degraded\""), std::string::npos);
  EXPECT_NE(after.find("id=\"region-secondary\" data-role=\"active\""), std::string::npos) << after;
  // The old primary, in its outage, still believes it is active at epoch 1: shown fenced, not
  // as a second green "active".
  EXPECT_EQ(state()["regions"][0].value("superseded_by_epoch", 0), 2) << state()["regions"].dump(2);
  EXPECT_NE(after.find("<span class=\"badge outage\">fenced? (superseded by epoch 2)</span>"),
            std::string::npos)
      << after;
  EXPECT_NE(after.find("route primary \u2192 secondary"), std::string::npos) << after;
  // The profiles table: one row per profile, with the measured failover once there is one.
  EXPECT_NE(after.find("id=\"tm-profile-drsim\" data-status="), std::string::npos) << after;
  EXPECT_NE(after.find("(primary out)"), std::string::npos) << after;

  const fs::path png = out_dir / "trafficmgr-dashboard.png";
  fs::remove(png);
  int rc = run_bounded(chromium_args("--screenshot=" + png.string()),
                       out_dir / "trafficmgr-dashboard.chromium.log", 90s);
  ASSERT_NE(rc, -1) << "chromium --screenshot did not finish within 90 s";
  ASSERT_TRUE(fs::exists(png)) << read_file(out_dir / "trafficmgr-dashboard.chromium.log");
  EXPECT_GT(fs::file_size(png), 10u * 1024) << png;
  std::cout << "dashboard screenshot: " << png.string() << "\n";
}

// The dashboard's Site Recovery and Backup panels: a protected item (state, health, its latest
// recovery point and age), the job that protected it, and a vault's backup item with its point,
// in /api/state and in the page as chromium renders it.
TEST_F(TrafficManagerWebTest, DashboardShowsSiteRecoveryItemsJobsAndBackupItems) {
  if (!fs::exists(kChromium)) FAIL() << "chromium is not installed"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  ASSERT_NO_FATAL_FAILURE(start_regions());
  ASSERT_NO_FATAL_FAILURE(start_tm_on_regions());
  ASSERT_TRUE(wait_until([&] { return status_of("primary") == "Online"; }));
  // Nothing protected yet: the panels say so.
  ASSERT_TRUE(wait_until([&] {
    json s = state();
    return s["regions"].size() == 2 && s["regions"][1]["site_recovery"]["error"] == "" &&
           s["regions"][1]["backup"]["error"] == "";
  })) << state().dump(2);
  std::string empty = dump_dom("protection-empty");
  // (The words are in the page's script too: match them as the panels' text.)
  EXPECT_NE(empty.find("id=\"sr-none\">nothing protected by Site Recovery yet<"),
            std::string::npos)
      << empty;
  EXPECT_NE(empty.find("id=\"backup-none\">no VM protected by a vault yet<"), std::string::npos)
      << empty;

  auto call = [](auto&& rpc) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 10s);
    return rpc(ctx);
  };
  // Site Recovery protects vm-web to the secondary (the vault's region).
  auto sr = v1::SiteRecovery::NewStub(net::make_insecure_channel(regions_->secondary.address));
  v1::ProtectItemRequest protect;
  protect.set_item("vm-web");
  v1::ProtectItemResponse protected_item;
  grpc::Status st = call([&](grpc::ClientContext& ctx) {
    return sr->Protect(&ctx, protect, &protected_item);
  });
  ASSERT_TRUE(st.ok()) << st.error_message();
  // A vault in the primary backs vm-db up once, on demand.
  auto backup = v1::Backup::NewStub(net::make_insecure_channel(regions_->primary.address));
  v1::CreateVaultRequest vault;
  vault.set_vault("rsv-a");
  v1::CreateVaultResponse vault_made;
  st = call([&](grpc::ClientContext& ctx) { return backup->CreateVault(&ctx, vault, &vault_made); });
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::CreatePolicyRequest policy;
  policy.set_vault("rsv-a");
  policy.set_policy("daily");
  policy.mutable_spec()->add_backup_times("22:00");
  v1::CreatePolicyResponse policy_made;
  st = call([&](grpc::ClientContext& ctx) { return backup->CreatePolicy(&ctx, policy, &policy_made); });
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::ProtectRequest vm;
  vm.set_vault("rsv-a");
  vm.set_vm("vm-db");
  vm.set_policy("daily");
  v1::ProtectResponse vm_protected;
  st = call([&](grpc::ClientContext& ctx) { return backup->Protect(&ctx, vm, &vm_protected); });
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::BackupNowRequest now;
  now.set_vault("rsv-a");
  now.set_vm("vm-db");
  v1::BackupNowResponse point;
  st = call([&](grpc::ClientContext& ctx) { return backup->BackupNow(&ctx, now, &point); });
  ASSERT_TRUE(st.ok()) << st.error_message();

  // The secondary lists the item once it has a recovery point; the primary its backup item.
  auto item_of = [](const json& s) -> json {
    for (const auto& i : s["regions"][1]["site_recovery"]["items"]) {
      if (i["item"] == "vm-web" && i.contains("latest_point_age_ms")) return i;
    }
    return nullptr;
  };
  ASSERT_TRUE(wait_until([&] { return !item_of(state()).is_null(); }, 20s)) << state().dump(2);
  json s = state();
  json item = item_of(s);
  EXPECT_EQ(item["state"], "Protected") << item.dump();
  EXPECT_FALSE(item["health"].get<std::string>().empty()) << item.dump();
  EXPECT_GE(item["points"].get<int>(), 1) << item.dump();
  EXPECT_GE(item["latest_point_age_ms"].get<int64_t>(), 0) << item.dump();
  bool protect_job = false;
  for (const auto& j : s["regions"][1]["site_recovery"]["jobs"]) {
    protect_job |= j["target"] == "vm-web";
  }
  EXPECT_TRUE(protect_job) << s["regions"][1]["site_recovery"].dump(2);
  ASSERT_TRUE(wait_until([&] {
    return !state()["regions"][0]["backup"]["vaults"].empty();
  })) << state().dump(2);
  json vaults = state()["regions"][0]["backup"]["vaults"];
  ASSERT_EQ(vaults[0]["name"], "rsv-a") << vaults.dump(2);
  ASSERT_EQ(vaults[0]["items"].size(), 1u) << vaults.dump(2);
  EXPECT_EQ(vaults[0]["items"][0]["vm"], "vm-db");
  EXPECT_EQ(vaults[0]["items"][0]["state"], "Protected");
  EXPECT_EQ(vaults[0]["items"][0]["points"], 1);
  EXPECT_NE(vaults[0]["items"][0]["latest_point"].get<std::string>().find("day "),
            std::string::npos)
      << vaults.dump(2);

  std::string page = dump_dom("protection");
  EXPECT_NE(page.find("id=\"sr-secondary-vm-web\" data-health="), std::string::npos) << page;
  EXPECT_NE(page.find(" old</td>"), std::string::npos) << page;  // the latest point's age
  EXPECT_NE(page.find("id=\"sr-job-secondary-"), std::string::npos) << page;
  EXPECT_NE(page.find("id=\"backup-primary-rsv-a-vm-db\" data-state=\"Protected\""),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("id=\"sr-none\"></div>"), std::string::npos) << page;
  EXPECT_NE(page.find("id=\"backup-none\"></div>"), std::string::npos) << page;
}

}  // namespace
}  // namespace drsim
