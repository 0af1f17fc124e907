// The region daemons' --http-listen server end to end: real drsim-primary and drsim-secondary
// processes on ephemeral loopback ports, GET /health following the region's ability to take
// writes (active, standby, outage) and GET /metrics reporting role, epoch, lag and RPC counts.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "drsim/v1/workload.grpc.pb.h"
#include "tests/integration/web_fixture.h"

namespace drsim {
namespace {

using namespace webtest;

class RegionHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("drsim-region-http");
    ASSERT_FALSE(dir_.empty());
    regions_ = std::make_unique<RegionPair>(dir_);
    ASSERT_TRUE(regions_->ok());
  }
  void TearDown() override {
    if (HasFailure() && regions_) std::cerr << "--- region logs ---\n" << regions_->logs();
    regions_.reset();
    remove_test_dir(dir_);
  }

  HttpReply get(const std::string& region, const std::string& path) {
    return http_get(regions_->region(region).http_address, path);
  }

  fs::path dir_;
  std::unique_ptr<RegionPair> regions_;
};

TEST_F(RegionHttpTest, HealthIsActiveOnTheActiveRegionAnd503OnTheStandby) {
  ASSERT_TRUE(wait_until([&] { return get("primary", "/health").status == 200; }))
      << get("primary", "/health").body;
  EXPECT_EQ(get("primary", "/health").body, "active\n");
  HttpReply standby = get("secondary", "/health");
  EXPECT_EQ(standby.status, 503);
  EXPECT_EQ(standby.body.rfind("standby: region secondary is the standby", 0), 0u) << standby.body;
  EXPECT_NE(standby.body.find("the active region is primary"), std::string::npos) << standby.body;
}

// Epoch-aware routing over HTTP probes: every /health answer names the region's epoch and role.
TEST_F(RegionHttpTest, HealthAnswersCarryTheRegionsEpochAndRole) {
  HttpReply active = get("primary", "/health");
  EXPECT_EQ(active.headers["x-drsim-epoch"], "1");
  EXPECT_EQ(active.headers["x-drsim-role"], "active");
  // A fresh standby follows epoch 1 once the primary's stream reached it.
  ASSERT_TRUE(wait_until([&] { return get("secondary", "/health").headers["x-drsim-epoch"] == "1"; }))
      << get("secondary", "/health").headers["x-drsim-epoch"];
  HttpReply standby = get("secondary", "/health");
  EXPECT_EQ(standby.status, 503);
  EXPECT_EQ(standby.headers["x-drsim-role"], "standby");
}

TEST_F(RegionHttpTest, HealthIs503DuringAnOutageAndActiveAfterIt) {
  ASSERT_TRUE(wait_until([&] { return get("primary", "/health").status == 200; }));
  ASSERT_TRUE(regions_->set_outage("primary", true).ok());
  HttpReply during = get("primary", "/health");
  EXPECT_EQ(during.status, 503);
  EXPECT_EQ(during.body, "outage: region primary is in an injected outage\n");
  // /metrics is still served in the outage: it is how a person sees what is going on.
  HttpReply metrics = get("primary", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metric_value(metrics.body, "drsim_region_outage{region=\"primary\"}"), 1.0);
  EXPECT_EQ(metric_value(metrics.body, "drsim_region_serving_writes{region=\"primary\"}"), 0.0);

  ASSERT_TRUE(regions_->set_outage("primary", false).ok());
  EXPECT_TRUE(wait_until([&] { return get("primary", "/health").status == 200; }));
}

TEST_F(RegionHttpTest, MetricsReportRoleEpochReplicationAndRpcCounts) {
  auto stub = v1::Workload::NewStub(net::make_insecure_channel(regions_->primary.address));
  ASSERT_TRUE(wait_until([&] { return get("primary", "/health").status == 200; }));
  constexpr int kPuts = 5;
  for (int i = 0; i < kPuts; ++i) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::PutRequest request;
    request.set_workload("vm-web");
    request.set_key("k" + std::to_string(i));
    request.set_value("v");
    v1::PutResponse response;
    grpc::Status s = stub->Put(&ctx, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  HttpReply primary = get("primary", "/metrics");
  ASSERT_EQ(primary.status, 200);
  EXPECT_EQ(primary.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = primary.body;
  EXPECT_EQ(metric_value(m, "drsim_region_role{region=\"primary\",role=\"active\"}"), 1.0) << m;
  EXPECT_EQ(metric_value(m, "drsim_region_role{region=\"primary\",role=\"standby\"}"), 0.0);
  EXPECT_EQ(metric_value(m, "drsim_region_serving_writes{region=\"primary\"}"), 1.0);
  EXPECT_GE(metric_value(m, "drsim_region_epoch{region=\"primary\"}").value_or(0), 1.0);
  EXPECT_EQ(metric_value(m, "drsim_region_replication_connected{region=\"primary\"}"), 1.0);
  EXPECT_EQ(metric_value(
                m, "drsim_region_last_seq{region=\"primary\",workload=\"vm-web\",mode=\"sync\"}"),
            kPuts);
  // Sync writes were acknowledged by the standby: nothing left to lag behind.
  EXPECT_EQ(metric_value(m,
                         "drsim_region_replication_lag_writes{region=\"primary\",workload="
                         "\"vm-web\",mode=\"sync\"}"),
            0.0);
  EXPECT_TRUE(metric_value(m,
                           "drsim_region_replication_lag_seconds{region=\"primary\",workload="
                           "\"vm-db\",mode=\"sync\"}")
                  .has_value());
  // Base units (seconds) and the lease the active region holds.
  EXPECT_EQ(metric_value(m, "drsim_region_lease_held{region=\"primary\"}"), 1.0) << m;
  auto expires = metric_value(m, "drsim_region_lease_expires_in_seconds{region=\"primary\"}");
  ASSERT_TRUE(expires.has_value()) << m;
  EXPECT_GT(*expires, 0.0);
  EXPECT_LE(*expires, 1.0);  // a 1 s lease, in seconds
  // Base units, and the Grafana dashboard queries only names this daemon exports.
  expect_base_units_and_dashboard_names(m, "drsim_region_", 10);
  EXPECT_EQ(metric_value(m,
                         "drsim_region_rpcs_total{region=\"primary\",method=\"/drsim.v1."
                         "Workload/Put\",code=\"OK\"}"),
            kPuts)
      << m;

  HttpReply secondary = get("secondary", "/metrics");
  ASSERT_EQ(secondary.status, 200);
  EXPECT_EQ(
      metric_value(secondary.body, "drsim_region_role{region=\"secondary\",role=\"standby\"}"),
      1.0);
  EXPECT_EQ(metric_value(secondary.body,
                         "drsim_region_last_seq{region=\"secondary\",workload="
                         "\"vm-web\",mode=\"sync\"}"),
            kPuts);
}

TEST_F(RegionHttpTest, MetricsIsWellFormedPrometheusText) {
  HttpReply r = get("primary", "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|NaN|[+-]Inf)$)");
  std::set<std::string> helped;
  std::map<std::string, std::string> typed;  // family -> type
  std::istringstream in(r.body);
  std::string line;
  int samples = 0;
  // A histogram's series are <family>_bucket (with an `le` label), _sum and _count.
  auto family_of = [&](const std::string& name) -> std::string {
    if (typed.count(name)) return name;
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        std::string base = name.substr(0, name.size() - suffix.size());
        if (typed.count(base) && typed[base] == "histogram") return base;
      }
    }
    return "";
  };
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (line.rfind("# TYPE ", 0) == 0) {
      auto end = line.find(' ', 7);
      typed[line.substr(7, end - 7)] = line.substr(end + 1);
    } else {
      std::smatch match;
      ASSERT_TRUE(std::regex_match(line, match, sample)) << "not a sample line: " << line;
      const std::string name = match[1];
      EXPECT_FALSE(family_of(name).empty()) << "sample before its TYPE: " << line;
      if (name.size() > 7 && name.compare(name.size() - 7, 7, "_bucket") == 0) {
        EXPECT_NE(line.find("le=\""), std::string::npos) << "a bucket without le: " << line;
      }
      ++samples;
    }
  }
  std::set<std::string> typed_names;
  for (const auto& [name, type] : typed) typed_names.insert(name);
  EXPECT_EQ(typed_names, helped);
  EXPECT_EQ(typed["drsim_region_write_to_ack_seconds"], "histogram");
  EXPECT_GT(samples, 10);
}

TEST_F(RegionHttpTest, BadRequestsDoNotDisturbTheRegion) {
  for (const char* bytes :
       {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "GET / HTTP/1.1\r\n\r\n",
        "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"}) {
    RawConnection c(regions_->primary.http_address);
    c.send(bytes);
    c.shutdown_send();
    std::string answer = c.read_until_close(5s);
    EXPECT_TRUE(c.closed());
    int status = parse_reply(answer).status;
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 600)) << answer;
  }
  EXPECT_EQ(get("primary", "/nope").status, 404);
  EXPECT_TRUE(wait_until([&] { return get("primary", "/health").status == 200; }));
}

TEST(RegionHttpFlags, HttpListenMustBeALoopbackAddress) {
  fs::path dir = make_temp_dir("drsim-region-http-flags");
  for (const char* bad : {"0.0.0.0:0", "localhost:0", "127.0.0.1"}) {
    Process p({DRSIM_PRIMARY_BIN, "--data-dir", (dir / "data").string(), "--http-listen", bad},
              dir / "primary.log");
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(10s), std::optional<int>(2)) << bad;
    EXPECT_NE(p.log().find("--http-listen"), std::string::npos) << p.log();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace drsim
