// Backup between real region daemons on loopback: a recovery point is the workload's exact
// state at one seq (taken under load, restored byte for byte as a new VM, as disks, and over
// the corrupted live state), the VM-agent error, soft delete on the scaled backup clock,
// scheduled backups, restart durability, and cross-region restore from the GRS copy while the
// primary is down (refused for LRS).
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/backup_commands.h"
#include "common/net/grpc_util.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace v1 = drsim::v1;
using KeyMap = std::map<std::string, std::string>;

constexpr int64_t kDayNanos = 86'400'000'000'000;

KeyMap scan_all(v1::Workload::Stub& stub, const std::string& workload) {
  KeyMap out;
  std::string start;
  for (int page = 0; page < 1000; ++page) {
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::ScanRequest req;
    req.set_workload(workload);
    req.set_start_key(start);
    req.set_limit(10000);
    v1::ScanResponse resp;
    EXPECT_TRUE(stub.Scan(&ctx, req, &resp).ok());
    for (const auto& kv : resp.items()) out[kv.key()] = kv.value();
    if (resp.next_key().empty()) break;
    start = resp.next_key();
  }
  return out;
}

// One client writing puts and deletes in batches, remembering the seq of every acknowledged
// op, so the state at any seq can be rebuilt.
class Writer {
 public:
  Writer(v1::Workload::Stub& stub, std::string workload)
      : stub_(stub), workload_(std::move(workload)) {}
  ~Writer() { stop(); }

  void start() {
    thread_ = std::thread([this] {
      for (int batch = 0; batch < 100000 && !stop_; ++batch) write_batch(batch);
    });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void write_batch(int batch) {
    v1::WriteBatchRequest req;
    for (int i = 0; i < 20; ++i) {
      const int n = batch * 20 + i;
      const std::string key = "k" + std::to_string(n * 7919 % 400);
      if (n % 9 == 0) {
        auto* del = req.add_ops()->mutable_delete_();
        del->set_workload(workload_);
        del->set_key(key);
      } else {
        auto* put = req.add_ops()->mutable_put();
        put->set_workload(workload_);
        put->set_key(key);
        put->set_value("v" + std::to_string(n) + std::string(n % 50, 'x'));
      }
    }
    grpc::ClientContext ctx;
    net::set_deadline(ctx, 5s);
    v1::WriteBatchResponse resp;
    if (!stub_.WriteBatch(&ctx, req, &resp).ok()) return;
    std::lock_guard lock(mu_);
    for (int i = 0; i < resp.results_size(); ++i) acked_[resp.results(i).seq()] = req.ops(i);
  }
  // The workload as it was right after `seq`.
  KeyMap state_at(uint64_t seq) {
    std::lock_guard lock(mu_);
    KeyMap state;
    for (const auto& [s, op] : acked_) {
      if (s > seq) break;
      if (op.has_put()) {
        state[op.put().key()] = op.put().value();
      } else {
        state.erase(op.delete_().key());
      }
    }
    return state;
  }
  size_t acked() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }

 private:
  v1::Workload::Stub& stub_;
  std::string workload_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<uint64_t, v1::WriteOp> acked_;
};

void put(v1::Workload::Stub& stub, const std::string& workload, const std::string& key,
         const std::string& value) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  v1::PutRequest req;
  req.set_workload(workload);
  req.set_key(key);
  req.set_value(value);
  v1::PutResponse resp;
  ASSERT_TRUE(stub.Put(&ctx, req, &resp).ok());
}

void del(v1::Workload::Stub& stub, const std::string& workload, const std::string& key) {
  grpc::ClientContext ctx;
  net::set_deadline(ctx, 5s);
  v1::DeleteRequest req;
  req.set_workload(workload);
  req.set_key(key);
  v1::DeleteResponse resp;
  ASSERT_TRUE(stub.Delete(&ctx, req, &resp).ok());
}

// Vault `vault` protecting `vm` with a once-a-day policy "daily".
void protect(cli::BackupClient& b, const std::string& vault, const std::string& vm,
             v1::StorageRedundancy redundancy = v1::REDUNDANCY_GRS, bool crr = false) {
  v1::CreateVaultRequest cv;
  cv.set_vault(vault);
  cv.set_redundancy(redundancy);
  cv.set_cross_region_restore(crr);
  auto vault_made = b.create_vault(cv);
  ASSERT_TRUE(vault_made.is_ok()) << vault_made.status().message();
  v1::CreatePolicyRequest cp;
  cp.set_vault(vault);
  cp.set_policy("daily");
  cp.mutable_spec()->add_backup_times("22:00");
  auto policy_made = b.create_policy(cp);
  ASSERT_TRUE(policy_made.is_ok()) << policy_made.status().message();
  v1::ProtectRequest p;
  p.set_vault(vault);
  p.set_vm(vm);
  p.set_policy("daily");
  auto r = b.protect(p);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
}

Result<v1::BackupNowResponse> backup_now(cli::BackupClient& b, const std::string& vault,
                                         const std::string& vm) {
  v1::BackupNowRequest req;
  req.set_vault(vault);
  req.set_vm(vm);
  return b.backup_now(req);
}

Result<v1::RestoreResponse> restore(cli::BackupClient& b, const std::string& vault,
                                    const std::string& vm, v1::RestoreKind kind,
                                    const std::string& target = "", uint64_t point = 0) {
  v1::RestoreRequest req;
  req.set_vault(vault);
  req.set_vm(vm);
  req.set_kind(kind);
  req.set_target_vm(target);
  req.set_point(point);
  return b.restore(req);
}

const v1::BackupItemInfo* find_item(const v1::ListVaultsResponse& l, const std::string& vault,
                                    const std::string& vm) {
  for (const auto& v : l.vaults()) {
    if (v.name() != vault) continue;
    for (const auto& i : v.items()) {
      if (i.vm() == vm) return &i;
    }
  }
  return nullptr;
}

Status advance(cli::BackupClient& b, int64_t nanos) {
  v1::SetBackupClockRequest req;
  req.set_advance_nanos(nanos);
  return b.set_clock(req).status();
}

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
