// Backup between real region daemons on loopback: a recovery point is the workload's exact
// state at one seq (taken under load, restored byte for byte as a new VM, as disks, and over
// the corrupted live state), the VM-agent error, soft delete on the scaled backup clock,
// scheduled backups, restart durability, and cross-region restore from the GRS copy while the
// primary is down (refused for LRS).
#include <algorithm>
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/storage/backup_store.h"
#include "drsim/v1/backup.grpc.pb.h"
#include "tests/integration/backup_fixture.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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

  const v1::StopProtectionRequest stop = stop_deleting_data("rsv-soft", "vm-web");
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

// `drsim vm delete`: refused without --yes (exit 2) saying what would happen; a VM with backups
// keeps its recovery points (restorable as a new VM, soft-deleted like any backup data once
// protection stops with delete), a VM never backed up is gone for good; a deleted workload takes
// no writes, and all of it survives a restart of the region.
TEST(Backup, VmDeleteNeedsYesKeepsTheBackedUpVmRestorableAndTheOtherGoneForGood) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  auto stub = topo.workload_stub("primary");
  put(*stub, "vm-db", "row", "kept");
  protect(b, "rsv-del", "vm-db");
  ASSERT_TRUE(backup_now(b, "rsv-del", "vm-db").is_ok());
  const std::string& home = topo.home();

  auto r = run_binary("drsim", {"vm", "delete", "vm-db", "--home", home}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("drsim: vm delete: refused without --yes: deleting VM "));
  EXPECT_THAT(r.output, Not(HasSubstr(" at 127.0.0.1:"))) << "the call's address prefix";
  EXPECT_THAT(r.output, HasSubstr("deleting VM vm-db cannot be undone and needs confirmation"));
  EXPECT_THAT(r.output, HasSubstr("1 recovery point(s) in vault rsv-del can restore VM vm-db"));
  r = run_binary("drsim", {"vm", "delete", "vm-web", "--home", home}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("so once deleted it is gone for good"));
  EXPECT_TRUE(try_put(*stub, "vm-db", "row", "still here").is_ok());  // nothing changed

  r = run_binary("drsim", {"vm", "delete", "vm-db", "--yes", "--json", "--home", home}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = parse_json_output(r);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["region"], "primary");
  EXPECT_EQ(j["response"]["vm"], "vm-db");
  EXPECT_EQ(j["response"]["hosted"], true);
  EXPECT_EQ(j["response"]["restorable"], true);
  EXPECT_EQ(j["response"]["vault"], "rsv-del");
  EXPECT_EQ(j["response"]["points"], 1);
  r = run_binary("drsim", {"vm", "delete", "vm-web", "--yes", "--home", home}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("VM vm-web deleted from primary: gone for good, it had no backup "
                                 "data in any vault"));

  auto check_deleted = [](cli::BackupClient& client, v1::Workload::Stub& workload) {
    auto vms = client.list_vms();
    ASSERT_TRUE(vms.is_ok()) << vms.status().message();
    for (const auto& vm : vms->vms()) EXPECT_NE(vm.name(), "vm-db");
    for (const auto& vm : vms->vms()) EXPECT_NE(vm.name(), "vm-web");
    Status write = try_put(workload, "vm-db", "row", "after");
    EXPECT_EQ(write.code(), StatusCode::kFailedPrecondition) << write.message();
    EXPECT_THAT(write.message(), HasSubstr("VM vm-db was deleted"));
    EXPECT_THAT(backup_now(client, "rsv-del", "vm-db").status().message(),
                HasSubstr("VM vm-db was deleted from region primary"));
  };
  ASSERT_NO_FATAL_FAILURE(check_deleted(b, *stub));
  // The paired region hears of it with the vault ops: its standby copy of vm-db goes too.
  cli::BackupClient secondary(topo.address("secondary"));
  EXPECT_TRUE(wait_until(
      [&] {
        auto vms = secondary.list_vms();
        if (!vms.is_ok()) return false;
        for (const auto& vm : vms->vms()) {
          if (vm.name() == "vm-db") return false;
        }
        return true;
      },
      10s))
      << "the secondary still lists vm-db 10 s after the primary deleted it";
  r = run_binary("drsim", {"vm", "delete", "vm-db", "--yes", "--home", home}, 20s);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("VM vm-db was deleted from region primary"));

  topo.kill("primary");
  Status restarted = topo.restart("primary");
  ASSERT_TRUE(restarted.is_ok()) << restarted.message();
  // A restarted region takes writes once its peer confirms its epoch (until then they are
  // UNAVAILABLE "active at epoch 1 but unconfirmed"), tens of ms after it is ready.
  ASSERT_TRUE(wait_until([&] { return topo.status("primary").replication_connected(); }, 10s));
  cli::BackupClient after(topo.address("primary"));
  auto stub2 = topo.workload_stub("primary");
  ASSERT_NO_FATAL_FAILURE(check_deleted(after, *stub2));

  // Its recovery point restores it, as a new VM.
  auto vm = restore(after, "rsv-del", "vm-db", v1::RESTORE_CREATE_VM, "vm-db-back");
  ASSERT_TRUE(vm.is_ok()) << vm.status().message();
  EXPECT_EQ(*after.read_disk("vm-db-back-vm-db-osdisk"), (KeyMap{{"row", "kept"}}));
  // Stopped with delete, the kept points are soft-deleted like any backup data.
  auto stopped = after.stop_protection(stop_deleting_data("rsv-del", "vm-db"));
  ASSERT_TRUE(stopped.is_ok()) << stopped.status().message();
  auto listed = after.list_vaults();
  ASSERT_TRUE(listed.is_ok());
  const auto* item = find_item(*listed, "rsv-del", "vm-db");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->state(), "SoftDeleted");
  EXPECT_EQ(item->points_size(), 1);
}

// Every mutating backup verb answers --json with one document (docs/cli.md, JSON): "ok", the
// region, the request and the region's response, numbers as numbers; a refusal as an error.
TEST(Backup, MutatingVerbsAnswerOneJsonDocument) {
  TestTopology topo;
  ASSERT_TRUE(topo.ok());
  auto stub = topo.workload_stub("primary");
  put(*stub, "vm-web", "page", "home");
  auto drsim_json = [&](std::vector<std::string> args, int want_exit = 0) {
    args.insert(args.end(), {"--json", "--home", topo.home()});
    auto r = run_binary("drsim", args, 30s);
    EXPECT_EQ(r.exit_code, want_exit) << args[0] << " " << args[1] << ": " << r.output;
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << args[0] << " " << args[1] << ": not JSON: " << r.output;
    if (!j.is_discarded()) {
      EXPECT_EQ(j["schema_version"], 1) << r.output;
      EXPECT_EQ(j["ok"], want_exit == 0) << r.output;
    }
    return j;
  };
  auto j = drsim_json({"vault", "create", "rsv-json", "--redundancy", "LRS"});
  EXPECT_EQ(j["region"], "primary");
  EXPECT_EQ(j["request"]["vault"], "rsv-json");
  EXPECT_EQ(j["response"]["vault"]["redundancy"], "LRS");
  j = drsim_json({"backup", "policy", "create", "rsv-json", "daily", "--times", "22:00"});
  EXPECT_EQ(j["request"]["spec"]["backup_times"][0], "22:00");
  j = drsim_json({"backup", "protect", "rsv-json", "vm-web", "--policy", "daily"});
  EXPECT_FALSE(j["response"]["next_backup"].get<std::string>().empty()) << j.dump();
  j = drsim_json({"vm", "set", "vm-web", "--agent", "missing"});
  EXPECT_EQ(j["request"]["agent_installed"], false);
  j = drsim_json({"backup", "now", "rsv-json", "vm-web"}, 1);
  EXPECT_EQ(j["error"]["code"], "FAILED_PRECONDITION") << j.dump();
  EXPECT_THAT(j["error"]["message"].get<std::string>(),
              HasSubstr("UserErrorGuestAgentStatusUnavailable"));
  drsim_json({"vm", "set", "vm-web", "--agent", "installed"});
  j = drsim_json({"backup", "now", "rsv-json", "vm-web"});
  ASSERT_TRUE(j["response"]["point"]["id"].is_number_integer()) << j.dump();
  EXPECT_EQ(j["response"]["point"]["keys"], 1);
  const int64_t point = j["response"]["point"]["id"].get<int64_t>();
  j = drsim_json({"backup", "restore", "rsv-json", "vm-web", "--as", "new-vm", "--target-vm",
                  "vm-web-json"});
  EXPECT_EQ(j["response"]["point"], point);
  EXPECT_EQ(j["response"]["new_vm"], "vm-web-json");
  EXPECT_EQ(j["response"]["keys"], 1);
  j = drsim_json({"backup", "stop", "rsv-json", "vm-web", "--delete-data"});
  EXPECT_EQ(j["request"]["delete_data"], true);
  EXPECT_FALSE(j["response"]["purge_at"].get<std::string>().empty()) << j.dump();
  j = drsim_json({"backup", "undelete", "rsv-json", "vm-web"});
  EXPECT_EQ(j["response"]["item"]["state"], "ProtectionStopped");
  j = drsim_json({"backup", "resume", "rsv-json", "vm-web"});
  EXPECT_EQ(j["response"]["item"]["state"], "Protected");
  EXPECT_EQ(j["response"]["item"]["points"].size(), 1u) << j.dump();
  j = drsim_json({"backup", "clock", "--advance", "1d"});
  EXPECT_TRUE(j["response"]["time_scale"].is_number()) << j.dump();
  j = drsim_json({"snapshot", "create", "vm-web-osdisk", "snap-json"});
  EXPECT_EQ(j["response"]["snapshot"]["kind"], "full");
  EXPECT_TRUE(j["response"]["snapshot"]["used_bytes"].is_number_integer()) << j.dump();
}

// `drsim backup list` and `vm list` with a long VM name: every column starts at the same place
// on every row (the long name widens its column instead of shifting the rest of its row).
TEST(Backup, ListsKeepTheirColumnsInLineWithLongVmNames) {
  const std::string long_vm = "vm-with-a-rather-long-name-for-tables";
  TestTopology topo("workloads:\n  - { name: vm-a, mode: sync }\n  - { name: " + long_vm +
                    ", mode: sync }\nfault_proxy: { enabled: false }\n");
  ASSERT_TRUE(topo.ok());
  cli::BackupClient b(topo.address("primary"));
  protect(b, "rsv-cols", "vm-a");
  v1::ProtectRequest p;
  p.set_vault("rsv-cols");
  p.set_vm(long_vm);
  p.set_policy("daily");
  ASSERT_TRUE(b.protect(p).is_ok());
  ASSERT_TRUE(backup_now(b, "rsv-cols", "vm-a").is_ok());
  ASSERT_TRUE(backup_now(b, "rsv-cols", long_vm).is_ok());

  auto lines_of = [](const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
      out.push_back(text.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  };
  // Where `word` starts on the first line holding `row`.
  auto column = [&](const std::vector<std::string>& lines, const std::string& row,
                    const std::string& word) -> size_t {
    for (const auto& l : lines) {
      if (l.find(row) != std::string::npos) return l.find(word);
    }
    return std::string::npos;
  };
  auto r = run_binary("drsim", {"backup", "list", "--home", topo.home()}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto lines = lines_of(r.output);
  const size_t state = column(lines, "  VM ", "STATE");
  ASSERT_NE(state, std::string::npos) << r.output;
  EXPECT_EQ(column(lines, "  vm-a ", "Protected"), state) << r.output;
  EXPECT_EQ(column(lines, "  " + long_vm + " ", "Protected"), state) << r.output;
  EXPECT_EQ(column(lines, "  vm-a ", "daily"), column(lines, "  " + long_vm + " ", "daily"))
      << r.output;

  r = run_binary("drsim", {"vm", "list", "--home", topo.home()}, 20s);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  lines = lines_of(r.output);
  EXPECT_NE(column(lines, "vm-a ", "hosted"), std::string::npos) << r.output;
  EXPECT_EQ(column(lines, "vm-a ", "hosted"), column(lines, long_vm + " ", "hosted")) << r.output;
  EXPECT_EQ(column(lines, "vm-a ", "disks"), column(lines, long_vm + " ", "disks")) << r.output;
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
  uint64_t last_stored = 0;
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
    } else {
      EXPECT_TRUE(s.ok()) << s.error_message();
      last_stored = blob;
    }
  }
  EXPECT_GE(refused_chunks, 1) << "the GRS point's blob was taken";
  crr.set_target_vm("vm-web-dr2");
  auto again = secondary.restore(crr);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*secondary.read_disk("vm-web-dr2-vm-web-osdisk"), expected);

  // Nor can it fill the paired region's disk with blobs no recovery point names: of the unnamed
  // blob ids sent above (all but the two points' blobs) only the last is kept (the one a source
  // could still be filling), and a restart drops that one too (the source ships a point's blob
  // again from its first chunk). The old code kept all 14.
  const std::string backup_dir = topo.state().at("secondary").data_dir + "/backup";
  auto primary_blobs = [&]() -> std::vector<uint64_t> {
    topo.kill("secondary");
    auto store = storage::BackupStore::open(backup_dir);
    EXPECT_TRUE(store.is_ok()) << store.status().message();
    if (!store.is_ok()) return {};
    auto blobs = (*store)->list_blobs();
    EXPECT_TRUE(blobs.is_ok()) << blobs.status().message();
    std::vector<uint64_t> ids;
    if (blobs.is_ok()) {
      for (const auto& b : *blobs) {
        if (b.region == "primary") ids.push_back(b.id);
      }
    }
    return ids;
  };
  const auto kept = primary_blobs();
  EXPECT_EQ(kept.size(), 2u) << "the GRS point's blob (the LRS point's is not copied) and the "
                                "last unnamed one sent";
  EXPECT_NE(std::find(kept.begin(), kept.end(), last_stored), kept.end());
  ASSERT_TRUE(topo.restart("secondary").is_ok());
  EXPECT_EQ(primary_blobs().size(), 1u) << "only the GRS point's blob survives a restart";
  ASSERT_TRUE(topo.restart("secondary").is_ok());
  cli::BackupClient restarted(topo.address("secondary"));
  crr.set_target_vm("vm-web-dr3");
  auto after_restart = restarted.restore(crr);
  ASSERT_TRUE(after_restart.is_ok()) << after_restart.status().message();
  EXPECT_EQ(*restarted.read_disk("vm-web-dr3-vm-web-osdisk"), expected);

  crr.set_vault("rsv-lrs");
  crr.set_vm("vm-db");
  crr.set_target_vm("vm-db-dr");
  auto refused = restarted.restore(crr);
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
