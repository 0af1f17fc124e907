// The lease on being active, with real processes (docs/replication.md): a frozen async primary
// resumed after a failover acknowledges none of the writes its stale clients had in flight
// (and the test build without the lease does); a primary cut off from its peer and the witness
// stops acknowledging within one lease and resumes after the heal; a failover whose witness is
// unreachable is refused unless forced.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "cli/rpc_clients.h"
#include "cli/topology.h"
#include "common/net/grpc_util.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAsync = R"(
workloads:
  - { name: vm-web, mode: async }
)";

constexpr const char* kAsyncWithoutLease = R"(
workloads:
  - { name: vm-web, mode: async }
testing:
  ack_writes_without_lease: true
)";

grpc::Status put(drsim::v1::Workload::Stub& stub, const std::string& key,
                 drsim::v1::PutResponse* resp, std::chrono::milliseconds deadline = 2s) {
  return put_key(stub, key, resp, deadline);
}

void drsim_cli(TestTopology& topo, std::vector<std::string> args) {
  args.push_back("--home");
  args.push_back(topo.home());
  auto r = run_binary("drsim", args, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

// What stale clients (the old primary's address cached, many writes in flight, long deadlines)
// got back from the former primary. They share one plain channel, connected before the freeze
// and without drsim's keepalive pings (which would give up on a frozen server), like an
// application's client library.
struct StaleClients {
  std::unique_ptr<drsim::v1::Workload::Stub> stub;
  std::atomic<int> acked{0};
  std::mutex mu;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;

  bool connect(const std::string& address) {
    // gRPC's default arguments (no keepalive), over the topology's mTLS as the operator.
    stub = drsim::v1::Workload::NewStub(
        cli::operator_channel_with(address, grpc::ChannelArguments()));
    drsim::v1::PutResponse resp;
    return wait_until([&] { return put(*stub, "connect", &resp).ok(); }, 10s);
  }
  void start(int n) {
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([this, i] {
        drsim::v1::PutResponse resp;
        grpc::Status s = put(*stub, "stale-" + std::to_string(i), &resp, 15s);
        if (s.ok()) {
          ++acked;
        } else {
          std::lock_guard lock(mu);
          errors.push_back(s.error_message());
        }
      });
    }
  }
  void join() {
    for (auto& t : threads) t.join();
  }
};

// SIGSTOP the async primary, let 32 stale writes queue up on it, cut it off from its peer and
// the witness (so nothing but its own lease can stop it), fail over, SIGCONT. Returns how many
// of the stale writes the former primary acknowledged.
int freeze_fail_over_and_resume(TestTopology& topo, StaleClients& clients,
                                drsim::v1::FailoverResponse* fo_out) {
  EXPECT_TRUE(clients.connect(topo.address("primary")));
  topo.signal("primary", SIGSTOP);
  clients.start(32);
  std::this_thread::sleep_for(200ms);  // the requests are in the frozen process's sockets
  drsim_cli(topo, {"inject", "partition", "--link", "replication"});
  drsim_cli(topo, {"inject", "partition", "--link", "witness.primary"});
  auto fo = cli::region_failover(topo.address("secondary"), "test: primary frozen");
  EXPECT_TRUE(fo.is_ok()) << fo.status().message();
  if (fo.is_ok()) *fo_out = *fo;
  topo.signal("primary", SIGCONT);
  clients.join();
  std::printf("freeze: the former primary acknowledged %d of 32 stale writes; the failover "
              "waited %.0f ms for the old lease\n",
              clients.acked.load(), fo.is_ok() ? fo->lease_wait_ms() : -1.0);
  return clients.acked.load();
}

TEST(Lease, FrozenAsyncPrimaryResumedAfterFailoverAcknowledgesNoStaleWrite) {
  TestTopology topo(kAsync);
  ASSERT_TRUE(topo.ok());
  StaleClients clients;
  drsim::v1::FailoverResponse fo;
  int acked = freeze_fail_over_and_resume(topo, clients, &fo);
  EXPECT_EQ(acked, 0) << "the former primary acknowledged writes after the failover";
  EXPECT_EQ(fo.new_epoch(), 2u);
  ASSERT_EQ(clients.errors.size(), 32u);
  for (const auto& e : clients.errors) {
    EXPECT_NE(e.find("lease expired: no renewal from secondary or trafficmgr"), std::string::npos)
        << e;
  }
  // It keeps its data and refuses writes while it cannot renew.
  auto st = topo.status("primary");
  EXPECT_EQ(st.lease().state(), "lost");
  EXPECT_NE(st.lease().reason().find("lease expired"), std::string::npos) << st.lease().reason();
}

TEST(Lease, WithoutTheLeaseTheResumedPrimaryAcknowledgesStaleWrites) {
  // The broken variant (testing.ack_writes_without_lease): the split-brain window the lease
  // closes, so the test above can fail.
  TestTopology topo(kAsyncWithoutLease);
  ASSERT_TRUE(topo.ok());
  StaleClients clients;
  drsim::v1::FailoverResponse fo;
  int acked = freeze_fail_over_and_resume(topo, clients, &fo);
  EXPECT_GT(acked, 0) << "expected the unleased former primary to acknowledge stale writes";
  EXPECT_EQ(topo.status("primary").role(), drsim::v1::ROLE_ACTIVE);
}

TEST(Lease, PrimaryCutOffFromPeerAndWitnessStopsAckingWithinOneLeaseAndResumesAfterHeal) {
  TestTopology topo(kAsync);  // lease 1000 ms, renewed every 250 ms
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  drsim::v1::PutResponse resp;
  ASSERT_TRUE(wait_until([&] { return put(*primary, "warm", &resp).ok(); }, 10s));
  drsim_cli(topo, {"inject", "partition", "--link", "replication"});
  drsim_cli(topo, {"inject", "partition", "--link", "probes"});  // probes and witness links
  auto cut = std::chrono::steady_clock::now();
  // Clients still reach the primary: it acks until the lease runs out, then refuses.
  std::chrono::milliseconds refused_after{-1};
  std::string refusal;
  for (int i = 0; i < 300; ++i) {  // 300 x 10 ms: bounded
    grpc::Status s = put(*primary, "k" + std::to_string(i), &resp, 1s);
    if (!s.ok()) {
      refused_after = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - cut);
      refusal = s.error_message();
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << refusal;
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(refused_after.count(), 0) << "the cut-off primary never stopped acknowledging";
  // The last grant came at most a renewal interval (+ the inject commands) before the cut.
  EXPECT_LE(refused_after.count(), 1000) << refusal;
  EXPECT_NE(refusal.find("lease expired: no renewal from secondary or trafficmgr for"),
            std::string::npos)
      << refusal;
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(put(*primary, "after-" + std::to_string(i), &resp, 1s).ok());
  }
  EXPECT_EQ(topo.status("primary").lease().state(), "lost");
  drsim_cli(topo, {"heal", "--link", "all"});
  EXPECT_TRUE(wait_until([&] { return put(*primary, "resumed", &resp).ok(); }, 10s))
      << "the primary did not resume after the heal";
  EXPECT_EQ(resp.result().epoch(), 1u);
  EXPECT_EQ(topo.status("primary").lease().state(), "held");
}

TEST(Lease, FailoverIsRefusedWhileTheWitnessIsUnreachableUnlessForced) {
  TestTopology topo(kAsync);
  ASSERT_TRUE(topo.ok());
  drsim_cli(topo, {"inject", "partition", "--link", "witness.secondary"});
  // --force: the primary is healthy and replicating; what is tested is the witness check.
  auto refused = run_binary("drsim", {"failover", "--force", "--home", topo.home()}, 30s);
  EXPECT_NE(refused.exit_code, 0) << refused.output;
  EXPECT_NE(refused.output.find("the lease witness trafficmgr at"), std::string::npos)
      << refused.output;
  EXPECT_NE(refused.output.find("--force-without-witness"), std::string::npos) << refused.output;
  // Nothing changed: the primary is still active and still acknowledges writes (the standby
  // grants again after the refusal).
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
  auto primary = topo.workload_stub("primary");
  drsim::v1::PutResponse resp;
  EXPECT_TRUE(wait_until([&] { return put(*primary, "still", &resp).ok(); }, 5s));
  EXPECT_EQ(topo.status("primary").lease().state(), "held");

  auto forced = run_binary(
      "drsim", {"failover", "--force", "--force-without-witness", "--home", topo.home()}, 30s);
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(forced.output.find("for the old lease to expire"), std::string::npos)
      << forced.output;
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);
}

TEST(Lease, TopologyValidatesTheLeaseAndCountsItsWaitInTheFailoverEstimates) {
  auto def = cli::parse_topology_config("", "t.yaml");
  ASSERT_TRUE(def.is_ok());
  EXPECT_EQ(def->lease_ms, 1000u);
  EXPECT_EQ(def->lease_renew_interval_ms, 250u);
  EXPECT_EQ(def->lease_wait_ms(), 1050u);
  // max((100 + 50) x 3, 1050) + 500, and 500 + max(2 x 100, 1050).
  EXPECT_EQ(def->strict_failover_ms(), 1550u);
  EXPECT_EQ(def->documented_failover_ms(), 1550u);

  auto longer = cli::parse_topology_config("replication: { lease_ms: 2000 }\n", "t.yaml");
  ASSERT_TRUE(longer.is_ok()) << longer.status().message();
  EXPECT_EQ(longer->lease_renew_interval_ms, 500u);  // lease / 4 unless given

  auto tiny = cli::parse_topology_config("replication: { lease_ms: 5 }\n", "t.yaml");
  ASSERT_FALSE(tiny.is_ok());
  EXPECT_EQ(tiny.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tiny.status().message().find("replication.lease_ms"), std::string::npos)
      << tiny.status().message();

  auto slow = cli::parse_topology_config(
      "replication: { lease_ms: 1000, lease_renew_interval_ms: 600 }\n", "t.yaml");
  ASSERT_FALSE(slow.is_ok());
  EXPECT_NE(slow.status().message().find("lease_renew_interval_ms: 600 must be > 0 and at most "
                                         "half the lease"),
            std::string::npos)
      << slow.status().message();
}

}  // namespace
}  // namespace drsim::testing
