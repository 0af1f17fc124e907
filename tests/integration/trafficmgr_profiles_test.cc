// drsim-trafficmgr with a --config file of several profiles, end to end: the real daemon over
// two real region daemons (RegionPair), queried with gRPC Resolve, our UDP DNS client and dig
// (skipped when /usr/bin/dig is missing). Covers weighted proportions over 10,000 resolves,
// multivalue, performance with SetLatency, geographic and subnet NODATA by source address, a
// nested profile failing over when its children fall below the minimum (a region is killed),
// TCP and HTTP probes of the real regions, and bad config files exiting 2 naming file and field.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/net/dns_client.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "tests/integration/web_fixture.h"

namespace drsim::webtest {
namespace {

using nlohmann::json;

constexpr const char* kDig = "/usr/bin/dig";

std::string port_of(const std::string& address) { return address.substr(address.rfind(':') + 1); }

class TrafficManagerProfilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("drsim-tm-profiles");
    regions_ = std::make_unique<RegionPair>(dir_);
    ASSERT_TRUE(regions_->ok()) << regions_->logs();
  }
  void TearDown() override {
    if (HasFailure() && tm_) std::cerr << "--- drsim-trafficmgr log ---\n" << tm_->log();
    tm_.reset();
    regions_.reset();
    remove_test_dir(dir_);
  }

  // The config of every test: the regions' addresses filled in.
  std::string config_yaml() const {
    const std::string p = regions_->primary.address, s = regions_->secondary.address;
    const std::string s_http = regions_->secondary.http_address;
    return R"(seed: 7
client_locations:
  - {range: 127.0.0.2/32, region: DE}
  - {range: 127.0.0.3/32, region: US}
latency:
  - {from: DE, to: westeurope, ms: 10}
  - {from: DE, to: eastus, ms: 90}
  - {from: US, to: westeurope, ms: 80}
  - {from: US, to: eastus, ms: 5}
profiles:
  - name: weighted
    routing: weighted
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50, tolerated_failures: 1}
    endpoints:
      - {name: primary, target: ")" + p + R"(", dns_address: 127.0.0.11, weight: 1}
      - {name: secondary, target: ")" + s + R"(", dns_address: 127.0.0.12, weight: 3}
  - name: multi
    routing: multivalue
    max_return: 2
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50, tolerated_failures: 0}
    endpoints:
      - {name: m1, type: external, target: 127.0.0.21, probe_address: "127.0.0.1:1"}
      - {name: m2, type: external, target: 127.0.0.22, probe_address: ")" + p + R"("}
      - {name: m3, type: external, target: 127.0.0.23, probe_address: ")" + s + R"("}
  - name: perf
    routing: performance
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50}
    endpoints:
      - {name: weu, target: ")" + p + R"(", dns_address: 127.0.0.11, location: westeurope}
      - {name: eus, target: ")" + s + R"(", dns_address: 127.0.0.12, location: eastus}
  - name: geo
    routing: geographic
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50}
    endpoints:
      - {name: europe, target: ")" + p + R"(", dns_address: 127.0.0.11, geo_codes: [DE, FR]}
  - name: lan
    routing: subnet
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50}
    endpoints:
      - {name: office, target: ")" + p + R"(", dns_address: 127.0.0.11,
         subnets: [127.0.0.2/32]}
  - name: app
    routing: priority
    ttl_ms: 1000
    monitor:
      protocol: http
      path: /health
      expected_status: ["200-299", "503"]
      interval_ms: 100
      timeout_ms: 80
      tolerated_failures: 1
    endpoints:
      - {name: pool, type: nested, target: pool, min_child_endpoints: 2}
      - {name: backup, target: ")" + s + R"(", dns_address: 127.0.0.12,
         probe_address: ")" + s_http + R"("}
  - name: pool
    routing: weighted
    monitor: {protocol: tcp, interval_ms: 100, timeout_ms: 50, tolerated_failures: 1}
    endpoints:
      - {name: pool-primary, target: ")" + p + R"(", dns_address: 127.0.0.11}
      - {name: pool-secondary, target: ")" + s + R"(", dns_address: 127.0.0.12}
)";
  }

  // Starts the daemon on `yaml`; fails the test unless it becomes ready.
  void start_tm(const std::string& yaml) {
    fs::path config = dir_ / "tm.yaml";
    std::ofstream(config) << yaml;
    fs::path ready = dir_ / "tm.ready.json";
    tm_ = std::make_unique<Process>(
        std::vector<std::string>{DRSIM_TRAFFICMGR_BIN, "--config", config.string(), "--listen",
                                 "127.0.0.1:0", "--insecure", "--dns-listen", "127.0.0.1:0",
                                 "--dashboard-listen", "127.0.0.1:0", "--ready-file",
                                 ready.string()},
        dir_ / "tm.log");
    auto fields = wait_ready_file(ready);
    address_ = fields["address"];
    dns_ = fields["dns_address"];
    dashboard_ = fields["dashboard_address"];
    ASSERT_FALSE(address_.empty() || dns_.empty() || dashboard_.empty()) << tm_->log();
    stub_ = v1::TrafficManager::NewStub(net::make_insecure_channel(address_));
  }

  v1::ListEndpointsResponse table(const std::string& profile) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ListEndpointsRequest request;
    request.set_profile(profile);
    v1::ListEndpointsResponse response;
    EXPECT_TRUE(stub_->ListEndpoints(&ctx, request, &response).ok());
    return response;
  }
  // The endpoint's Azure monitor status in `profile`.
  std::string status_of(const std::string& profile, const std::string& endpoint) {
    const v1::ListEndpointsResponse t = table(profile);  // outlives the loop
    for (const auto& e : t.endpoints()) {
      if (e.name() == endpoint) return e.monitor_status();
    }
    return "";
  }
  grpc::Status resolve(const std::string& profile, v1::ResolveResponse* response,
                       const std::string& client_region = "", const std::string& client_ip = "") {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ResolveRequest request;
    request.set_profile(profile);
    request.set_client_region(client_region);
    request.set_client_ip(client_ip);
    return stub_->Resolve(&ctx, request, response);
  }
  // "127.0.0.11" or "127.0.0.21,127.0.0.22", "NODATA", "NXDOMAIN", or the error.
  std::string dns(const std::string& profile, const std::string& source = "") {
    auto answer = net::dns_query_udp(dns_, profile + ".trafficmanager.test", 1, 2000ms, source);
    if (!answer.is_ok()) return answer.status().message();
    if (answer->rcode == 3) return "NXDOMAIN";
    if (answer->rcode != 0) return "rcode " + std::to_string(answer->rcode);
    if (answer->addresses.empty()) return "NODATA";
    std::string out;
    for (const auto& a : answer->addresses) out += (out.empty() ? "" : ",") + a;
    return out;
  }
  std::string dig(const std::string& args) {
    return run_command(std::string(kDig) + " @127.0.0.1 -p " + port_of(dns_) + " " + args +
                       " +time=2 +tries=1 2>&1");
  }
  // Waits until every probed endpoint of the test config has its first status.
  void wait_settled() {
    ASSERT_TRUE(wait_until([&] {
      return status_of("multi", "m1") == "Degraded" && status_of("multi", "m2") == "Online" &&
             status_of("pool", "pool-secondary") == "Online" && status_of("app", "pool") == "Online" &&
             status_of("app", "backup") == "Online" && status_of("weighted", "secondary") == "Online";
    })) << tm_->log();
  }

  fs::path dir_;
  std::unique_ptr<RegionPair> regions_;
  std::unique_ptr<Process> tm_;
  std::unique_ptr<v1::TrafficManager::Stub> stub_;
  std::string address_, dns_, dashboard_;
};

TEST_F(TrafficManagerProfilesTest, WeightedSplitsTenThousandResolvesByWeightWithinTwoPercent) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  std::map<std::string, int> counts;
  constexpr int kResolves = 10000;
  for (int i = 0; i < kResolves; ++i) {
    v1::ResolveResponse r;
    ASSERT_TRUE(resolve("weighted", &r).ok());
    ++counts[r.endpoint()];
  }
  // Weights 1 : 3.
  EXPECT_NEAR(counts["primary"] / double(kResolves), 0.25, 0.02) << counts["primary"];
  EXPECT_NEAR(counts["secondary"] / double(kResolves), 0.75, 0.02) << counts["secondary"];
  std::printf("weighted 1:3 over %d gRPC resolves: primary %d, secondary %d\n", kResolves,
              counts["primary"], counts["secondary"]);
  // DNS draws from the same weights.
  std::map<std::string, int> by_dns;
  for (int i = 0; i < 2000; ++i) ++by_dns[dns("weighted")];
  EXPECT_NEAR(by_dns["127.0.0.11"] / 2000.0, 0.25, 0.04) << by_dns["127.0.0.11"];
  HttpReply metrics = http_get(dashboard_, "/metrics");
  EXPECT_EQ(metric_value(metrics.body, "drsim_tm_resolves_total{profile=\"weighted\","
                                       "answer=\"primary\",via=\"grpc\"}"),
            double(counts["primary"]));
}

TEST_F(TrafficManagerProfilesTest, MultivalueAnswersTheHealthyEndpointsOverDnsAndDig) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  EXPECT_EQ(dns("multi"), "127.0.0.22,127.0.0.23");  // m1's probe is refused: Degraded
  v1::ResolveResponse r;
  ASSERT_TRUE(resolve("multi", &r).ok());
  ASSERT_EQ(r.answers_size(), 2);
  EXPECT_EQ(r.answers(0).endpoint(), "m2");
  EXPECT_EQ(r.answers(1).endpoint(), "m3");
  if (!fs::exists(kDig)) FAIL() << kDig << " not installed (bind9-dnsutils)"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  std::string out = dig("multi.trafficmanager.test +short");
  EXPECT_EQ(out, "127.0.0.22\n127.0.0.23\n");
}

TEST_F(TrafficManagerProfilesTest, GeographicAndSubnetGiveNoDataToUnmappedClients) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  EXPECT_EQ(dns("geo", "127.0.0.2"), "127.0.0.11");  // DE
  EXPECT_EQ(dns("geo", "127.0.0.3"), "NODATA");      // US: no endpoint maps it
  EXPECT_EQ(dns("lan", "127.0.0.2"), "127.0.0.11");  // in 127.0.0.2/32
  EXPECT_EQ(dns("lan", "127.0.0.1"), "NODATA");      // no range, no fallback
  v1::ResolveResponse r;
  ASSERT_TRUE(resolve("geo", &r, "FR").ok());
  EXPECT_EQ(r.endpoint(), "europe");
  ASSERT_TRUE(resolve("geo", &r, "US-CA").ok());
  EXPECT_TRUE(r.no_data());
  EXPECT_EQ(resolve("lan", &r, "", "not-an-ip").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(dns("nosuch"), "NXDOMAIN");
  if (!fs::exists(kDig)) FAIL() << kDig << " not installed (bind9-dnsutils)"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  std::string nodata = dig("-b 127.0.0.3 geo.trafficmanager.test");
  EXPECT_NE(nodata.find("status: NOERROR"), std::string::npos) << nodata;
  EXPECT_NE(nodata.find("ANSWER: 0"), std::string::npos) << nodata;
  std::string de = dig("-b 127.0.0.2 geo.trafficmanager.test +short");
  EXPECT_EQ(de, "127.0.0.11\n");
}

TEST_F(TrafficManagerProfilesTest, PerformanceAnswersTheClosestAndFollowsSetLatency) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  EXPECT_EQ(dns("perf", "127.0.0.2"), "127.0.0.11");  // DE: westeurope 10 ms
  EXPECT_EQ(dns("perf", "127.0.0.3"), "127.0.0.12");  // US: eastus 5 ms
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 2s);
  v1::SetLatencyRequest request;
  request.set_client_region("DE");
  request.set_location("eastus");
  request.set_latency_ms(1);
  v1::SetLatencyResponse response;
  ASSERT_TRUE(stub_->SetLatency(&ctx, request, &response).ok());
  EXPECT_EQ(dns("perf", "127.0.0.2"), "127.0.0.12");
  v1::ResolveResponse r;
  ASSERT_TRUE(resolve("perf", &r, "US").ok());
  EXPECT_EQ(r.endpoint(), "eus");
}

TEST_F(TrafficManagerProfilesTest, NestedProfileFailsOverWhenItsChildrenFallBelowTheMinimum) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  // Both pool members Online: the parent answers from the child (weighted).
  std::map<std::string, int> before;
  for (int i = 0; i < 200; ++i) {
    v1::ResolveResponse r;
    ASSERT_TRUE(resolve("app", &r).ok());
    ++before[r.answers(0).profile() + "/" + r.endpoint()];
  }
  EXPECT_GT(before["pool/pool-primary"], 0);
  EXPECT_GT(before["pool/pool-secondary"], 0);
  EXPECT_EQ(table("app").routing(), "pool");

  // The primary region dies: its TCP probe is refused, the pool has 1 Online < 2 required.
  regions_->primary.process->stop();
  ASSERT_TRUE(wait_until([&] { return status_of("app", "pool") == "Degraded"; })) << tm_->log();
  EXPECT_EQ(status_of("pool", "pool-primary"), "Degraded");
  EXPECT_EQ(table("app").routing(), "backup");
  v1::ResolveResponse r;
  ASSERT_TRUE(resolve("app", &r).ok());
  EXPECT_EQ(r.endpoint(), "backup");
  EXPECT_EQ(dns("app"), "127.0.0.12");
  // The route change is measured: first failed probe of pool-primary → route change.
  v1::ListEndpointsResponse app = table("app");
  EXPECT_GT(app.failover_documented_ms(), 0);
  EXPECT_GT(app.failover_worst_case_ms(), app.failover_documented_ms());
  v1::ListEndpointsResponse pool = table("pool");
  EXPECT_GT(pool.last_failover_ms(), 0);
  EXPECT_EQ(pool.last_failover_endpoint(), "pool-primary");
  if (!fs::exists(kDig)) FAIL() << kDig << " not installed (bind9-dnsutils)"
    << " (scripts/install-deps.sh installs it; a skip would pass silently)";
  EXPECT_EQ(dig("app.trafficmanager.test +short"), "127.0.0.12\n");
}

TEST_F(TrafficManagerProfilesTest, DashboardAndMetricsShowEveryProfile) {
  ASSERT_NO_FATAL_FAILURE(start_tm(config_yaml()));
  ASSERT_NO_FATAL_FAILURE(wait_settled());
  json s = json::parse(http_get(dashboard_, "/api/state").body);
  ASSERT_EQ(s["profiles"].size(), 7u) << s.dump(2);
  EXPECT_EQ(s["profile"], "weighted");  // the first profile at the top level
  EXPECT_EQ(s["profiles"][5]["profile"], "app");
  EXPECT_EQ(s["profiles"][5]["routing_method"], "priority");
  EXPECT_EQ(s["profiles"][5]["probe"]["protocol"], "HTTP");
  HttpReply metrics = http_get(dashboard_, "/metrics");
  EXPECT_EQ(metric_value(metrics.body,
                         "drsim_tm_endpoint_status{profile=\"multi\",endpoint=\"m1\","
                         "status=\"Degraded\"}"),
            1.0);
  EXPECT_EQ(metric_value(metrics.body,
                         "drsim_tm_profile_status{profile=\"app\",status=\"Online\"}"),
            1.0);
}

TEST_F(TrafficManagerProfilesTest, BadConfigFileExitsTwoNamingTheFileAndField) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases{
      {"profiles:\n  - name: a\n    endpoints:\n      - {name: x, target: \"127.0.0.1:1\", "
       "weight: 0}\n",
       "tm.yaml:4: profiles[0].endpoints[0].weight: 0 is out of range 1..1000"},
      {"profiles:\n  - name: a\n    routing: fastest\n    endpoints: []\n",
       "tm.yaml:3: profiles[0].routing: 'fastest' is not priority"},
      {"profiles:\n  - name: a\n    monitor: {protocol: tcp, path: /x}\n    endpoints:\n"
       "      - {name: x, target: \"127.0.0.1:1\"}\n",
       "tm.yaml:3: profiles[0].monitor.path"},
      {"profiles:\n  - name: a\n    endpoints:\n      - {name: n, type: nested, target: b}\n"
       "  - name: b\n    endpoints:\n      - {name: n, type: nested, target: a}\n",
       "tm.yaml: "},
      {"profiles:\n  - name: a\n    endpoints:\n      - {name: x, target: \"127.0.0.1:1\", "
       "colour: red}\n",
       "tm.yaml:4: profiles[0].endpoints[0].colour: unknown field"},
      {"profiles: [\n", "tm.yaml:"},
  };
  for (const auto& c : cases) {
    fs::path config = dir_ / "tm.yaml";
    std::ofstream(config) << c.yaml;
    Process p({DRSIM_TRAFFICMGR_BIN, "--config", config.string()}, dir_ / "bad.log");
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2)) << c.expected;
    EXPECT_NE(p.log().find(c.expected), std::string::npos)
        << "want: " << c.expected << "\ngot: " << p.log();
  }
  Process mixed({DRSIM_TRAFFICMGR_BIN, "--config", (dir_ / "tm.yaml").string(), "--endpoint",
                 "a=127.0.0.1:1"},
                dir_ / "mixed.log");
  EXPECT_EQ(mixed.wait_exit(10s), std::optional<int>(2));
  EXPECT_NE(mixed.log().find("--config: --endpoint cannot be combined"), std::string::npos)
      << mixed.log();
}

}  // namespace
}  // namespace drsim::webtest
