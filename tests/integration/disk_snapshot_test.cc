// Disk snapshots, images and the cost report between real region daemons on loopback: a
// snapshot taken under load holds the disk exactly at one seq and a disk created from it has
// those keys byte for byte; an incremental chain stores only what changed (measured) and stays
// restorable when a snapshot is deleted and after SIGKILL + restart; capturing an image
// generalizes the VM (no writes, no start) and a VM from the image has every disk; the cost
// figures are the used sizes times the price list over the backup clock.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/rpc_clients.h"
#include "common/model/backup/cost_meter.h"
#include "tests/integration/backup_fixture.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr double kMonthNanos = 730.0 * 3600 * 1e9;

uint64_t used_bytes(const KeyMap& keys) {
  uint64_t n = 0;
  for (const auto& [k, v] : keys) n += k.size() + v.size();
  return n;
}

Result<v1::CreateSnapshotResponse> snapshot(cli::BackupClient& b, const std::string& disk,
                                            const std::string& name, bool incremental) {
  v1::CreateSnapshotRequest req;
  req.set_disk(disk);
  req.set_snapshot(name);
  req.set_incremental(incremental);
  return b.create_snapshot(req);
}

Result<KeyMap> disk_from(cli::BackupClient& b, const std::string& snap, const std::string& disk,
                         const std::string& attach_to = "") {
  v1::CreateDiskRequest req;
  req.set_snapshot(snap);
  req.set_disk(disk);
  req.set_attach_to_vm(attach_to);
  auto r = b.create_disk(req);
  if (!r.is_ok()) return r.status();
  return b.read_disk(disk);
}

const v1::SnapshotInfo* find_snapshot(const v1::ListSnapshotsResponse& l, const std::string& n) {
  for (const auto& s : l.snapshots()) {
    if (s.name() == n) return &s;
  }
  return nullptr;
}

TEST(DiskSnapshot, FullSnapshotUnderLoadIsTheDiskAtOneSeqByteForByte) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  Writer writer(*stub, "vm-db");
  writer.start();
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= 2000; }, 20s))
      << "the writer did not get 2000 writes acknowledged";
  auto snap = snapshot(b, "vm-db-osdisk", "snap-db", /*incremental=*/false);
  ASSERT_TRUE(snap.is_ok()) << snap.status().message();
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= 4000; }, 20s));
  writer.stop();
  const auto& s = snap->snapshot();
  ASSERT_GT(s.source_seq(), 0u);
  const KeyMap expected = writer.state_at(s.source_seq());
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(s.kind(), "full");
  EXPECT_EQ(s.vm(), "vm-db");
  EXPECT_EQ(s.keys(), expected.size());
  // Billed on the used size, not the 64 GiB provisioned.
  EXPECT_EQ(s.size_bytes(), 64 * kGiB);
  EXPECT_EQ(s.used_bytes(), used_bytes(expected));
  EXPECT_EQ(s.billed_bytes(), s.used_bytes());
  EXPECT_EQ(s.stored_bytes(), s.used_bytes());
  EXPECT_NE(scan_all(*stub, "vm-db"), expected) << "the load should have moved past the snapshot";

  // Corrupt the live state; the snapshot still holds the old disk.
  del(*stub, "vm-db", expected.begin()->first);
  put(*stub, "vm-db", expected.rbegin()->first, "corrupted");
  auto restored = disk_from(b, "snap-db", "vm-db-restored");
  ASSERT_TRUE(restored.is_ok()) << restored.status().message();
  EXPECT_EQ(*restored, expected);
  // A snapshot of that disk (not a hosted one) reads the created disk.
  auto again = snapshot(b, "vm-db-restored", "snap-restored", false);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(again->snapshot().used_bytes(), s.used_bytes());
  EXPECT_EQ(snapshot(b, "vm-db-osdisk", "snap-db", false).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(snapshot(b, "no-such-disk", "x", false).status().code(), StatusCode::kNotFound);
  EXPECT_THAT(snapshot(b, "vm-db-osdisk", "", false).status().message(), HasSubstr("snapshot:"));
  EXPECT_EQ(disk_from(b, "snap-db", "vm-db-restored").status().code(), StatusCode::kAlreadyExists);
}

TEST(DiskSnapshot, IncrementalChainStoresOnlyTheChangesAndSurvivesDeleteAndRestart) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  for (int i = 0; i < 300; ++i) {
    put(*stub, "vm-db", "row-" + std::to_string(1000 + i), std::string(100, 'a' + i % 26));
  }
  const KeyMap first = scan_all(*stub, "vm-db");
  auto s1 = snapshot(b, "vm-db-osdisk", "inc-1", /*incremental=*/true);
  ASSERT_TRUE(s1.is_ok()) << s1.status().message();
  EXPECT_EQ(s1->snapshot().kind(), "incremental");
  EXPECT_EQ(s1->snapshot().base(), "");
  EXPECT_EQ(s1->snapshot().stored_bytes(), used_bytes(first)) << "the first of a chain is full";

  // 10 rows rewritten, 3 new, 2 deleted.
  uint64_t changed = 0, deleted = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string k = "row-" + std::to_string(1000 + i * 7);
    const std::string v = "changed-" + std::to_string(i);
    put(*stub, "vm-db", k, v);
    changed += k.size() + v.size();
  }
  for (int i = 0; i < 3; ++i) {
    const std::string k = "new-" + std::to_string(i);
    put(*stub, "vm-db", k, "fresh");
    changed += k.size() + 5;
  }
  for (const std::string k : {"row-1200", "row-1201"}) {
    del(*stub, "vm-db", k);
    deleted += k.size();
  }
  const KeyMap second = scan_all(*stub, "vm-db");
  auto s2 = snapshot(b, "vm-db-osdisk", "inc-2", true);
  ASSERT_TRUE(s2.is_ok()) << s2.status().message();
  EXPECT_EQ(s2->snapshot().base(), "inc-1");
  EXPECT_EQ(s2->snapshot().used_bytes(), used_bytes(second));
  // Stored: the changed keys and the deleted keys' names, not the whole disk.
  EXPECT_EQ(s2->snapshot().stored_bytes(), changed + deleted);
  EXPECT_LT(s2->snapshot().stored_bytes() * 10, s2->snapshot().used_bytes());
  EXPECT_EQ(s2->snapshot().billed_bytes(), changed);
  EXPECT_EQ(s2->snapshot().keys(), second.size());

  // Each resolves through the chain to the disk at its own instant.
  EXPECT_EQ(*disk_from(b, "inc-1", "d-inc-1"), first);
  EXPECT_EQ(*disk_from(b, "inc-2", "d-inc-2"), second);

  // Deleting the first moves its data into the second, which stays restorable on its own and
  // now bills its whole used size.
  v1::DeleteSnapshotRequest del_req;
  del_req.set_snapshot("inc-1");
  auto gone = b.delete_snapshot(del_req);
  ASSERT_TRUE(gone.is_ok()) << gone.status().message();
  EXPECT_EQ(gone->merged_into(), "inc-2");
  auto listed = b.list_snapshots();
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(find_snapshot(*listed, "inc-1"), nullptr);
  const auto* merged = find_snapshot(*listed, "inc-2");
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->billed_bytes(), used_bytes(second));
  EXPECT_EQ(merged->base(), "");
  EXPECT_EQ(*disk_from(b, "inc-2", "d-inc-2b"), second);

  // A third after more changes; then SIGKILL and restart: the chain is replayed from the log.
  put(*stub, "vm-db", "row-1299", "last");
  KeyMap third = second;
  third["row-1299"] = "last";
  auto s3 = snapshot(b, "vm-db-osdisk", "inc-3", true);
  ASSERT_TRUE(s3.is_ok()) << s3.status().message();
  EXPECT_EQ(s3->snapshot().stored_bytes(), std::string("row-1299last").size());
  topo.kill("primary");
  Status restarted = topo.restart("primary");
  ASSERT_TRUE(restarted.is_ok()) << restarted.message();
  cli::BackupClient after(topo.address("primary"));
  auto relisted = after.list_snapshots();
  ASSERT_TRUE(relisted.is_ok()) << relisted.status().message();
  ASSERT_EQ(relisted->snapshots_size(), 2);
  const auto* s3_after = find_snapshot(*relisted, "inc-3");
  ASSERT_NE(s3_after, nullptr);
  EXPECT_EQ(s3_after->base(), "inc-2");
  EXPECT_EQ(s3_after->billed_bytes(), s3->snapshot().billed_bytes());
  EXPECT_EQ(*disk_from(after, "inc-3", "d-inc-3"), third);
  EXPECT_EQ(*disk_from(after, "inc-2", "d-inc-2c"), second);
}

TEST(Image, CaptureGeneralizesTheSourceAndANewVmFromItHasEveryDisk) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  for (int i = 0; i < 40; ++i) put(*stub, "vm-web", "page-" + std::to_string(i), "html");
  put(*stub, "vm-db", "row", "1");
  const KeyMap os_keys = scan_all(*stub, "vm-web");
  // A data disk for vm-web: from a snapshot of vm-db's disk.
  ASSERT_TRUE(snapshot(b, "vm-db-osdisk", "db-snap", false).is_ok());
  auto data = disk_from(b, "db-snap", "vm-web-data0", "vm-web");
  ASSERT_TRUE(data.is_ok()) << data.status().message();

  v1::CaptureImageRequest cap;
  cap.set_vm("vm-web");
  cap.set_image("img-web");
  auto running = b.capture_image(cap);
  EXPECT_EQ(running.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(running.status().message(), HasSubstr("stop (deallocate) it"));

  v1::SetVmRequest stop;
  stop.set_vm("vm-web");
  stop.set_running(false);
  ASSERT_TRUE(b.set_vm(stop).is_ok());
  auto image = b.capture_image(cap);
  ASSERT_TRUE(image.is_ok()) << image.status().message();
  ASSERT_EQ(image->image().disks_size(), 2);
  EXPECT_EQ(image->image().disks(0).kind(), "os");
  EXPECT_EQ(image->image().disks(0).disk(), "vm-web-osdisk");
  EXPECT_EQ(image->image().disks(1).disk(), "vm-web-data0");
  EXPECT_EQ(image->image().billed_bytes(), used_bytes(os_keys) + used_bytes(*data));

  // Generalized: no client writes, no start, no second capture.
  Status write = try_put(*stub, "vm-web", "page-0", "after");
  EXPECT_EQ(write.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(write.message(), HasSubstr("generalized"));
  v1::SetVmRequest start = stop;
  start.set_running(true);
  auto started = b.set_vm(start);
  EXPECT_EQ(started.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(started.status().message(), HasSubstr("cannot start again"));
  EXPECT_EQ(b.capture_image(cap).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(try_put(*stub, "vm-db", "row", "2").is_ok()) << "other VMs still take writes";

  v1::CreateVmFromImageRequest create;
  create.set_image("img-web");
  create.set_vm("vm-web2");
  auto vm = b.create_vm_from_image(create);
  ASSERT_TRUE(vm.is_ok()) << vm.status().message();
  EXPECT_EQ(vm->vm().power(), "Running");
  ASSERT_EQ(vm->vm().disks_size(), 2);
  EXPECT_EQ(*b.read_disk(vm->vm().disks(0)), os_keys);
  EXPECT_EQ(*b.read_disk(vm->vm().disks(1)), *data);
  EXPECT_EQ(b.create_vm_from_image(create).status().code(), StatusCode::kAlreadyExists);
  // An image serves its own region only.
  cli::BackupClient secondary(topo.address("secondary"));
  create.set_vm("vm-web3");
  EXPECT_THAT(secondary.create_vm_from_image(create).status().message(),
              HasSubstr("its own region only"));

  // The generalization is durable.
  topo.kill("primary");
  ASSERT_TRUE(topo.restart("primary").is_ok());
  auto stub2 = topo.workload_stub("primary");
  // Restarted, the primary first confirms its epoch and takes its lease (UNAVAILABLE until
  // then); once it serves, the generalized VM's writes are refused.
  Status put_after;
  EXPECT_TRUE(wait_until(
      [&] {
        put_after = try_put(*stub2, "vm-web", "page-0", "after");
        return put_after.code() != StatusCode::kUnavailable;
      },
      10s))
      << put_after.message();
  EXPECT_EQ(put_after.code(), StatusCode::kFailedPrecondition) << put_after.message();
  cli::BackupClient after(topo.address("primary"));
  auto images = after.list_images();
  ASSERT_TRUE(images.is_ok());
  ASSERT_EQ(images->images_size(), 1);
  EXPECT_EQ(images->images(0).source_vm(), "vm-web");

  // The standby holds the same VM: after a failover it does not start there either.
  topo.kill("primary");
  auto fo = cli::region_failover(topo.address("secondary"), "test: primary killed");
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  auto standby = topo.workload_stub("secondary");
  Status refused;
  EXPECT_TRUE(wait_until(
      [&] {
        refused = try_put(*standby, "vm-web", "page-0", "after failover");
        return refused.code() == StatusCode::kFailedPrecondition;
      },
      10s))
      << "the new active region took a write to the generalized VM: " << refused.message();
  EXPECT_THAT(refused.message(),
              HasSubstr("generalized (captured into image img-web in region primary)"));
  EXPECT_TRUE(try_put(*standby, "vm-db", "row", "3").is_ok()) << "other VMs still take writes";
  v1::SetVmRequest start_there = start;
  EXPECT_EQ(secondary.set_vm(start_there).status().code(), StatusCode::kFailedPrecondition);
}

TEST(Cost, ReportIsUsedSizeTimesPriceOverTheBackupClock) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  for (int i = 0; i < 100; ++i) {
    put(*stub, "vm-db", "row-" + std::to_string(i), std::string(200, 'x'));
  }
  protect(b, "rsv-cost", "vm-db", v1::REDUNDANCY_LRS);
  auto point = backup_now(b, "rsv-cost", "vm-db");
  ASSERT_TRUE(point.is_ok()) << point.status().message();
  // Protection stopped, data retained: no more scheduled backups, the fees go on.
  v1::StopProtectionRequest stop;
  stop.set_vault("rsv-cost");
  stop.set_vm("vm-db");
  ASSERT_TRUE(b.stop_protection(stop).is_ok());
  auto snap = snapshot(b, "vm-db-osdisk", "snap-cost", false);
  ASSERT_TRUE(snap.is_ok()) << snap.status().message();
  ASSERT_TRUE(advance(b, kDayNanos).is_ok());

  v1::CostRequest req;
  auto* p = req.mutable_prices();
  p->set_snapshot_per_gib_month(0.5);
  p->set_backup_lrs_per_gib_month(0.25);
  p->set_backup_grs_per_gib_month(0.75);
  p->set_backup_zrs_per_gib_month(0.3);
  p->set_image_per_gib_month(0.6);
  p->set_small_instance_per_month(7);
  p->set_instance_unit_per_month(11);
  auto check = [&](cli::BackupClient& client) {
    auto r = client.cost(req);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    auto line = [&](const std::string& item, const std::string& kind) -> const v1::CostLineInfo* {
      for (const auto& l : r->lines()) {
        if (l.item() == item && l.kind() == kind) return &l;
      }
      ADD_FAILURE() << "no cost line " << item << " " << kind;
      return nullptr;
    };
    const double to = static_cast<double>(r->to_nanos());
    auto months = [&](int64_t since) { return (to - static_cast<double>(since)) / kMonthNanos; };
    auto gib = [](uint64_t bytes) { return static_cast<double>(bytes) / kGiB; };
    const auto& s = snap->snapshot();
    const auto& pt = point->point();
    const auto* l = line("snap-cost", "snapshot");
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->bytes_now(), s.used_bytes());
    EXPECT_NEAR(l->cost(), gib(s.used_bytes()) * months(s.created_nanos()) * 0.5, 1e-12);
    l = line("rsv-cost/vm-db", "backup-storage-lrs");
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->bytes_now(), pt.used_bytes());
    EXPECT_NEAR(l->cost(), gib(pt.used_bytes()) * months(pt.created_nanos()) * 0.25, 1e-12);
    // The instant-restore snapshot bills at the snapshot price while it is kept (2 days).
    l = line("rsv-cost/vm-db/instant-restore", "snapshot");
    ASSERT_NE(l, nullptr);
    const double kept = std::min(to - static_cast<double>(pt.created_nanos()), 2.0 * kDayNanos);
    EXPECT_NEAR(l->cost(), gib(pt.used_bytes()) * kept / kMonthNanos * 0.5, 1e-12);
    // Up to 50 GiB: the small instance fee a month.
    l = line("rsv-cost/vm-db", "protected-instance");
    ASSERT_NE(l, nullptr);
    EXPECT_NEAR(l->quantity(), months(pt.created_nanos()), 1e-9);
    EXPECT_NEAR(l->cost(), 7 * months(pt.created_nanos()), 1e-9);
    double sum = 0;
    for (const auto& x : r->lines()) sum += x.cost();
    EXPECT_NEAR(r->total(), sum, 1e-12);
    EXPECT_GT(months(pt.created_nanos()), 1.0 / 31);
  };
  check(b);
  // Rebuilt from the vault log after SIGKILL + restart.
  topo.kill("primary");
  ASSERT_TRUE(topo.restart("primary").is_ok());
  cli::BackupClient after(topo.address("primary"));
  check(after);
  // Past the instant-restore days: that line stops growing, the others do not.
  ASSERT_TRUE(advance(after, 2 * kDayNanos).is_ok());
  check(after);

  p->set_snapshot_per_gib_month(-1);
  auto bad = after.cost(req);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("prices.snapshot_per_gib_month"));
}

TEST(Cost, PricesComeFromAFileCheckedFieldByFieldAndEveryDiskVerbHasHelp) {
  for (const std::vector<std::string>& verb : {std::vector<std::string>{"snapshot", "create"},
                                               {"snapshot", "list"},
                                               {"snapshot", "delete"},
                                               {"snapshot", "create-disk"},
                                               {"image", "capture"},
                                               {"image", "list"},
                                               {"image", "create-vm"},
                                               {"cost"}}) {
    std::vector<std::string> args = verb;
    args.push_back("--help");
    auto r = run_binary("drsim", args, 10s);
    EXPECT_EQ(r.exit_code, 0) << verb[0] << ": " << r.output;
    EXPECT_NE(r.output.find("--region"), std::string::npos) << verb[0];
  }
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  const std::string dir = make_temp_dir("drsim-prices");
  const std::string path = dir + "/prices.yaml";
  struct Case {
    std::string text, want;
  };
  const std::vector<Case> cases = {
      {"prices:\n  snapshot_per_gib_month: -1\n",
       path + ":2: prices.snapshot_per_gib_month: -1.000000 must be a finite price >= 0"},
      {"prices:\n  image_per_gib_month: cheap\n",
       path + ":2: prices.image_per_gib_month: 'cheap' is not a number"},
      {"prices:\n  snapshot_per_gb: 1\n", path + ":2: prices.snapshot_per_gb: unknown field"},
      {"prices:\n  currency: usd\n",
       path + ":2: prices.currency: 'usd' must be an ISO 4217 code, three capital letters (USD, "
              "EUR)"},
      {"snapshot_per_gib_month: 1\n", path + ":1: prices: required"},  // last: the drill below
  };
  for (const auto& c : cases) {
    {
      std::ofstream out(path, std::ios::trunc);
      out << c.text;
    }
    auto r = run_binary("drsim", {"cost", "--prices", path, "--home", topo.home()}, 20s);
    EXPECT_EQ(r.exit_code, 2) << c.text << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos)
        << "want: " << c.want << "\ngot: " << r.output;
  }
  // A drill step's price file is next to the drill and checked before anything runs.
  {
    std::ofstream out(dir + "/drill.yaml");
    out << "name: x\nsteps:\n  - drsim: cost --prices prices.yaml\n";
  }
  auto drill =
      run_binary("drsim", {"drill", "run", dir + "/drill.yaml", "--home", dir + "/h"}, 20s);
  EXPECT_EQ(drill.exit_code, 2) << drill.output;
  EXPECT_NE(drill.output.find(dir + "/drill.yaml:3: steps[0].drsim: " + path + ":1: prices: required"),
            std::string::npos)
      << drill.output;

  {
    std::ofstream out(path, std::ios::trunc);
    out << "prices:\n  currency: EUR\n  small_instance_per_month: 3.5\n";
  }
  cli::BackupClient b(topo.address("primary"));
  put(*topo.workload_stub("primary"), "vm-web", "page", "home");
  protect(b, "rsv-file", "vm-web", v1::REDUNDANCY_ZRS);
  ASSERT_TRUE(backup_now(b, "rsv-file", "vm-web").is_ok());
  auto r = run_binary("drsim", {"cost", "--prices", path, "--home", topo.home(), "--json"}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"small_instance_per_month\": 3.5"), std::string::npos) << r.output;
  // Fields left out keep the default list prices.
  EXPECT_NE(r.output.find("\"snapshot_per_gib_month\": " +
                          std::to_string(model::PriceList{}.snapshot_per_gib_month).substr(0, 4)),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("backup-storage-zrs"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"currency\": \"EUR\""), std::string::npos) << r.output;
  // The text report: the currency named, sizes in binary units, amounts to the cent (the exact
  // figures are the JSON's), never a bare exponent.
  r = run_binary("drsim", {"cost", "--prices", path, "--home", topo.home()}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("prices in EUR per GiB-month:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("COST EUR"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" B "), std::string::npos) << "no size in bytes: " << r.output;
  EXPECT_NE(r.output.find("<0.01"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("e-0"), std::string::npos) << "an exponent: " << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drsim::testing
