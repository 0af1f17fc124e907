// Replication between real region daemons on loopback: catch-up, resume after
// a standby restart with no gap and no duplicate, and what the standby refuses.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "cli/rpc_clients.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/replication.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/test_topology.h"
#include "tests/support/tmpfs.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
using drsim::v1::GetStatusResponse;

constexpr char kAsyncTopology[] = R"(
workloads:
  - { name: vm-web, mode: async }
  - { name: vm-db, mode: async }
)";

// Writes `n` puts to `workload` in batches of 100 through the region's
// Workload service; returns how many were acknowledged.
int write_batches(drsim::v1::Workload::Stub& stub, const std::string& workload, int first, int n) {
  int acked = 0;
  for (int i = first; i < first + n; i += 100) {
    drsim::v1::WriteBatchRequest req;
    for (int k = i; k < std::min(first + n, i + 100); ++k) {
      auto* put = req.add_ops()->mutable_put();
      put->set_workload(workload);
      put->set_key("key-" + std::to_string(k % 500));
      put->set_value("value-" + std::to_string(k));
    }
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::WriteBatchResponse resp;
    if (stub.WriteBatch(&ctx, req, &resp).ok()) acked += resp.results_size();
  }
  return acked;
}

// Writes `n` values of almost 1 MiB to `workload` (keys big-0..), one per WriteBatch; returns
// how many were acknowledged.
int write_big_values(drsim::v1::Workload::Stub& stub, const std::string& workload, int n) {
  const std::string big((1u << 20) - 64, 'v');
  int acked = 0;
  for (int i = 0; i < n; ++i) {
    drsim::v1::WriteBatchRequest req;
    auto* put = req.add_ops()->mutable_put();
    put->set_workload(workload);
    put->set_key("big-" + std::to_string(i));
    put->set_value(big);
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::WriteBatchResponse resp;
    if (stub.WriteBatch(&ctx, req, &resp).ok()) ++acked;
  }
  return acked;
}

uint64_t last_seq(const GetStatusResponse& st, const std::string& workload) {
  for (const auto& w : st.workloads()) {
    if (w.name() == workload) return w.last_seq();
  }
  return 0;
}

TEST(Replication, StandbyCatchesUpWithEveryAcknowledgedWrite) {
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-web", 0, 5000), 5000);
  ASSERT_EQ(write_batches(*primary, "vm-db", 0, 3000), 3000);
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = topo.status("secondary");
        return last_seq(st, "vm-web") == 5000 && last_seq(st, "vm-db") == 3000;
      },
      10s))
      << "secondary did not apply seq 5000 / 3000 within 10 s";
  // The standby's ack reaches the primary a moment after the standby applied.
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = topo.status("primary");
        for (const auto& w : p.workloads()) {
          if (w.acked_seq() != w.last_seq() || w.lag_writes() != 0) return false;
        }
        return true;
      },
      5s))
      << "primary never saw its standby acknowledge every write";
  auto secondary = topo.workload_stub("secondary");
  EXPECT_EQ(scan_all(*primary, "vm-web"), scan_all(*secondary, "vm-web"));
  EXPECT_EQ(scan_all(*primary, "vm-db"), scan_all(*secondary, "vm-db"));
}

TEST(Replication, ConcurrentWritersNeverMakeTheStandbySeeAGap) {
  // Regression: frames once reached the standby's loop out of order when two
  // gRPC threads raced, so the standby refused a "gap" and the stream restarted.
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  std::vector<std::thread> writers;
  std::atomic<int> acked{0};
  for (int c = 0; c < 4; ++c) {
    writers.emplace_back([&, c] {
      auto stub = topo.workload_stub("primary");
      acked += write_batches(*stub, c % 2 ? "vm-web" : "vm-db", c * 100000, 20000);
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(acked.load(), 80000);
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = topo.status("secondary");
        return last_seq(st, "vm-web") == 40000 && last_seq(st, "vm-db") == 40000;
      },
      20s))
      << "secondary did not catch up";
  auto st = topo.status("primary");
  EXPECT_EQ(st.replication_refusals(), 0u);
  EXPECT_EQ(st.replication_reconnects(), 0u);
}

TEST(Replication, StandbyKilledAndRestartedResumesWithoutGapOrDuplicate) {
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-web", 0, 2000), 2000);
  topo.kill("secondary");
  // The active region keeps accepting (async) writes while its standby is down.
  ASSERT_EQ(write_batches(*primary, "vm-web", 2000, 3000), 3000);
  EXPECT_TRUE(wait_until([&] { return !topo.status("primary").replication_connected(); }, 5s));
  ASSERT_TRUE(topo.restart("secondary").is_ok());
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 5000; },
                         10s))
      << "restarted secondary did not catch up to seq 5000";
  // Seqs are dense and applied once each: the standby's cursor equals the
  // source's, and its data equals the source's data.
  EXPECT_EQ(last_seq(topo.status("primary"), "vm-web"), 5000u);
  auto secondary = topo.workload_stub("secondary");
  EXPECT_EQ(scan_all(*primary, "vm-web"), scan_all(*secondary, "vm-web"));
}

TEST(Replication, ABacklogOfLargeValuesReachesTheStandbyInFramesItAccepts) {
  // Regression: the source cut a change batch by bytes only between workloads, so one
  // workload's backlog of 1 MiB values made a frame of up to --max-batch-changes MiB; beyond
  // the standby's 16 MiB receive limit the stream failed on every reconnect and replication
  // never caught up. Now a frame is cut inside a workload's range at 4 MiB. (And a Scan page of
  // 1 MiB values exceeded the client's 4 MiB receive limit: pages are cut at 2 MiB.)
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  topo.kill("secondary");
  auto primary = topo.workload_stub("primary");
  constexpr int kWrites = 24;  // 24 MiB of backlog: more than one 16 MiB message
  ASSERT_EQ(write_big_values(*primary, "vm-web", kWrites), kWrites);
  ASSERT_TRUE(topo.restart("secondary").is_ok());
  ASSERT_TRUE(wait_until(
      [&] { return last_seq(topo.status("secondary"), "vm-web") == kWrites; }, 20s))
      << "the standby applied seq " << last_seq(topo.status("secondary"), "vm-web") << " of "
      << kWrites << "; reconnects " << topo.status("primary").replication_reconnects();
  auto secondary = topo.workload_stub("secondary");
  EXPECT_EQ(scan_all(*primary, "vm-web"), scan_all(*secondary, "vm-web"));
}

TEST(Replication, AStandbyOnAFullDiskRefusesBatchesAndCatchesUpOnceThereIsRoom) {
  // The real daemon on a real file system: the standby's data dir moves onto a tmpfs that a
  // filler leaves with less than the 16 MiB reserve free. The standby refuses the batches (the
  // primary counts the rejects; before, nothing refused and a write RocksDB could not make
  // durable aborted the standby), stays up, and applies them once the filler is gone.
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-web", 0, 200), 200);
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 200; }, 10s));
  auto unmount = restart_on_tmpfs(topo, "secondary");
  ASSERT_TRUE(unmount);
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));

  // Leave 1 MiB free: below the reserve. (RocksDB itself would still take these writes into the
  // WAL space it preallocated; the store refuses before it is that full.)
  const auto filler = fill_leaving(unmount->dir, 1u << 20);
  ASSERT_FALSE(filler.empty());
  const uint64_t refusals_before = topo.status("primary").replication_refusals();

  constexpr int kBig = 3;  // async: acknowledged by the primary alone
  ASSERT_EQ(write_big_values(*primary, "vm-web", kBig), kBig);
  const pid_t standby = topo.pid("secondary");
  auto refused = [&] { return topo.status("primary").replication_refusals() > refusals_before; };
  wait_until([&] { return refused() || ::kill(standby, 0) != 0; }, 10s);
  ASSERT_EQ(::kill(standby, 0), 0) << "the standby stopped on a full disk";
  ASSERT_TRUE(refused()) << "the standby never refused a batch on its full disk";
  EXPECT_EQ(last_seq(topo.status("secondary"), "vm-web"), 200u);

  std::filesystem::remove(filler);
  ASSERT_TRUE(
      wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 200 + kBig; }, 30s))
      << "the standby applied seq " << last_seq(topo.status("secondary"), "vm-web") << " of "
      << 200 + kBig << " after its disk had room again";
  auto secondary = topo.workload_stub("secondary");
  EXPECT_EQ(scan_all(*primary, "vm-web"), scan_all(*secondary, "vm-web"));
}

TEST(Replication, AnActiveRegionOnAFullDiskRefusesWritesAndServesAgainOnceThereIsRoom) {
  // The active region's data dir on a tmpfs left with 1 MiB free: a client write is refused
  // RESOURCE_EXHAUSTED "disk full" and the region stays up (before, the failed RocksDB write
  // aborted it: "durable write failed"); no seq is used by the refused writes, so once there is
  // room the next writes continue the log without a gap and the standby catches up.
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  ASSERT_EQ(write_batches(*topo.workload_stub("primary"), "vm-web", 0, 200), 200);
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 200; }, 10s));
  auto unmount = restart_on_tmpfs(topo, "primary");
  ASSERT_TRUE(unmount);
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-web", 200, 100), 100) << "the restarted primary does not serve";

  const auto filler = fill_leaving(unmount->dir, 1u << 20);
  ASSERT_FALSE(filler.empty());
  for (int i = 0; i < 3; ++i) {
    drsim::v1::WriteBatchRequest req;
    auto* put = req.add_ops()->mutable_put();
    put->set_workload("vm-web");
    put->set_key("full-" + std::to_string(i));
    put->set_value(std::string(64 << 10, 'f'));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    drsim::v1::WriteBatchResponse resp;
    grpc::Status s = primary->WriteBatch(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_NE(s.error_message().find("disk full: "), std::string::npos) << s.error_message();
  }
  ASSERT_EQ(::kill(topo.pid("primary"), 0), 0) << "the active region stopped on a full disk";
  EXPECT_EQ(last_seq(topo.status("primary"), "vm-web"), 300u);

  std::filesystem::remove(filler);
  ASSERT_TRUE(wait_until([&] { return write_batches(*primary, "vm-web", 300, 1) == 1; }, 10s))
      << "the active region did not take writes once its disk had room";
  EXPECT_EQ(last_seq(topo.status("primary"), "vm-web"), 301u) << "the refused writes used seqs";
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 301; }, 10s));
  EXPECT_EQ(scan_all(*primary, "vm-web"), scan_all(*topo.workload_stub("secondary"), "vm-web"));
}

// Nearly full rather than full: 40 MiB free, more than a write needs but less than RocksDB
// needs besides it (a new write-ahead log is preallocated at 1.1 x the write buffer, flushes and
// compactions write whole files). Writes of 1 MiB go on until the region refuses them; it must
// refuse before RocksDB runs out of room, as a failed RocksDB write is not something drsim can
// recover from (Debian's RocksDB even asserts on the next use of a log that failed to write).
TEST(Replication, AnActiveRegionFillingItsDiskRefusesWritesBeforeRocksDbRunsOutOfRoom) {
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  auto unmount = restart_on_tmpfs(topo, "primary");
  ASSERT_TRUE(unmount);
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));
  const auto filler = fill_leaving(unmount->dir, 40u << 20);
  ASSERT_FALSE(filler.empty());
  auto primary = topo.workload_stub("primary");
  const std::string value((1u << 20) - 64, 'v');
  grpc::Status last;
  int acked = 0;
  for (int i = 0; i < 80 && last.ok(); ++i) {  // 80 MiB: twice what is free
    drsim::v1::WriteBatchRequest req;
    auto* put = req.add_ops()->mutable_put();
    put->set_workload("vm-web");
    put->set_key("fill-" + std::to_string(i));
    put->set_value(value);
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 10s);
    drsim::v1::WriteBatchResponse resp;
    last = primary->WriteBatch(&ctx, req, &resp);
    if (last.ok()) ++acked;
  }
  EXPECT_EQ(last.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "after " << acked << " writes of 1 MiB: " << last.error_message();
  EXPECT_NE(last.error_message().find("disk full: "), std::string::npos) << last.error_message();
  ASSERT_EQ(::kill(topo.pid("primary"), 0), 0)
      << "the active region stopped after " << acked << " writes of 1 MiB";
  EXPECT_EQ(last_seq(topo.status("primary"), "vm-web"), static_cast<uint64_t>(acked));
  std::filesystem::remove(filler);
  EXPECT_TRUE(wait_until([&] { return write_batches(*primary, "vm-web", 0, 1) == 1; }, 10s));
}

TEST(Replication, ActiveKilledAndRestartedKeepsEveryAcknowledgedWrite) {
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-db", 0, 4000), 4000);
  auto before = scan_all(*primary, "vm-db");
  topo.kill("primary");
  ASSERT_TRUE(topo.restart("primary").is_ok());
  auto st = topo.status("primary");
  EXPECT_EQ(last_seq(st, "vm-db"), 4000u);
  auto restarted = topo.workload_stub("primary");
  EXPECT_EQ(scan_all(*restarted, "vm-db"), before);
  // It confirms its epoch with the standby and serves again.
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));
  EXPECT_EQ(write_batches(*restarted, "vm-db", 4000, 100), 100);
}

TEST(Standby, RefusesClientWritesNamingTheActiveRegionAndReportsNotServing) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto secondary = topo.workload_stub("secondary");
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 2s);
  drsim::v1::PutRequest req;
  req.set_workload("vm-web");
  req.set_key("k");
  req.set_value("v");
  drsim::v1::PutResponse resp;
  grpc::Status s = secondary->Put(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("active region is primary"), std::string::npos)
      << s.error_message();

  auto health = grpc::health::v1::Health::NewStub(cli::operator_channel(topo.address("secondary")));
  grpc::ClientContext hctx;
  net::set_deadline(hctx, 2s);
  grpc::health::v1::HealthCheckRequest hreq;
  hreq.set_service("drsim.v1.Workload");
  grpc::health::v1::HealthCheckResponse hresp;
  ASSERT_TRUE(health->Check(&hctx, hreq, &hresp).ok());
  EXPECT_EQ(hresp.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

// Reads are fenced as writes are: a standby's copy lags, so a client's Get or Scan there is
// refused naming the active region; allow_stale (an operator's inspection) reads what it holds.
TEST(Standby, RefusesReadsNamingTheActiveRegionUnlessTheyAllowStaleData) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  drsim::v1::PutResponse put_resp;
  ASSERT_TRUE(put_key(*primary, "k", &put_resp).ok());
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") >= 1; }, 10s));
  auto get = [&](drsim::v1::Workload::Stub& stub, bool allow_stale, drsim::v1::GetResponse* got) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    drsim::v1::GetRequest req;
    req.set_workload("vm-web");
    req.set_key("k");
    req.set_allow_stale(allow_stale);
    return stub.Get(&ctx, req, got);
  };
  auto secondary = topo.workload_stub("secondary");
  drsim::v1::GetResponse got;
  grpc::Status s = get(*secondary, false, &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("region secondary is the standby; the active region is primary"),
            std::string::npos)
      << s.error_message();
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    drsim::v1::ScanRequest req;
    req.set_workload("vm-web");
    drsim::v1::ScanResponse resp;
    EXPECT_EQ(secondary->Scan(&ctx, req, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  ASSERT_TRUE(get(*secondary, true, &got).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), "value-of-k");
  EXPECT_EQ(got.region(), "secondary");
  ASSERT_TRUE(get(*primary, false, &got).ok());
  EXPECT_EQ(got.value(), "value-of-k");
  EXPECT_EQ(got.region(), "primary");
}

TEST(BadInput, WriteRpcsGetTheFittingStatusAndChangeNothing) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  struct Case {
    std::string workload, key;
    size_t value_bytes;
    grpc::StatusCode want;
  };
  std::vector<Case> cases = {{"no-such-vm", "k", 10, grpc::StatusCode::NOT_FOUND},
                             {"vm-web", "", 10, grpc::StatusCode::INVALID_ARGUMENT},
                             {"vm-web", std::string(2000, 'k'), 10,
                              grpc::StatusCode::INVALID_ARGUMENT},
                             {"vm-web", "k", (1u << 20) + 1, grpc::StatusCode::INVALID_ARGUMENT}};
  for (const auto& c : cases) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    drsim::v1::PutRequest req;
    req.set_workload(c.workload);
    req.set_key(c.key);
    req.set_value(std::string(c.value_bytes, 'v'));
    drsim::v1::PutResponse resp;
    grpc::Status s = primary->Put(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), c.want) << c.workload << " key " << c.key.size() << " bytes: "
                                      << s.error_message();
    auto md = ctx.GetServerTrailingMetadata().find("drsim-applied");
    ASSERT_NE(md, ctx.GetServerTrailingMetadata().end());
    EXPECT_EQ(std::string(md->second.data(), md->second.size()), "no");
  }
  // An empty batch, and a batch with one bad op among good ones: all refused.
  {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 2s);
    drsim::v1::WriteBatchRequest req;
    auto* good = req.add_ops()->mutable_put();
    good->set_workload("vm-web");
    good->set_key("good");
    auto* bad = req.add_ops()->mutable_put();
    bad->set_workload("vm-web");
    drsim::v1::WriteBatchResponse resp;
    grpc::Status s = primary->WriteBatch(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("ops[1]"), std::string::npos) << s.error_message();
  }
  auto st = topo.status("primary");
  for (const auto& w : st.workloads()) EXPECT_EQ(w.last_seq(), 0u) << w.name();
  // The daemon is still fine.
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 2s);
  drsim::v1::PutRequest req;
  req.set_workload("vm-web");
  req.set_key("k");
  req.set_value("v");
  drsim::v1::PutResponse resp;
  EXPECT_TRUE(primary->Put(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.result().seq(), 1u);
}

}  // namespace
}  // namespace drsim::testing

namespace drsim::testing {
namespace {

// A hand-driven replication stream to a region, for frames no real source sends (over a
// channel presenting the peer region's certificate: only the peer may open one).
class RawStream {
 public:
  explicit RawStream(std::shared_ptr<grpc::Channel> channel)
      : stub_(drsim::v1::Replication::NewStub(std::move(channel))) {
    net::set_deadline(ctx_, 5s);
    stream_ = stub_->Stream(&ctx_);
  }
  bool send(const drsim::v1::ReplicationFrame& f) { return stream_->Write(f); }
  bool read(drsim::v1::ReplicationReply* r) { return stream_->Read(r); }
  grpc::Status finish() {
    stream_->WritesDone();
    drsim::v1::ReplicationReply r;
    while (stream_->Read(&r)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<drsim::v1::Replication::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<drsim::v1::ReplicationFrame, drsim::v1::ReplicationReply>>
      stream_;
};

drsim::v1::ReplicationFrame hello(const std::string& region, uint64_t epoch) {
  drsim::v1::ReplicationFrame f;
  f.mutable_hello()->set_region(region);
  f.mutable_hello()->set_epoch(epoch);
  return f;
}

drsim::v1::ReplicationFrame batch(uint64_t epoch, const std::string& workload, uint64_t seq) {
  drsim::v1::ReplicationFrame f;
  f.mutable_batch()->set_epoch(epoch);
  auto* c = f.mutable_batch()->add_changes();
  c->set_workload(workload);
  c->set_epoch(epoch);
  c->set_seq(seq);
  c->set_op(drsim::v1::OP_PUT);
  c->set_key("rogue");
  c->set_value("rogue");
  return f;
}

TEST(Replication, MalformedAndOutOfOrderFramesAreRefusedAndChangeNothing) {
  TestTopology topo(kAsyncTopology);
  ASSERT_TRUE(topo.ok());
  std::string standby = topo.address("secondary");
  struct Case {
    std::string what;
    std::vector<drsim::v1::ReplicationFrame> frames;
    grpc::StatusCode want;
  };
  std::vector<Case> cases = {
      {"batch before hello", {batch(1, "vm-web", 1)}, grpc::StatusCode::FAILED_PRECONDITION},
      {"empty frame", {drsim::v1::ReplicationFrame()}, grpc::StatusCode::INVALID_ARGUMENT},
      // A Hello must claim the region of the caller's certificate (docs/security.md), so a
      // name that is not it — malformed or not — is refused before anything else.
      {"bad region name", {hello("no such/region", 1)}, grpc::StatusCode::PERMISSION_DENIED},
      {"another region's name", {hello("rogue", 1)}, grpc::StatusCode::PERMISSION_DENIED},
      {"gap", {hello("primary", 1), batch(1, "vm-web", 7)}, grpc::StatusCode::OUT_OF_RANGE},
      {"unknown workload", {hello("primary", 1), batch(1, "vm-nope", 1)},
       grpc::StatusCode::INVALID_ARGUMENT},
      {"stale epoch", {hello("primary", 0)}, grpc::StatusCode::FAILED_PRECONDITION},
  };
  for (const auto& c : cases) {
    RawStream s(topo.channel_as("primary", standby));
    for (const auto& f : c.frames) s.send(f);
    grpc::Status st = s.finish();
    EXPECT_EQ(st.error_code(), c.want) << c.what << ": " << st.error_message();
  }
  // The standby is unharmed and still takes the real primary's stream.
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, "vm-web", 0, 1000), 1000);
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == 1000; },
                         10s));
  auto secondary = topo.workload_stub("secondary");
  auto data = scan_all(*secondary, "vm-web");
  EXPECT_EQ(data.count("rogue"), 0u);
  EXPECT_EQ(data, scan_all(*primary, "vm-web"));
}

// 10,000 workloads with long names: their list (~390 KB) is past Linux's 128 KiB limit on one
// argument and the old 64-workload cap, so the daemons get it by file (--workloads-file). An ack
// answers the workloads a batch named — one here — not all 10,000.
TEST(Scale, TenThousandWorkloadsComeUpByFileAndAnAckListsOnlyTheWorkloadTouched) {
  constexpr int kWorkloads = 10000;
  auto name = [](int i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "a-workload-with-a-rather-long-name-%05d", i);
    return std::string(buf);
  };
  std::string yaml = "workloads:\n";
  size_t list_bytes = 0;
  for (int i = 0; i < kWorkloads; ++i) {
    yaml += "  - { name: " + name(i) + ", mode: async }\n";
    list_bytes += name(i).size() + 7;  // "name:async,"
  }
  ASSERT_GT(list_bytes, 200'000u);
  TestTopology topo(yaml);
  ASSERT_TRUE(topo.ok());
  EXPECT_EQ(topo.status("secondary").workloads_size(), kWorkloads);
  EXPECT_EQ(topo.status("primary").workloads_size(), kWorkloads);
  // Replication works across them: a write to the last one reaches the standby.
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_batches(*primary, name(kWorkloads - 1), 0, 100), 100);
  ASSERT_TRUE(wait_until(
      [&] { return last_seq(topo.status("secondary"), name(kWorkloads - 1)) == 100; }, 20s));

  // The real primary gone, a hand-driven stream speaks for it without being superseded.
  topo.kill("primary");
  std::string standby = topo.address("secondary");
  drsim::v1::ReplicationReply reply;
  RawStream s(topo.channel_as("primary", standby));
  ASSERT_TRUE(s.send(hello("primary", 1)));
  ASSERT_TRUE(s.read(&reply));
  ASSERT_TRUE(reply.has_welcome()) << reply.DebugString().substr(0, 200);
  EXPECT_EQ(reply.welcome().durable_size(), kWorkloads);  // a hello still lists them all
  ASSERT_TRUE(s.send(batch(1, name(7), 1)));
  ASSERT_TRUE(s.read(&reply));
  ASSERT_TRUE(reply.has_ack()) << reply.DebugString().substr(0, 200);
  ASSERT_EQ(reply.ack().durable_size(), 1);
  EXPECT_EQ(reply.ack().durable(0).workload(), name(7));
  EXPECT_EQ(reply.ack().durable(0).seq(), 1u);
  s.finish();
}

}  // namespace
}  // namespace drsim::testing
