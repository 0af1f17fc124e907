// Never two actives (issue 13) and epoch hygiene (issue 17), with real processes: two failovers
// in a row leave one active region; the Traffic Manager never answers a region that serves at a
// superseded epoch; a forged replication Hello or Fence at an out-of-bounds epoch is refused and
// changes nothing.
#include <signal.h>

#include <cstdint>
#include <filesystem>

#include <gtest/gtest.h>

#include "cli/load_generator.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "common/model/drill/history_checker.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/replication.grpc.pb.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kAsyncWeb[] = R"(
workloads:
  - { name: vm-web, mode: async }
)";

// Puts `key` until the primary refuses it for lost writes (at most 15 s); the refusal, or the
// last answer with the seq it took when it never refused.
::testing::AssertionResult refuses_for_lost_writes(drsim::v1::Workload::Stub& stub,
                                                   const std::string& key, grpc::Status* refused) {
  drsim::v1::PutResponse resp;
  if (wait_until(
          [&] {
            *refused = put_key(stub, key, &resp);
            return refused->error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
                   refused->error_message().find("lost acknowledged writes") != std::string::npos;
          },
          15s)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "the primary took a write: " << refused->error_message()
                                       << " seq " << resp.result().seq();
}

// Puts prefix<first>..prefix<first + n - 1> to the primary; how many were acknowledged.
int put_keys(TestTopology& topo, const std::string& prefix, int first, int n) {
  auto stub = topo.workload_stub("primary");
  int acked = 0;
  for (int i = first; i < first + n; ++i) {
    drsim::v1::PutResponse resp;
    if (put_key(*stub, prefix + std::to_string(i), &resp).ok()) ++acked;
  }
  return acked;
}

// k0..k49 acknowledged; the primary's data dir kept aside as it is at seq 50 (stopped for the
// copy, restarted); k50..k99 acknowledged and on the standby; then the primary stopped and the
// older data dir put back — as after a host crash without --fsync: the primary has lost seq
// 51..100. It is left stopped.
void primary_loses_seq_51_to_100(TestTopology& topo) {
  namespace fs = std::filesystem;
  ASSERT_EQ(put_keys(topo, "k", 0, 50), 50);
  topo.kill("primary");
  const fs::path data = fs::path(topo.state().at("primary").data_dir);
  const fs::path older = data.string() + "-at-50";
  fs::copy(data, older, fs::copy_options::recursive);
  ASSERT_TRUE(topo.restart("primary").is_ok());
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));
  ASSERT_EQ(put_keys(topo, "k", 50, 50), 50);  // seq 51..100
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") >= 100; }, 10s));
  topo.kill("primary");
  fs::remove_all(data);
  fs::rename(older, data);
}

int active_regions(TestTopology& topo) {
  int active = 0;
  for (const char* region : {"primary", "secondary"}) {
    if (topo.status(region).role() == drsim::v1::ROLE_ACTIVE) ++active;
  }
  return active;
}

// The operator sequence of issue 13: `drsim failover`, then at once `drsim failover --region
// primary`, under load. The old code left both regions active (epoch 3 and 2), both taking writes.
TEST(NeverTwoActives, FailoverThenFailoverBackAtOnceUnderLoadLeavesOneActiveRegion) {
  TestTopology topo;  // sync replication, probe 100 ms, tolerated 2, TTL 500 ms
  ASSERT_TRUE(topo.ok());
  cli::LoadOptions lo = standard_load(topo);
  cli::LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.stats().writes_ok > 100; }, 10s));

  // The region a failover supersedes: until the background fence reaches it (milliseconds) it
  // may still say active, but its lease is over (the promotion waited it out with the witness),
  // so it acknowledges nothing; then it steps down to the new epoch.
  auto superseded = [&](const char* region, uint64_t epoch) {
    auto st = topo.status(region);
    if (st.role() == drsim::v1::ROLE_ACTIVE) {
      EXPECT_NE(st.lease().state(), "held") << region << " holds a lease after the failover";
    }
    EXPECT_TRUE(wait_until(
        [&] {
          auto now = topo.status(region);
          return now.role() == drsim::v1::ROLE_STANDBY && now.epoch() == epoch;
        },
        5s))
        << region << " did not step down to epoch " << epoch << ": "
        << topo.status(region).fenced_reason();
  };
  auto fo1 = cli::region_failover(topo.address("secondary"), "test: first failover");
  ASSERT_TRUE(fo1.is_ok()) << fo1.status().message();
  EXPECT_EQ(fo1->new_epoch(), 2u);
  // The witness answered the lease wait: the secondary serves at once, fencing in the background.
  EXPECT_NE(fo1->message().find("serving at once: the lease witness and this region both "
                                "refused primary's old epoch"),
            std::string::npos)
      << fo1->message();
  superseded("primary", 2);

  auto fo2 = cli::region_failover(topo.address("primary"), "test: failover back at once");
  ASSERT_TRUE(fo2.is_ok()) << fo2.status().message();
  EXPECT_EQ(fo2->new_epoch(), 3u);
  EXPECT_NE(fo2->message().find("serving at once"), std::string::npos) << fo2->message();
  superseded("secondary", 3);
  auto secondary_stub = topo.workload_stub("secondary");
  drsim::v1::PutResponse resp;
  grpc::Status refused = put_key(*secondary_stub, "to-the-fenced-secondary", &resp);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "fenced secondary acknowledged a write at epoch " << resp.result().epoch();
  EXPECT_NE(refused.error_message().find("active region is primary"), std::string::npos)
      << refused.error_message();

  // One active region at every sample while the load goes on.
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(active_regions(topo), 1) << "two active regions at sample " << i;
    std::this_thread::sleep_for(30ms);
  }
  ASSERT_TRUE(wait_until([&] { return load.first_ok_write_by("primary", fo2->promoted_unix_nanos()) != 0; },
                         10s))
      << "no client write acknowledged by primary after the second failover";
  load.stop();

  // A failover towards the region that is already active is refused, with what is current.
  auto fo3 = cli::region_failover(topo.address("primary"), "test: third failover");
  ASSERT_FALSE(fo3.is_ok());
  EXPECT_EQ(fo3.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(fo3.status().message().find("primary is already active at epoch 3"),
            std::string::npos)
      << fo3.status().message();

  auto history = load.history();
  std::vector<model::Promotion> promotions{{2, fo1->promoted_unix_nanos(), {}, "secondary"},
                                           {3, fo2->promoted_unix_nanos(), {}, "primary"}};
  auto after_fencing = model::writes_acked_after_fencing(history, promotions);
  EXPECT_EQ(after_fencing.count(), 0u) << "writes acknowledged by a superseded region";
  uint64_t by_primary_after = 0;
  for (const auto& op : history) {
    if (op.outcome != model::Outcome::kOk || !model::is_write(op.kind) ||
        op.invoke_ns <= fo2->promoted_unix_nanos()) {
      continue;
    }
    EXPECT_EQ(op.region, "primary") << "write " << op.id << " acknowledged at epoch " << op.epoch;
    EXPECT_EQ(op.epoch, 3u);
    ++by_primary_after;
  }
  EXPECT_GT(by_primary_after, 0u);
}

// Issue 13: after SIGCONT the old primary answers SERVING at its old epoch; the Traffic Manager
// must not route to it (nor count the blip as a new failover). The peers (and the primary's
// lease witness) are pointed at dead addresses so the resumed primary cannot learn the new
// epoch, and its lease check is off (the broken variant): with the lease it would stop serving
// by itself, and this test is about the Traffic Manager's own guard, the second line of defence.
// It serves at epoch 1 for good, the worst case of "before it learns it is fenced".
constexpr char kAsyncWebWithoutLease[] = R"(
workloads:
  - { name: vm-web, mode: async }
testing:
  ack_writes_without_lease: true
)";

TEST(EpochAwareRouting, ResumedSupersededPrimaryIsNeverAnsweredByTheTrafficManager) {
  TestTopology topo(kAsyncWebWithoutLease);
  ASSERT_TRUE(topo.ok());
  const std::string tm = topo.address("trafficmgr");
  cli::RoutingWatcher watcher(tm, "drsim");
  ASSERT_TRUE(cli::region_set_peer(topo.address("primary"), "127.0.0.1:1").is_ok());
  ASSERT_TRUE(cli::region_set_peer(topo.address("secondary"), "127.0.0.1:1").is_ok());
  ASSERT_TRUE(cli::region_set_witness(topo.address("primary"), "127.0.0.1:1").is_ok());

  int64_t fault_ns = wall_now_unix_nanos();
  topo.signal("primary", SIGSTOP);
  ASSERT_NE(watcher.wait_endpoint_status("primary", drsim::v1::ENDPOINT_DEGRADED, fault_ns, 10s),
            0)
      << "Traffic Manager never marked the frozen primary Degraded";
  auto fo = cli::region_failover(topo.address("secondary"), "test: primary frozen");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  EXPECT_EQ(fo->new_epoch(), 2u);
  ASSERT_NE(watcher.wait_route("secondary", fault_ns, 10s), 0) << "never routed to secondary";
  auto before = cli::tm_endpoints(tm, "drsim");
  ASSERT_TRUE(before.is_ok()) << before.status().message();
  ASSERT_GT(before->last_failover_unix_nanos(), 0);

  int64_t resume_ns = wall_now_unix_nanos();
  topo.signal("primary", SIGCONT);
  ASSERT_TRUE(wait_until([&] {
    auto st = cli::region_status(topo.address("primary"));
    return st.is_ok() && st->role() == drsim::v1::ROLE_ACTIVE && st->epoch() == 1u;
  }, 5s)) << "the resumed primary is not answering as active at epoch 1";
  int answered_primary = 0;
  for (auto end = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < end;) {
    auto route = cli::tm_resolve(tm, "drsim");
    ASSERT_TRUE(route.is_ok()) << route.status().message();
    if (route->endpoint() == "primary") ++answered_primary;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(answered_primary, 0) << "Resolve answered the superseded primary";
  for (const auto& e : watcher.events()) {
    if (e.unix_nanos() < resume_ns) continue;
    EXPECT_FALSE(e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED &&
                 e.new_route().find("primary") != std::string::npos)
        << "route changed to " << e.new_route() << " (" << e.reason() << ")";
    EXPECT_FALSE(e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS &&
                 e.endpoint() == "primary" && e.new_status() == drsim::v1::ENDPOINT_ONLINE)
        << "primary came back Online at epoch 1";
  }
  auto after = cli::tm_endpoints(tm, "drsim");
  ASSERT_TRUE(after.is_ok()) << after.status().message();
  EXPECT_EQ(after->newest_epoch(), 2u);
  EXPECT_EQ(after->last_failover_unix_nanos(), before->last_failover_unix_nanos())
      << "a flap was recorded as a new failover";
  EXPECT_EQ(after->routing(), "secondary");
  for (const auto& e : after->endpoints()) {
    if (e.name() != "primary") continue;
    EXPECT_EQ(e.region_epoch(), 1u);
    EXPECT_EQ(e.region_role(), "active");
    EXPECT_EQ(e.superseded(),
              "superseded: answered SERVING as active at epoch 1, but secondary reported epoch 2");
    EXPECT_FALSE(e.routed());
  }
}

// Issue 17's reproducer: one Hello claiming the peer's name with epoch 2^64-1. It must be refused
// with both epochs named, leave the standby's epoch alone, not stop replication, and not make the
// next failover wrap to 0. A Fence with the same claim is refused the same way.
TEST(EpochBounds, ForgedHelloAtTheLargestEpochIsRefusedAndChangesNothing) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  drsim::v1::PutResponse resp;
  ASSERT_TRUE(put_key(*primary, "before", &resp).ok());
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") >= 1; }, 10s));

  // The forger holds the primary's certificate (only the peer may call Replication at all).
  {
    HelloAnswer forged = forge_hello(topo, "primary", "secondary", "primary", UINT64_MAX);
    ASSERT_TRUE(forged.reply) << "no answer to the forged hello";
    const drsim::v1::ReplicationReply& reply = *forged.reply;
    ASSERT_TRUE(reply.has_reject()) << "forged hello at epoch 2^64-1 was accepted";
    EXPECT_EQ(reply.reject().code(), static_cast<int>(StatusCode::kFailedPrecondition));
    EXPECT_NE(reply.reject().message().find("epoch 18446744073709551615 claimed by primary"),
              std::string::npos)
        << reply.reject().message();
    EXPECT_NE(reply.reject().message().find("has seen (1)"), std::string::npos)
        << reply.reject().message();
    EXPECT_EQ(forged.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  auto stub =
      drsim::v1::Replication::NewStub(topo.channel_as("primary", topo.address("secondary")));
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::FenceRequest req;
    req.set_region("primary");
    req.set_epoch(UINT64_MAX);
    drsim::v1::FenceReply reply;
    grpc::Status s = stub->Fence(&ctx, req, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
    EXPECT_NE(s.error_message().find("has seen (1)"), std::string::npos) << s.error_message();
  }
  auto st = topo.status("secondary");
  EXPECT_EQ(st.epoch(), 1u);
  EXPECT_EQ(st.role(), drsim::v1::ROLE_STANDBY);

  // Replication goes on from the real primary.
  ASSERT_TRUE(put_key(*primary, "after", &resp).ok());
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") >= 2; }, 10s))
      << "replication stopped after the forged hello";
  EXPECT_TRUE(topo.status("primary").replication_connected());

  // And the next failover moves to epoch 2, not past the largest epoch to 0.
  auto fo = cli::region_failover(topo.address("secondary"), "test: after a forged hello");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  EXPECT_EQ(fo->new_epoch(), 2u);
}

// A primary whose store lost acknowledged writes its standby holds — its host crashed without
// --fsync, or an older copy of its data dir was put back (done here) — must not serve: it would
// hand out the lost writes' seqs again, and a re-protect from it would erase them on the standby.
// It refuses writes and re-protect naming what to do, health says NOT_SERVING, and the
// operator's failover to the standby keeps every acknowledged write. The old code served on,
// writing seq 101.. at epoch 1 over a history the standby already had.
TEST(LostWrites, APrimaryRestartedBehindItsStandbyRefusesWritesUntilTheOperatorFailsOverToIt) {
  TestTopology topo;  // sync: every write acknowledged is on the standby
  ASSERT_TRUE(topo.ok());
  ASSERT_NO_FATAL_FAILURE(primary_loses_seq_51_to_100(topo));
  ASSERT_TRUE(topo.restart("primary").is_ok());

  auto stub = topo.workload_stub("primary");
  grpc::Status refused;
  ASSERT_TRUE(refuses_for_lost_writes(*stub, "after-restart", &refused));
  EXPECT_NE(refused.error_message().find("fail over to secondary"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(topo.status("primary").workloads(0).last_seq(), 50u);
  auto reprotect = cli::region_reprotect(topo.address("primary"), "test: re-protect from behind", 10s);
  EXPECT_EQ(reprotect.status().code(), StatusCode::kFailedPrecondition)
      << reprotect.status().message();

  auto fo = cli::region_failover(topo.address("secondary"), "test: fail over to what has them");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  auto secondary = topo.workload_stub("secondary");
  ASSERT_TRUE(topo.wait_until_lease_held("secondary", 5s));
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    drsim::v1::GetRequest req;
    req.set_workload("vm-web");
    req.set_key("k" + std::to_string(i));
    drsim::v1::GetResponse got;
    grpc::Status s = secondary->Get(&ctx, req, &got);
    ASSERT_TRUE(s.ok()) << "k" << i << ": " << s.error_message();
    EXPECT_EQ(got.value(), "value-of-k" + std::to_string(i)) << "acknowledged write k" << i << " lost";
  }
  EXPECT_EQ(topo.status("primary").role(), drsim::v1::ROLE_STANDBY);
}

// The same loss, but the restarted primary cannot reach its standby within its restart check
// (the replication link is cut): it serves on after the timeout, at epoch 1, and its writes take
// the lost writes' seqs — by (epoch, seq) both logs then look alike up to the standby's newest.
// Once the link heals it must stop (the old code served on and shipped seq 101.. on top of a
// standby whose 51..100 are other writes), and the operator's failover and re-protect must leave
// both regions with the lost writes, the restarted primary's own writes after seq 50 rolled
// back (the old planner took seq 100 as common and kept them on the primary).
TEST(LostWrites, APrimaryThatWroteOverLostSeqsWhileCutOffStopsAndReprotectRollsItsWritesBack) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto cli = [&](std::vector<std::string> args) {
    args.push_back("--home");
    args.push_back(topo.home());
    auto r = run_binary("drsim", args, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  };
  ASSERT_NO_FATAL_FAILURE(primary_loses_seq_51_to_100(topo));
  cli({"inject", "partition", "--link", "replication"});
  ASSERT_TRUE(topo.restart("primary").is_ok());

  // Its restart check times out (2 s) with the standby unreachable: it serves again.
  auto stub = topo.workload_stub("primary");
  drsim::v1::PutResponse resp;
  ASSERT_TRUE(wait_until([&] { return put_key(*stub, "n0", &resp).ok(); }, 20s));
  ASSERT_EQ(resp.result().seq(), 51u);
  ASSERT_EQ(put_keys(topo, "n", 1, 59), 59);  // seq 52..110, acknowledged (async)
  EXPECT_EQ(topo.status("primary").workloads(0).last_seq(), 110u);

  cli({"heal"});
  grpc::Status refused;
  ASSERT_TRUE(refuses_for_lost_writes(*stub, "after-heal", &refused));
  EXPECT_NE(refused.error_message().find("wrote seq 51.."), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(topo.applied_seq("secondary", "vm-web"), 100u) << "seq 101.. shipped over other writes";

  auto fo = cli::region_failover(topo.address("secondary"), "test: fail over to what has them");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  auto rp = cli::region_reprotect(topo.address("secondary"), "test: re-protect the primary", 20s);
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("primary", "vm-web") >= 100; }, 15s));

  for (const char* region : {"secondary", "primary"}) {
    auto reader = topo.workload_stub(region);
    auto get = [&](const std::string& key) {
      grpc::ClientContext ctx;
      net::set_deadline(ctx, 2s);
      drsim::v1::GetRequest req;
      req.set_workload("vm-web");
      req.set_key(key);
      req.set_allow_stale(true);  // the primary is the standby here
      drsim::v1::GetResponse got;
      EXPECT_TRUE(reader->Get(&ctx, req, &got).ok()) << region << " " << key;
      return got;
    };
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ(get("k" + std::to_string(i)).value(), "value-of-k" + std::to_string(i))
          << region << ": acknowledged write k" << i << " lost";
    }
    for (int i = 0; i < 60; ++i) {
      EXPECT_FALSE(get("n" + std::to_string(i)).found())
          << region << " kept n" << i << ", a write of the primary's own branch";
    }
  }
}

}  // namespace
}  // namespace drsim::testing
