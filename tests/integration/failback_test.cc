// Fail back with zero loss, with real processes: planned failover (drain, then swap roles),
// re-protect after an unplanned failover (the former primary's unreplicated writes are rolled
// back, then a delta), full resync when its data is gone, and the refusals.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "cli/final_state.h"
#include "cli/load_generator.h"
#include "cli/rpc_clients.h"
#include "common/model/drill/history_checker.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/admin.grpc.pb.h"
#include "tests/support/test_topology.h"
#include "tests/support/tmpfs.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
using drsim::v1::GetStatusResponse;

constexpr char kAsyncWeb[] = R"(
workloads:
  - { name: vm-web, mode: async }
)";

constexpr char kAsyncBoth[] = R"(
workloads:
  - { name: vm-web, mode: async }
  - { name: vm-db, mode: async }
)";

grpc::Status reprotect(const std::string& address, drsim::v1::ReprotectResponse* resp,
                       const std::string& reason = "test",
                       std::chrono::milliseconds deadline = 60s) {
  auto stub = drsim::v1::RegionAdmin::NewStub(cli::operator_channel(address));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, deadline);
  drsim::v1::ReprotectRequest req;
  req.set_reason(reason);
  return stub->Reprotect(&ctx, req, resp);
}

grpc::Status planned_failover(const std::string& address, drsim::v1::PlannedFailoverResponse* resp,
                              bool and_reprotect = false, uint32_t drain_timeout_ms = 0) {
  auto stub = drsim::v1::RegionAdmin::NewStub(cli::operator_channel(address));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 30s);
  drsim::v1::PlannedFailoverRequest req;
  req.set_reason("test: planned");
  req.set_reprotect(and_reprotect);
  req.set_drain_timeout_ms(drain_timeout_ms);
  return stub->PlannedFailover(&ctx, req, resp);
}

// Writes keys [first, first + n) of `workload` (value = prefix + key, padded to value_bytes) in
// batches of 100; returns how many were acknowledged.
int write_keys(drsim::v1::Workload::Stub& stub, const std::string& workload, int first, int n,
               const std::string& prefix, size_t value_bytes = 32) {
  int acked = 0;
  for (int i = first; i < first + n; i += 100) {
    drsim::v1::WriteBatchRequest req;
    for (int k = i; k < std::min(first + n, i + 100); ++k) {
      auto* put = req.add_ops()->mutable_put();
      put->set_workload(workload);
      put->set_key("key-" + std::to_string(k));
      std::string value = prefix + std::to_string(k);
      if (value.size() < value_bytes) value.append(value_bytes - value.size(), '.');
      put->set_value(value);
    }
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 10s);
    drsim::v1::WriteBatchResponse resp;
    grpc::Status st = stub.WriteBatch(&ctx, req, &resp);
    if (st.ok()) acked += resp.results_size();
    else std::cout << "[write_keys] batch at " << i << " refused: " << st.error_message() << "\n";
  }
  return acked;
}

grpc::Status write_ops(drsim::v1::Workload::Stub& stub, const drsim::v1::WriteBatchRequest& req) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 10s);
  drsim::v1::WriteBatchResponse resp;
  return stub.WriteBatch(&ctx, req, &resp);
}

uint64_t data_bytes(const std::map<std::string, std::string>& data) {
  uint64_t n = 0;
  for (const auto& [k, v] : data) n += k.size() + v.size();
  return n;
}

uint64_t last_seq(const GetStatusResponse& st, const std::string& workload) {
  for (const auto& w : st.workloads()) {
    if (w.name() == workload) return w.last_seq();
  }
  return 0;
}

const drsim::v1::WorkloadResyncStats* workload_stats(const drsim::v1::ResyncStats& r,
                                                     const std::string& workload) {
  for (const auto& w : r.workloads()) {
    if (w.workload() == workload) return &w;
  }
  return nullptr;
}

// Kills the primary and fails over to the secondary (epoch 2).
void kill_primary_and_fail_over(TestTopology& topo) {
  topo.kill("primary");
  auto fo = cli::region_failover(topo.address("secondary"), "test: primary killed");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  ASSERT_EQ(fo->new_epoch(), 2u);
  ASSERT_TRUE(topo.wait_until_lease_held("secondary", 5s));
}

// Restarts the former primary, which steps down to standby when the secondary refuses its stream.
void restart_primary_as_standby(TestTopology& topo) {
  ASSERT_TRUE(topo.restart("primary").is_ok());
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = cli::region_status(topo.address("primary"));
        return st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY && st->epoch() == 2;
      },
      10s))
      << "restarted former primary did not step down to standby at epoch 2";
}

void print_resync(const char* what, const drsim::v1::ResyncStats& r, uint64_t data) {
  std::cout << "[resync] " << what
            << ": kind=" << (r.kind() == drsim::v1::RESYNC_KIND_DELTA ? "delta" : "full")
            << " bytes=" << r.bytes() << " data_bytes=" << data
            << " ratio=" << (data ? 100.0 * r.bytes() / data : 0.0)
            << "% duration_ms=" << r.duration_ms() << " changes=" << r.changes()
            << " keys_copied=" << r.keys_copied() << " rolled_back=" << r.rolled_back_entries()
            << " restored=" << r.restored_keys() << "\n";
}

// --- planned failover ------------------------------------------------------------------------

TEST(PlannedFailover, UnderClientLoadLosesNoAcknowledgedWriteAndFormerPrimaryBecomesStandby) {
  TestTopology topo(R"(
workloads:
  - { name: vm-web, mode: async }
  - { name: vm-db, mode: sync }
)");
  ASSERT_TRUE(topo.ok());
  cli::LoadOptions lo = standard_load(topo);
  cli::LoadGenerator load(lo);
  load.start();
  ASSERT_TRUE(wait_until([&] { return load.stats().writes_ok > 200; }, 10s));

  int64_t switch_ns = wall_now_unix_nanos();
  drsim::v1::PlannedFailoverResponse pf;
  grpc::Status s = planned_failover(topo.address("secondary"), &pf);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pf.new_epoch(), 2u);
  EXPECT_EQ(pf.drained_size(), 2);
  EXPECT_EQ(pf.protection(), drsim::v1::REGION_PROTECTION_UNPROTECTED);
  std::cout << "[planned] writes paused " << pf.writes_paused_ms() << " ms, request took "
            << pf.duration_ms() << " ms\n";

  auto primary = topo.status("primary");
  EXPECT_EQ(primary.role(), drsim::v1::ROLE_STANDBY);
  EXPECT_EQ(primary.epoch(), 2u);
  EXPECT_NE(primary.fenced_reason().find("planned failover"), std::string::npos)
      << primary.fenced_reason();
  // The secondary holds exactly what the primary wrote, up to the drained point.
  auto secondary = topo.status("secondary");
  EXPECT_EQ(secondary.role(), drsim::v1::ROLE_ACTIVE);
  EXPECT_EQ(secondary.protection(), drsim::v1::REGION_PROTECTION_UNPROTECTED);
  for (const auto& c : pf.drained()) EXPECT_EQ(last_seq(primary, c.workload()), c.seq());

  ASSERT_TRUE(wait_until([&] { return load.first_ok_write_by("secondary", switch_ns) != 0; }, 10s))
      << "no client write acknowledged by secondary after the planned failover";
  std::this_thread::sleep_for(300ms);
  load.stop();

  auto history = load.history();
  auto final_state = cli::read_final_state(topo.address("secondary"), lo.workloads);
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  auto check = model::check_history(history, *final_state);
  EXPECT_EQ(check.lost_count, 0u) << "first lost: "
                                  << (check.lost.empty() ? "" : check.lost[0].key);
  EXPECT_GT(check.ok_writes_by_region["primary"], 0u);
  EXPECT_GT(check.ok_writes_by_region["secondary"], 0u);

  // The former primary refuses writes; re-protect is a delta with nothing to roll back.
  auto old = topo.workload_stub("primary");
  EXPECT_EQ(write_keys(*old, "vm-web", 0, 1, "late-"), 0);
  drsim::v1::ReprotectResponse rp;
  s = reprotect(topo.address("secondary"), &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rp.resync().kind(), drsim::v1::RESYNC_KIND_DELTA);
  EXPECT_EQ(rp.resync().rolled_back_entries(), 0u);
  EXPECT_EQ(rp.protection(), drsim::v1::REGION_PROTECTION_PROTECTED);
  auto active = topo.workload_stub("secondary");
  for (const auto& w : lo.workloads) EXPECT_EQ(scan_all(*old, w), scan_all(*active, w)) << w;
}

TEST(PlannedFailover, FailbackRoundTripKeepsEveryWriteAndEndsProtected) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  auto secondary = topo.workload_stub("secondary");
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, 500, "p1-"), 500);
  drsim::v1::PlannedFailoverResponse pf;
  grpc::Status s = planned_failover(topo.address("secondary"), &pf, /*and_reprotect=*/true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pf.protection(), drsim::v1::REGION_PROTECTION_PROTECTED);
  ASSERT_EQ(write_keys(*secondary, "vm-web", 250, 500, "s2-"), 500);
  // Fail back: the primary (now the protected standby) becomes active again at epoch 3.
  ASSERT_TRUE(wait_until([&] { return topo.status("secondary").replication_connected(); }, 10s));
  s = planned_failover(topo.address("primary"), &pf, true);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pf.new_epoch(), 3u);
  EXPECT_EQ(topo.status("primary").role(), drsim::v1::ROLE_ACTIVE);
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
  ASSERT_EQ(write_keys(*primary, "vm-web", 700, 100, "p3-"), 100);
  ASSERT_TRUE(wait_until(
      [&] {
        return last_seq(topo.status("secondary"), "vm-web") ==
               last_seq(topo.status("primary"), "vm-web");
      },
      10s));
  auto data = scan_all(*primary, "vm-web");
  EXPECT_EQ(data.size(), 800u);
  EXPECT_EQ(data.at("key-0").substr(0, 3), "p1-");
  EXPECT_EQ(data.at("key-300").substr(0, 3), "s2-");
  EXPECT_EQ(data.at("key-799").substr(0, 3), "p3-");
  EXPECT_EQ(data, scan_all(*secondary, "vm-web"));
}

TEST(PlannedFailover, RefusedWhenTheActiveRegionIsUnreachableOrOnTheActiveRegion) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  drsim::v1::PlannedFailoverResponse pf;
  grpc::Status s = planned_failover(topo.address("primary"), &pf);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("already the active region"), std::string::npos);
  s = planned_failover(topo.address("secondary"), &pf, false, 700'000);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("drain_timeout_ms"), std::string::npos);

  topo.kill("primary");
  // Until the secondary noticed the stream is gone it may still see it; then it refuses.
  ASSERT_TRUE(wait_until(
      [&] {
        drsim::v1::PlannedFailoverResponse r;
        grpc::Status st = planned_failover(topo.address("secondary"), &r, false, 1000);
        return st.error_code() == grpc::StatusCode::UNAVAILABLE &&
               st.error_message().find("unplanned failover") != std::string::npos;
      },
      15s))
      << "planned failover to the secondary was not refused with UNAVAILABLE";
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
}

// --- re-protect --------------------------------------------------------------------------------

TEST(Reprotect, AfterUnplannedFailoverRollsBackTheFormerPrimarysUnreplicatedWrites) {
  TestTopology topo(kAsyncBoth);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, 1000, "v1-"), 1000);
  ASSERT_EQ(write_keys(*primary, "vm-db", 0, 300, "db1-"), 300);
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = topo.status("secondary");
        return last_seq(st, "vm-web") == 1000 && last_seq(st, "vm-db") == 300;
      },
      10s));
  auto before = scan_all(*primary, "vm-web");

  // Cut replication, then write locally on the primary (async: acknowledged, never replicated):
  // overwrite 100 keys, create 50, delete 50 — 200 entries of vm-web, 20 of vm-db.
  ASSERT_TRUE(cli::region_set_outage(topo.address("secondary"), true).is_ok());
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, 100, "lost-"), 100);
  ASSERT_EQ(write_keys(*primary, "vm-web", 5000, 50, "lost-new-"), 50);
  drsim::v1::WriteBatchRequest deletes;
  for (int k = 100; k < 150; ++k) {
    auto* d = deletes.add_ops()->mutable_delete_();
    d->set_workload("vm-web");
    d->set_key("key-" + std::to_string(k));
  }
  ASSERT_TRUE(write_ops(*primary, deletes).ok());
  ASSERT_EQ(write_keys(*primary, "vm-db", 0, 20, "db-lost-"), 20);
  EXPECT_EQ(last_seq(topo.status("primary"), "vm-web"), 1200u);

  topo.kill("primary");
  ASSERT_TRUE(cli::region_set_outage(topo.address("secondary"), false).is_ok());
  auto fo = cli::region_failover(topo.address("secondary"), "test: primary killed");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  auto secondary = topo.workload_stub("secondary");
  ASSERT_EQ(write_keys(*secondary, "vm-web", 500, 50, "after-"), 50);
  restart_primary_as_standby(topo);

  drsim::v1::ReprotectResponse rp;
  grpc::Status s = reprotect(topo.address("secondary"), &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const auto& r = rp.resync();
  print_resync("rollback", r, data_bytes(before));
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.kind(), drsim::v1::RESYNC_KIND_DELTA);
  EXPECT_EQ(r.rolled_back_entries(), 220u);
  EXPECT_EQ(r.restored_keys(), 200u + 20u);  // 100 + 50 + 50 keys of vm-web, 20 of vm-db
  EXPECT_EQ(r.changes(), 50u);
  const auto* web = workload_stats(r, "vm-web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->common_seq(), 1000u);
  EXPECT_EQ(web->common_epoch(), 1u);
  EXPECT_EQ(web->target_seq(), 1050u);
  EXPECT_EQ(rp.protection(), drsim::v1::REGION_PROTECTION_PROTECTED);

  // Key by key, both regions hold the new active region's data; the lost writes are gone.
  auto old = topo.workload_stub("primary");
  for (const char* w : {"vm-web", "vm-db"}) {
    EXPECT_EQ(scan_all(*old, w), scan_all(*secondary, w)) << w;
  }
  auto data = scan_all(*old, "vm-web");
  EXPECT_EQ(data.at("key-0"), before.at("key-0"));
  EXPECT_EQ(data.count("key-5000"), 0u);
  EXPECT_EQ(data.at("key-120"), before.at("key-120"));
  EXPECT_EQ(data.at("key-520").substr(0, 6), "after-");
  auto standby = topo.status("primary");
  EXPECT_EQ(standby.resync().kind(), drsim::v1::RESYNC_KIND_DELTA);
  EXPECT_EQ(standby.resync().rolled_back_entries(), 220u);
  EXPECT_EQ(topo.status("secondary").protection(), drsim::v1::REGION_PROTECTION_PROTECTED);

  // Protected again: new writes replicate back to the former primary.
  ASSERT_EQ(write_keys(*secondary, "vm-web", 0, 10, "later-"), 10);
  ASSERT_TRUE(wait_until([&] { return last_seq(topo.status("primary"), "vm-web") == 1060; }, 10s));
  EXPECT_EQ(scan_all(*old, "vm-web"), scan_all(*secondary, "vm-web"));
}

TEST(Reprotect, DeltaAfterOnePercentOfKeysChangedSendsAboutOnePercentOfTheData) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  constexpr int kKeys = 10000;
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, kKeys, "v1-", 1024), kKeys);
  ASSERT_TRUE(
      wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == kKeys; }, 20s));
  ASSERT_NO_FATAL_FAILURE(kill_primary_and_fail_over(topo));
  auto secondary = topo.workload_stub("secondary");
  ASSERT_EQ(write_keys(*secondary, "vm-web", 0, kKeys / 100, "v2-", 1024), kKeys / 100);
  ASSERT_NO_FATAL_FAILURE(restart_primary_as_standby(topo));

  drsim::v1::ReprotectResponse rp;
  grpc::Status s = reprotect(topo.address("secondary"), &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto data = scan_all(*secondary, "vm-web");
  uint64_t full_bytes = data_bytes(data);
  const auto& r = rp.resync();
  print_resync("delta 1%", r, full_bytes);
  EXPECT_EQ(r.kind(), drsim::v1::RESYNC_KIND_DELTA);
  EXPECT_EQ(r.changes(), static_cast<uint64_t>(kKeys / 100));
  EXPECT_EQ(r.rolled_back_entries(), 0u);
  EXPECT_LT(r.bytes(), full_bytes / 10)
      << "a 1% delta sent " << r.bytes() << " of " << full_bytes << " bytes";
  EXPECT_GT(r.bytes(), full_bytes / 200);  // it did send the changed values
  auto old = topo.workload_stub("primary");
  EXPECT_EQ(scan_all(*old, "vm-web"), data);
}

TEST(Reprotect, FullCopyWhenTheFormerPrimarysDataDirectoryWasWiped) {
  TestTopology topo(kAsyncBoth);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  constexpr int kKeys = 3000;
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, kKeys, "v1-", 1024), kKeys);
  ASSERT_EQ(write_keys(*primary, "vm-db", 0, 200, "db-", 64), 200);
  ASSERT_TRUE(
      wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == kKeys; }, 20s));
  ASSERT_NO_FATAL_FAILURE(kill_primary_and_fail_over(topo));
  auto secondary = topo.workload_stub("secondary");
  ASSERT_EQ(write_keys(*secondary, "vm-web", 100, 30, "v2-", 1024), 30);
  // The former primary's disk is gone.
  std::error_code ec;
  std::filesystem::remove_all(topo.state().at("primary").data_dir, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_NO_FATAL_FAILURE(restart_primary_as_standby(topo));

  drsim::v1::ReprotectResponse rp;
  grpc::Status s = reprotect(topo.address("secondary"), &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  auto web = scan_all(*secondary, "vm-web");
  auto db = scan_all(*secondary, "vm-db");
  uint64_t full_bytes = data_bytes(web) + data_bytes(db);
  const auto& r = rp.resync();
  print_resync("full (wiped)", r, full_bytes);
  EXPECT_EQ(r.kind(), drsim::v1::RESYNC_KIND_FULL);
  EXPECT_EQ(r.keys_copied(), web.size() + db.size());
  EXPECT_GE(r.bytes(), full_bytes);
  const auto* ws = workload_stats(r, "vm-web");
  ASSERT_NE(ws, nullptr);
  EXPECT_NE(ws->reason().find("no data"), std::string::npos) << ws->reason();
  auto old = topo.workload_stub("primary");
  EXPECT_EQ(scan_all(*old, "vm-web"), web);
  EXPECT_EQ(scan_all(*old, "vm-db"), db);
  // The copy left the standby at the snapshot's seq; the stream goes on from there.
  ASSERT_EQ(write_keys(*secondary, "vm-db", 0, 5, "db2-", 64), 5);
  ASSERT_TRUE(wait_until(
      [&] {
        return last_seq(topo.status("primary"), "vm-db") ==
               last_seq(topo.status("secondary"), "vm-db");
      },
      10s));
  EXPECT_EQ(scan_all(*old, "vm-db"), scan_all(*secondary, "vm-db"));
}

TEST(Reprotect, FullCopyCutShortByAStandbyCrashIsRedoneAndEndsIdentical) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  constexpr int kKeys = 3000;
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, kKeys, "v1-", 1024), kKeys);
  ASSERT_TRUE(
      wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == kKeys; }, 20s));
  ASSERT_NO_FATAL_FAILURE(kill_primary_and_fail_over(topo));
  std::error_code ec;
  std::filesystem::remove_all(topo.state().at("primary").data_dir, ec);
  ASSERT_NO_FATAL_FAILURE(restart_primary_as_standby(topo));
  // Slow the reverse link to 1 MB/s so the 3 MB copy is still running when the standby dies.
  drsim::v1::SetFaultRequest slow;
  slow.set_link("repl.secondary-primary");
  slow.set_direction(drsim::v1::DIRECTION_UP);
  slow.mutable_fault()->mutable_bandwidth()->set_bytes_per_second(1 << 20);
  ASSERT_TRUE(cli::fp_set_fault(topo.address("faultproxy"), slow).is_ok());

  auto stub = drsim::v1::RegionAdmin::NewStub(cli::operator_channel(topo.address("secondary")));
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 10s);
  drsim::v1::ReprotectRequest req;
  req.set_no_wait(true);
  drsim::v1::ReprotectResponse rp;
  grpc::Status s = stub->Reprotect(&ctx, req, &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rp.protection(), drsim::v1::REGION_PROTECTION_RESYNCING);
  EXPECT_EQ(rp.resync().kind(), drsim::v1::RESYNC_KIND_FULL);
  EXPECT_FALSE(rp.resync().done());
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = topo.status("primary");
        return st.protection() == drsim::v1::REGION_PROTECTION_RESYNCING &&
               st.resync().keys_copied() >= 500;
      },
      20s))
      << "the full copy never got going";
  // Half a copy is no recovery point: failing over to it is refused.
  auto fo = cli::region_failover(topo.address("primary"), "test: onto a half copy");
  ASSERT_FALSE(fo.is_ok());
  EXPECT_EQ(fo.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(fo.status().message().find("incomplete full copy"), std::string::npos)
      << fo.status().message();

  topo.kill("primary");
  ASSERT_TRUE(cli::fp_heal(topo.address("faultproxy"), "repl.secondary-primary").is_ok());
  ASSERT_TRUE(topo.restart("primary").is_ok());
  ASSERT_TRUE(wait_until(
      [&] {
        return topo.status("secondary").protection() == drsim::v1::REGION_PROTECTION_PROTECTED;
      },
      30s))
      << "re-protect did not finish after the standby came back: "
      << topo.status("secondary").fenced_reason();
  auto r = topo.status("secondary").resync();
  print_resync("full, redone after a crash", r, 0);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.kind(), drsim::v1::RESYNC_KIND_FULL);
  EXPECT_GT(r.keys_copied(), static_cast<uint64_t>(kKeys));  // part of it twice
  auto secondary = topo.workload_stub("secondary");
  auto old = topo.workload_stub("primary");
  EXPECT_EQ(scan_all(*old, "vm-web"), scan_all(*secondary, "vm-web"));
}

TEST(Reprotect, OntoAFullDiskIsRefusedWithoutStoppingTheStandbyAndDoneOnceThereIsRoom) {
  // The former primary's data is gone and its new data dir is a 256 MiB tmpfs. With 1 MiB free
  // the re-protect's hello is refused ("cannot re-protect: disk full"); with the 16 MiB reserve
  // and 512 KiB free, room for the hello but not for a 1 MiB chunk of the 12 MB full copy, the
  // copy's chunks are refused. The standby stays up through
  // both (before, the first snapshot chunk RocksDB could not write aborted it) and, once the
  // filler is gone, the re-protect completes with the active region's data.
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  auto primary = topo.workload_stub("primary");
  constexpr int kKeys = 3000;
  ASSERT_EQ(write_keys(*primary, "vm-web", 0, kKeys, "v1-", 8 << 10), kKeys);
  ASSERT_TRUE(
      wait_until([&] { return last_seq(topo.status("secondary"), "vm-web") == kKeys; }, 30s));
  ASSERT_NO_FATAL_FAILURE(kill_primary_and_fail_over(topo));
  const std::filesystem::path data = topo.state().at("primary").data_dir;
  std::filesystem::remove_all(data);
  std::filesystem::create_directory(data);
  auto unmount = mount_tmpfs(data);
  ASSERT_TRUE(unmount);
  ASSERT_NO_FATAL_FAILURE(restart_primary_as_standby(topo));
  const pid_t standby = topo.pid("primary");

  auto filler = fill_leaving(unmount->dir, 1u << 20);
  ASSERT_FALSE(filler.empty());
  drsim::v1::ReprotectResponse rp;
  grpc::Status s = reprotect(topo.address("secondary"), &rp, "test: full disk", 30s);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.error_message().find("cannot re-protect: disk full"), std::string::npos)
      << s.error_message();
  ASSERT_EQ(::kill(standby, 0), 0) << "the standby stopped on a full disk";

  std::filesystem::remove(filler);
  filler = fill_leaving(unmount->dir, (16u << 20) + (512u << 10));
  ASSERT_FALSE(filler.empty());
  const uint64_t refusals_before = topo.status("secondary").replication_refusals();
  {
    auto stub = drsim::v1::RegionAdmin::NewStub(cli::operator_channel(topo.address("secondary")));
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 10s);
    drsim::v1::ReprotectRequest req;
    req.set_no_wait(true);
    s = stub->Reprotect(&ctx, req, &rp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  auto refused = [&] { return topo.status("secondary").replication_refusals() > refusals_before; };
  wait_until([&] { return refused() || ::kill(standby, 0) != 0; }, 30s);
  ASSERT_EQ(::kill(standby, 0), 0) << "the standby stopped on a full disk during the copy";
  ASSERT_TRUE(refused()) << "the copy was never refused: "
                         << topo.status("secondary").fenced_reason();
  EXPECT_NE(topo.status("secondary").protection(), drsim::v1::REGION_PROTECTION_PROTECTED);
  // A chunk of the copy was refused, not only a hello (the standby's log says which).
  {
    std::ifstream log(std::filesystem::path(topo.home()) / "primary" / "primary.log");
    std::string line, chunk_refusal;
    while (std::getline(log, line)) {
      if (line.find("replicated changes durable, refusing them: disk full") != std::string::npos) {
        chunk_refusal = line;
      }
    }
    EXPECT_FALSE(chunk_refusal.empty()) << "no chunk of the full copy was refused";
    std::cout << "[full disk] " << chunk_refusal << "\n";
  }

  // Room again: the re-protect running goes on (a refused hello ended it: then it is asked again).
  std::filesystem::remove(filler);
  auto protected_now = [&] {
    return topo.status("secondary").protection() == drsim::v1::REGION_PROTECTION_PROTECTED;
  };
  wait_until(
      [&] {
        return protected_now() ||
               topo.status("secondary").protection() != drsim::v1::REGION_PROTECTION_RESYNCING;
      },
      30s);
  if (!protected_now()) {
    s = reprotect(topo.address("secondary"), &rp, "test: room again", 60s);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_TRUE(wait_until(protected_now, 30s));
  auto secondary = topo.workload_stub("secondary");
  EXPECT_EQ(scan_all(*topo.workload_stub("primary"), "vm-web"), scan_all(*secondary, "vm-web"));
  EXPECT_EQ(scan_all(*secondary, "vm-web").size(), static_cast<size_t>(kKeys));
}

TEST(Reprotect, RefusedBeforeFailoverOnTheStandbyAndWhileThePeerIsDown) {
  TestTopology topo(kAsyncWeb);
  ASSERT_TRUE(topo.ok());
  drsim::v1::ReprotectResponse rp;
  grpc::Status s = reprotect(topo.address("primary"), &rp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("already protected"), std::string::npos) << s.error_message();
  s = reprotect(topo.address("secondary"), &rp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("is the standby"), std::string::npos) << s.error_message();
  s = reprotect(topo.address("primary"), &rp, std::string(300, 'r'));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("reason"), std::string::npos) << s.error_message();

  // After an unplanned failover, with the former primary still down: the peer is unreachable.
  ASSERT_NO_FATAL_FAILURE(kill_primary_and_fail_over(topo));
  s = reprotect(topo.address("secondary"), &rp, "test", 20s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("unreachable"), std::string::npos) << s.error_message();
  auto st = topo.status("secondary");
  EXPECT_EQ(st.protection(), drsim::v1::REGION_PROTECTION_UNPROTECTED);
  EXPECT_NE(st.resync().error().find("unreachable"), std::string::npos) << st.resync().error();
  // The former primary (standby now) cannot re-protect either.
  ASSERT_NO_FATAL_FAILURE(restart_primary_as_standby(topo));
  s = reprotect(topo.address("primary"), &rp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  // Once it is back, re-protect works — and only once.
  s = reprotect(topo.address("secondary"), &rp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(topo.status("secondary").protection(), drsim::v1::REGION_PROTECTION_PROTECTED);
  s = reprotect(topo.address("secondary"), &rp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("already protected"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace drsim::testing
