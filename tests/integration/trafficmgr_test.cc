// drsim-trafficmgr end to end: the real binary on 127.0.0.1 port 0 probing two in-test
// regions (gRPC servers running HealthService), checked through Resolve, ListEndpoints and
// WatchRouting. Every wait is bounded; the daemon is stopped by PID (SIGTERM, then SIGKILL).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/net/grpc_util.h"
#include "common/net/health_service.h"
#include "drsim/v1/trafficmgr.grpc.pb.h"
#include "tests/integration/trafficmgr_fixture.h"

extern char** environ;

namespace drsim {
namespace {

using namespace tmtest;

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
namespace fs = std::filesystem;

class TrafficManagerTest : public TrafficManagerFixture {
 protected:
  TrafficManagerTest() : TrafficManagerFixture("drsim-tm-test") {}

  // Starts the daemon against both regions and waits for its ready file.
  void start_daemon(std::vector<std::string> extra = {}) {
    fs::path ready = dir_ / "ready.json";
    // clang-format off: flag / value pairs
    std::vector<std::string> args{"--listen",
                                  "127.0.0.1:0",
                                  "--insecure",
                                  "--endpoint",
                                  "primary=" + primary_.address(),
                                  "--endpoint",
                                  "secondary=" + secondary_.address(),
                                  "--probe-interval-ms",
                                  "50",
                                  "--probe-timeout-ms",
                                  "40",
                                  "--tolerated-failures",
                                  "1",
                                  "--ttl-ms",
                                  "100",
                                  "--ready-file",
                                  ready.string(),
                                  "--log-level",
                                  "debug"};
    // clang-format on
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<TrafficManagerProcess>(args, dir_);
    ASSERT_GT(process_->pid(), 0) << "cannot spawn " << DRSIM_TRAFFICMGR_BIN;
    ASSERT_TRUE(wait_until([&] { return fs::exists(ready); }))
        << "no ready file within 10 s; log:\n"
        << process_->log();
    std::string json = read_file(ready);
    auto key = json.find("\"address\":\"");
    ASSERT_NE(key, std::string::npos) << json;
    auto begin = key + 11;
    address_ = json.substr(begin, json.find('"', begin) - begin);
    ASSERT_EQ(address_.rfind("127.0.0.1:", 0), 0u) << address_;
    stub_ = v1::TrafficManager::NewStub(net::make_insecure_channel(address_));
  }

  grpc::Status resolve(const std::string& profile, v1::ResolveResponse* response) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ResolveRequest request;
    request.set_profile(profile);
    return stub_->Resolve(&ctx, request, response);
  }

  // The endpoint Resolve answers, or "" when the call failed.
  std::string resolved(bool* fail_open = nullptr) {
    v1::ResolveResponse response;
    if (!resolve("drsim", &response).ok()) return "";
    if (fail_open) *fail_open = response.fail_open();
    return response.endpoint();
  }

  bool all_endpoints(v1::EndpointStatus status) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::ListEndpointsRequest request;
    request.set_profile("drsim");
    v1::ListEndpointsResponse response;
    if (!stub_->ListEndpoints(&ctx, request, &response).ok()) return false;
    for (const auto& e : response.endpoints()) {
      if (e.status() != status) return false;
    }
    return response.endpoints_size() == 2;
  }

  std::string address_;
  std::unique_ptr<v1::TrafficManager::Stub> stub_;
};

TEST_F(TrafficManagerTest, ResolvesHighestPriorityWhenBothRegionsServe) {
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return all_endpoints(v1::ENDPOINT_ONLINE); }));
  v1::ResolveResponse response;
  ASSERT_TRUE(resolve("drsim", &response).ok());
  EXPECT_EQ(response.endpoint(), "primary");
  EXPECT_EQ(response.address(), primary_.address());
  EXPECT_EQ(response.ttl_ms(), 100u);
  EXPECT_FALSE(response.fail_open());
}

TEST_F(TrafficManagerTest, FailsOverWhenPrimaryStopsServingAndBackWhenItReturns) {
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return all_endpoints(v1::ENDPOINT_ONLINE); }));
  primary_.set_serving(HealthCheckResponse::NOT_SERVING);
  bool fail_open = true;
  EXPECT_TRUE(wait_until([&] { return resolved(&fail_open) == "secondary"; }));
  EXPECT_FALSE(fail_open);
  primary_.set_serving(HealthCheckResponse::SERVING);
  EXPECT_TRUE(wait_until([&] { return resolved() == "primary"; }));
}

TEST_F(TrafficManagerTest, FailsOpenToPrimaryWhenEveryRegionIsDegraded) {
  start_daemon();
  primary_.set_serving(HealthCheckResponse::NOT_SERVING);
  secondary_.set_serving(HealthCheckResponse::NOT_SERVING);
  ASSERT_TRUE(wait_until([&] { return all_endpoints(v1::ENDPOINT_DEGRADED); }));
  bool fail_open = false;
  EXPECT_EQ(resolved(&fail_open), "primary");
  EXPECT_TRUE(fail_open);
  // One success is enough to leave fail open.
  secondary_.set_serving(HealthCheckResponse::SERVING);
  EXPECT_TRUE(wait_until([&] { return resolved(&fail_open) == "secondary" && !fail_open; }));
}

TEST_F(TrafficManagerTest, WatchRoutingStreamsTheRouteChangeLiveAndOnReplay) {
  start_daemon();
  ASSERT_TRUE(wait_until([&] { return all_endpoints(v1::ENDPOINT_ONLINE); }));

  grpc::ClientContext ctx;
  net::set_deadline(ctx, kWaitLimit);
  v1::WatchRoutingRequest request;
  request.set_profile("drsim");
  auto reader = stub_->WatchRouting(&ctx, request);
  // The daemon subscribes the stream before it sends headers.
  reader->WaitForInitialMetadata();
  primary_.set_serving(HealthCheckResponse::NOT_SERVING);

  std::vector<v1::RoutingEvent> live;
  v1::RoutingEvent event;
  while (reader->Read(&event)) {
    live.push_back(event);
    if (event.kind() == v1::RoutingEvent::ROUTE_CHANGED) break;
  }
  ASSERT_FALSE(live.empty()) << "stream ended without events";
  const auto& change = live.back();
  ASSERT_EQ(change.kind(), v1::RoutingEvent::ROUTE_CHANGED);
  EXPECT_EQ(change.old_route(), "primary");
  EXPECT_EQ(change.new_route(), "secondary");
  EXPECT_EQ(change.reason(), "primary Degraded; secondary Online");
  EXPECT_EQ(change.profile(), "drsim");
  EXPECT_GT(change.unix_nanos(), 0);
  // The status change that caused it came first.
  ASSERT_GE(live.size(), 2u);
  const auto& cause = live[live.size() - 2];
  EXPECT_EQ(cause.kind(), v1::RoutingEvent::ENDPOINT_STATUS);
  EXPECT_EQ(cause.endpoint(), "primary");
  EXPECT_EQ(cause.old_status(), v1::ENDPOINT_ONLINE);
  EXPECT_EQ(cause.new_status(), v1::ENDPOINT_DEGRADED);
  ctx.TryCancel();
  reader->Finish();

  // A late watcher asking for replay gets the history, starting with CheckingEndpoint → Online.
  grpc::ClientContext replay_ctx;
  net::set_deadline(replay_ctx, kWaitLimit);
  request.set_replay(true);
  auto replay = stub_->WatchRouting(&replay_ctx, request);
  std::vector<v1::RoutingEvent> history;
  while (replay->Read(&event)) {
    history.push_back(event);
    if (event.kind() == v1::RoutingEvent::ROUTE_CHANGED) break;
  }
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().kind(), v1::RoutingEvent::ENDPOINT_STATUS);
  EXPECT_EQ(history.front().old_status(), v1::ENDPOINT_CHECKING);
  EXPECT_EQ(history.back().new_route(), "secondary");
  replay_ctx.TryCancel();
  replay->Finish();
}

TEST_F(TrafficManagerTest, WatchEndsCleanlyOnSigterm) {
  start_daemon();
  grpc::ClientContext ctx;
  net::set_deadline(ctx, kWaitLimit);
  v1::WatchRoutingRequest request;
  request.set_profile("drsim");
  request.set_replay(true);
  auto reader = stub_->WatchRouting(&ctx, request);
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    ::kill(process_->pid(), SIGTERM);
  });
  v1::RoutingEvent event;
  while (reader->Read(&event)) {
  }
  grpc::Status status = reader->Finish();
  stopper.join();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(process_->wait_exit(5s), std::optional<int>(0));
}

TEST_F(TrafficManagerTest, UnknownProfileIsNotFoundAndEmptyProfileIsInvalid) {
  start_daemon();
  v1::ResolveResponse response;
  grpc::Status unknown = resolve("contoso", &response);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(unknown.error_message().find("contoso"), std::string::npos);
  EXPECT_EQ(resolve("", &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrafficManagerTest, ServesItsOwnHealth) {
  start_daemon();
  auto health = grpc::health::v1::Health::NewStub(net::make_insecure_channel(address_));
  for (const char* service : {"", "drsim.v1.TrafficManager"}) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    ASSERT_TRUE(health->Check(&ctx, request, &response).ok()) << service;
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
}

// The lease witness must not forget a promotion: restarted (SIGKILL, no clean shutdown) after
// the secondary fenced at epoch 2, it still refuses the superseded primary's epoch 1. Without
// the state file it granted that renewal (a stale primary that asks before the new one renews
// would get a lease: two active regions).
TEST_F(TrafficManagerTest, LeaseWitnessRemembersTheNewestEpochAcrossARestart) {
  auto renew = [&](uint64_t epoch) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::RenewLeaseRequest req;
    req.set_region("primary");
    req.set_peer("secondary");
    req.set_epoch(epoch);
    req.set_lease_ms(1000);
    req.set_lease_drift(0.05);
    v1::RenewLeaseResponse resp;
    grpc::Status s = stub_->RenewLease(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  const std::vector<std::string> state = {"--state-dir", dir_.string()};
  start_daemon(state);
  ASSERT_TRUE(renew(1).granted());
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    v1::FenceLeaseRequest req;
    req.set_region("secondary");
    req.set_peer("primary");
    req.set_new_epoch(2);
    req.set_lease_ms(1000);
    req.set_lease_drift(0.05);
    v1::FenceLeaseResponse resp;
    ASSERT_TRUE(stub_->FenceLease(&ctx, req, &resp).ok());
    ASSERT_FALSE(resp.refused()) << resp.reason();
  }
  ::kill(process_->pid(), SIGKILL);
  ASSERT_TRUE(process_->wait_exit(5s));
  fs::remove(dir_ / "ready.json");
  start_daemon(state);
  auto stale = renew(1);
  EXPECT_FALSE(stale.granted());
  EXPECT_EQ(stale.highest_epoch(), 2u);
  EXPECT_NE(stale.reason().find("epoch 2"), std::string::npos) << stale.reason();

  // A state file it cannot trust stops the witness from starting (exit 2, the file named)
  // rather than letting it start forgetting.
  process_->stop();
  fs::remove(dir_ / "ready.json");
  {
    std::ofstream(dir_ / "witness.json", std::ios::trunc) << "{\"schema_version\": 1, \"pairs\": [";
  }
  std::vector<std::string> args{"--listen", "127.0.0.1:0", "--insecure", "--endpoint",
                                "primary=" + primary_.address(), "--state-dir", dir_.string()};
  process_ = std::make_unique<TrafficManagerProcess>(args, dir_);
  EXPECT_EQ(process_->wait_exit(10s), std::optional<int>(2));
  EXPECT_NE(process_->log().find((dir_ / "witness.json").string() +
                                 ": corrupt lease witness state"),
            std::string::npos)
      << process_->log();
}

TEST_F(TrafficManagerTest, BadFlagExitsTwoNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  std::vector<Case> cases{
      {{"--endpoint", "a=127.0.0.1:1", "--probe-interval-ms", "100", "--probe-timeout-ms", "150"},
       "--probe-timeout-ms: probe_timeout: 150ms must not exceed probe_interval 100ms"},
      {{"--endpoint", "a=127.0.0.1:1", "--tolerated-failures", "10"}, "--tolerated-failures"},
      {{"--endpoint", "a=127.0.0.1:1@0"}, "--endpoint"},
      {{"--endpoint", "a"}, "--endpoint"},
      {{}, "--endpoint: at least one"},
  };
  for (const auto& c : cases) {
    TrafficManagerProcess p(c.args, dir_);
    ASSERT_GT(p.pid(), 0);
    EXPECT_EQ(p.wait_exit(5s), std::optional<int>(2)) << c.expected;
    EXPECT_NE(p.log().find(c.expected), std::string::npos) << p.log();
  }
}

}  // namespace
}  // namespace drsim
