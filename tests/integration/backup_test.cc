// Backup between real region daemons on loopback: a recovery point is the workload's exact
// state at one seq (taken under load, restored byte for byte as a new VM, as disks, and over
// the corrupted live state), the VM-agent error, soft delete on the scaled backup clock,
// scheduled backups, restart durability, and cross-region restore from the GRS copy while the
// primary is down (refused for LRS).
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "drsim/v1/backup.grpc.pb.h"
#include "tests/integration/backup_fixture.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using ::testing::HasSubstr;

TEST(Backup, RecoveryPointTakenUnderLoadRestoresByteForByte) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  protect(b, "rsv-test", "vm-db");
  auto stub = topo.workload_stub("primary");
  Writer writer(*stub, "vm-db");
  writer.start();
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= 2000; }, 20s))
      << "the writer did not get 2000 writes acknowledged";
  auto point = backup_now(b, "rsv-test", "vm-db");
  ASSERT_TRUE(point.is_ok()) << point.status().message();
  ASSERT_TRUE(wait_until([&] { return writer.acked() >= 4000; }, 20s));
  writer.stop();
  const uint64_t seq = point->point().source_seq();
  ASSERT_GT(seq, 0u);
  const KeyMap expected = writer.state_at(seq);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(point->point().keys(), expected.size());
  EXPECT_EQ(point->point().consistency(), "ApplicationConsistent");
  EXPECT_NE(scan_all(*stub, "vm-db"), expected) << "the load should have moved past the point";

  // Corrupt and delete live state, then replace it with the point.
  del(*stub, "vm-db", expected.begin()->first);
  put(*stub, "vm-db", expected.rbegin()->first, "corrupted");
  put(*stub, "vm-db", "zz-not-in-the-point", "junk");
  auto replaced = restore(b, "rsv-test", "vm-db", v1::RESTORE_REPLACE_EXISTING);
  ASSERT_TRUE(replaced.is_ok()) << replaced.status().message();
  EXPECT_EQ(replaced->source_seq(), seq);
  EXPECT_EQ(scan_all(*stub, "vm-db"), expected);
  // The restore went through the replicated write path: the standby holds it too.
  auto standby = topo.workload_stub("secondary");
  EXPECT_TRUE(wait_until([&] { return scan_all(*standby, "vm-db") == expected; }, 10s))
      << "the standby did not converge to the restored state";

  auto as_vm = restore(b, "rsv-test", "vm-db", v1::RESTORE_CREATE_VM, "vm-db-copy");
  ASSERT_TRUE(as_vm.is_ok()) << as_vm.status().message();
  EXPECT_EQ(as_vm->new_vm(), "vm-db-copy");
  auto disk = b.read_disk("vm-db-copy-vm-db-osdisk");
  ASSERT_TRUE(disk.is_ok()) << disk.status().message();
  EXPECT_EQ(*disk, expected);
  auto again = restore(b, "rsv-test", "vm-db", v1::RESTORE_CREATE_VM, "vm-db-copy");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);

  auto disks = restore(b, "rsv-test", "vm-db", v1::RESTORE_DISKS);
  ASSERT_TRUE(disks.is_ok()) << disks.status().message();
  ASSERT_EQ(disks->disks_size(), 1);
  auto restored = b.read_disk(disks->disks(0));
  ASSERT_TRUE(restored.is_ok());
  EXPECT_EQ(*restored, expected);
}

TEST(Backup, WithoutTheVmAgentFailsWithGuestAgentStatusUnavailable) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  protect(b, "rsv-agent", "vm-web");
  v1::SetVmRequest no_agent;
  no_agent.set_vm("vm-web");
  no_agent.set_agent_installed(false);
  ASSERT_TRUE(b.set_vm(no_agent).is_ok());
  auto r = backup_now(b, "rsv-agent", "vm-web");
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("UserErrorGuestAgentStatusUnavailable"));
  EXPECT_THAT(r.status().message(), HasSubstr("VM agent is missing"));
  EXPECT_THAT(r.status().message(), HasSubstr("MARS agent does not count"));

  v1::SetVmRequest agent = no_agent;
  agent.set_agent_installed(true);
  ASSERT_TRUE(b.set_vm(agent).is_ok());
  v1::SetVmRequest stopped;
  stopped.set_vm("vm-web");
  stopped.set_running(false);
  ASSERT_TRUE(b.set_vm(stopped).is_ok());
  auto crash = backup_now(b, "rsv-agent", "vm-web");
  ASSERT_TRUE(crash.is_ok()) << crash.status().message();
  EXPECT_EQ(crash->point().consistency(), "CrashConsistent");
}

TEST(Backup, SoftDeletedDataUndeletesWithin14DaysAndIsPurgedAfter) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  put(*stub, "vm-web", "page", "home");
  protect(b, "rsv-soft", "vm-web");
  ASSERT_TRUE(backup_now(b, "rsv-soft", "vm-web").is_ok());

  v1::StopProtectionRequest stop;
  stop.set_vault("rsv-soft");
  stop.set_vm("vm-web");
  stop.set_delete_data(true);
  auto deleted = b.stop_protection(stop);
  ASSERT_TRUE(deleted.is_ok()) << deleted.status().message();
  auto listed = b.list_vaults();
  ASSERT_TRUE(listed.is_ok());
  const auto* item = find_item(*listed, "rsv-soft", "vm-web");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->state(), "SoftDeleted");
  EXPECT_EQ(item->purge_at(), deleted->purge_at());
  EXPECT_THAT(restore(b, "rsv-soft", "vm-web", v1::RESTORE_CREATE_VM, "x").status().message(),
              HasSubstr("soft-deleted"));
  v1::DeleteVaultRequest dv;
  dv.set_vault("rsv-soft");
  EXPECT_EQ(b.delete_vault(dv).status().code(), StatusCode::kFailedPrecondition);

  // Day 13: still restorable by undelete.
  ASSERT_TRUE(advance(b, 13 * kDayNanos).is_ok());
  v1::ItemRequest undelete;
  undelete.set_vault("rsv-soft");
  undelete.set_vm("vm-web");
  auto back = b.undelete(undelete);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->item().state(), "ProtectionStopped");
  auto vm = restore(b, "rsv-soft", "vm-web", v1::RESTORE_CREATE_VM, "vm-web-back");
  ASSERT_TRUE(vm.is_ok()) << vm.status().message();
  EXPECT_EQ(*b.read_disk("vm-web-back-vm-web-osdisk"), (KeyMap{{"page", "home"}}));

  // Deleted again and 15 days pass: purged.
  ASSERT_TRUE(b.stop_protection(stop).is_ok());
  ASSERT_TRUE(advance(b, 15 * kDayNanos).is_ok());
  listed = b.list_vaults();
  ASSERT_TRUE(listed.is_ok());
  EXPECT_EQ(find_item(*listed, "rsv-soft", "vm-web"), nullptr);
  EXPECT_EQ(b.undelete(undelete).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(b.delete_vault(dv).is_ok());
}

TEST(Backup, ScheduledBackupsRunOnTheScaledClockAndSurviveARestart) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  put(*stub, "vm-db", "row", "1");
  protect(b, "rsv-sched", "vm-db");
  v1::SetBackupClockRequest fast;
  fast.set_time_scale(86400);  // a day a second
  ASSERT_TRUE(b.set_clock(fast).is_ok());
  auto points = [&] {
    auto l = b.list_vaults();
    const auto* item = l.is_ok() ? find_item(*l, "rsv-sched", "vm-db") : nullptr;
    return item == nullptr ? 0 : item->points_size();
  };
  ASSERT_TRUE(wait_until([&] { return points() >= 3; }, 15s))
      << "three daily backups did not run in 15 s at a day per second";
  auto l = b.list_vaults();
  ASSERT_TRUE(l.is_ok());
  const auto* item = find_item(*l, "rsv-sched", "vm-db");
  ASSERT_NE(item, nullptr);
  for (const auto& p : item->points()) {
    EXPECT_FALSE(p.on_demand());
    EXPECT_THAT(p.created(), HasSubstr("22:00"));
  }
  const int before = item->points_size();

  topo.kill("primary");  // SIGKILL: what was acknowledged must be on disk
  Status restarted = topo.restart("primary");
  ASSERT_TRUE(restarted.is_ok()) << restarted.message();
  cli::BackupClient after(topo.address("primary"));
  auto l2 = after.list_vaults();
  ASSERT_TRUE(l2.is_ok()) << l2.status().message();
  const auto* item2 = find_item(*l2, "rsv-sched", "vm-db");
  ASSERT_NE(item2, nullptr);
  EXPECT_GE(item2->points_size(), before);
  auto vm =
      restore(after, "rsv-sched", "vm-db", v1::RESTORE_CREATE_VM, "vm-db-2", item2->points(0).id());
  ASSERT_TRUE(vm.is_ok()) << vm.status().message();
  EXPECT_EQ(*after.read_disk("vm-db-2-vm-db-osdisk"), (KeyMap{{"row", "1"}}));
}

TEST(Backup, CrossRegionRestoreDuringAPrimaryOutageNeedsGrs) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient primary(topo.address("primary"));
  cli::BackupClient secondary(topo.address("secondary"));
  auto stub = topo.workload_stub("primary");
  for (int i = 0; i < 50; ++i)
    put(*stub, "vm-web", "page-" + std::to_string(i), "v" + std::to_string(i));
  put(*stub, "vm-db", "row", "1");
  protect(primary, "rsv-grs", "vm-web", v1::REDUNDANCY_GRS, /*crr=*/true);
  protect(primary, "rsv-lrs", "vm-db", v1::REDUNDANCY_LRS);
  auto grs_point = backup_now(primary, "rsv-grs", "vm-web");
  ASSERT_TRUE(grs_point.is_ok()) << grs_point.status().message();
  EXPECT_TRUE(grs_point->point().in_paired_region());
  auto lrs_point = backup_now(primary, "rsv-lrs", "vm-db");
  ASSERT_TRUE(lrs_point.is_ok()) << lrs_point.status().message();
  EXPECT_FALSE(lrs_point->point().in_paired_region());
  const KeyMap expected = scan_all(*stub, "vm-web");
  // The paired region's copy holds both vaults' metadata, and the GRS point's data.
  ASSERT_TRUE(wait_until(
      [&] {
        auto l = secondary.list_vaults();
        if (!l.is_ok()) return false;
        int points = 0;
        for (const auto& v : l->paired_copies()) {
          for (const auto& i : v.items()) points += i.points_size();
        }
        return points == 2;
      },
      10s))
      << "the paired region did not receive the vault copies";

  topo.kill("primary");
  v1::RestoreRequest crr;
  crr.set_vault("rsv-grs");
  crr.set_vm("vm-web");
  crr.set_kind(v1::RESTORE_CREATE_VM);
  crr.set_target_vm("vm-web-dr");
  crr.set_cross_region(true);
  crr.set_source_region("primary");
  auto r = secondary.restore(crr);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->region(), "secondary");
  EXPECT_EQ(r->source(), "paired-region copy");
  EXPECT_EQ(*secondary.read_disk("vm-web-dr-vm-web-osdisk"), expected);

  // The paired copy's data cannot be rewritten afterwards, even by the primary's own identity
  // (the one GeoPutBlob admits): every blob id a point names is refused, and a restore still
  // gives the data backed up. The old code stored any chunk, and the restore gave it back.
  auto geo = v1::Backup::NewStub(topo.channel_as("primary", topo.address("secondary")));
  int refused_chunks = 0;
  for (uint64_t blob = 1; blob <= 16; ++blob) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::GeoBlobChunk chunk;
    chunk.set_source_region("primary");
    chunk.set_blob(blob);
    auto* item = chunk.add_items();
    item->set_key("page-1");
    item->set_value("tampered");
    chunk.set_last(true);
    v1::GeoBlobChunkResponse resp;
    grpc::Status s = geo->GeoPutBlob(&ctx, chunk, &resp);
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      EXPECT_THAT(s.error_message(), HasSubstr("a recovery point's data does not change"));
      ++refused_chunks;
    }
  }
  EXPECT_GE(refused_chunks, 1) << "the GRS point's blob was taken";
  crr.set_target_vm("vm-web-dr2");
  auto again = secondary.restore(crr);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*secondary.read_disk("vm-web-dr2-vm-web-osdisk"), expected);

  crr.set_vault("rsv-lrs");
  crr.set_vm("vm-db");
  crr.set_target_vm("vm-db-dr");
  auto refused = secondary.restore(crr);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("LRS"));
  EXPECT_THAT(refused.status().message(), HasSubstr("cross-region restore needs a GRS vault"));
}

TEST(Backup, BadInputIsRefusedNamingTheField) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  v1::CreateVaultRequest cv;
  cv.set_vault("9bad");
  EXPECT_THAT(b.create_vault(cv).status().message(), HasSubstr("name:"));
  cv.set_vault("rsv-input");
  ASSERT_TRUE(b.create_vault(cv).is_ok());
  v1::CreatePolicyRequest cp;
  cp.set_vault("rsv-input");
  cp.set_policy("six");
  for (const char* t : {"01:00", "02:00", "03:00", "04:00", "05:00", "06:00"}) {
    cp.mutable_spec()->add_backup_times(t);
  }
  auto six = b.create_policy(cp);
  EXPECT_EQ(six.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(six.status().message(), HasSubstr("out of range 1..5"));
  cp.mutable_spec()->clear_backup_times();
  cp.mutable_spec()->add_backup_times("25:00");
  EXPECT_THAT(b.create_policy(cp).status().message(), HasSubstr("spec.backup_times[0]"));
  v1::ProtectRequest p;
  p.set_vault("rsv-input");
  p.set_vm("no-such-vm");
  p.set_policy("six");
  EXPECT_EQ(b.protect(p).status().code(), StatusCode::kNotFound);
  v1::RestoreRequest r;
  r.set_vault("rsv-input");
  r.set_vm("vm-web");
  EXPECT_THAT(b.restore(r).status().message(), HasSubstr("kind:"));
  v1::SetBackupClockRequest clock;
  clock.set_time_scale(-1);
  EXPECT_THAT(b.set_clock(clock).status().message(), HasSubstr("time_scale"));
}

}  // namespace
}  // namespace drsim::testing
