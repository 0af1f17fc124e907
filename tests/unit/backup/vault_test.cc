// RecoveryServicesVault: spec validation, redundancy fixed once a VM is protected, GRS copies
// to the paired region, cross-region restore opt-in, same-region protection, when a vault may
// be deleted, what deleting a VM means for its backups, the schedule across items, and usage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/core/clock.h"
#include "common/model/backup/vault.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Day 0 is Monday 2024-01-01.
Time at(int day, Duration time_of_day = 0h) { return kTimeZero + day * kDay + time_of_day; }

VaultSpec spec(StorageRedundancy r = StorageRedundancy::kGeoRedundant) {
  return VaultSpec{
      .name = "rsv-east", .region = "eastus", .paired_region = "westus", .redundancy = r};
}

VirtualMachine make_vm(std::string name = "vm1", std::string region = "eastus") {
  VirtualMachine vm{.name = name, .region = std::move(region), .disks = {}};
  vm.disks.emplace_back(name + "-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back(name + "-data0", DiskRole::kData, 128 * kGiB, 20 * kGiB);
  return vm;
}

BackupPolicy daily_at_22() {
  BackupPolicy p;
  p.daily_days = 7;
  return p;
}

// A vault protecting vm1 with one recovery point (day 0 22:00).
RecoveryServicesVault vault_with_point(StorageRedundancy r = StorageRedundancy::kGeoRedundant) {
  RecoveryServicesVault vault(spec(r));
  EXPECT_TRUE(vault.protect(make_vm(), daily_at_22(), at(0)).is_ok());
  EXPECT_TRUE(vault.run_scheduled_backup(make_vm(), at(0, 22h))->status.is_ok());
  return vault;
}

// --- Spec and redundancy ---

TEST(VaultSpec, DefaultRedundancyIsGrs) {
  VaultSpec s{.name = "rsv", .region = "eastus", .paired_region = "westus"};
  EXPECT_TRUE(s.validate().is_ok());
  EXPECT_EQ(s.redundancy, StorageRedundancy::kGeoRedundant);
  EXPECT_STREQ(storage_redundancy_name(s.redundancy), "GRS");
  EXPECT_STREQ(storage_redundancy_name(StorageRedundancy::kLocallyRedundant), "LRS");
  EXPECT_STREQ(storage_redundancy_name(StorageRedundancy::kZoneRedundant), "ZRS");
}

TEST(VaultSpec, NameFollowsAzureRules) {
  VaultSpec s = spec();
  for (const char* ok : {"ab", "rsv-1", "R2d2"}) {
    s.name = ok;
    EXPECT_TRUE(s.validate().is_ok()) << ok;
  }
  s.name = std::string(50, 'a');
  EXPECT_TRUE(s.validate().is_ok());
  for (std::string bad : {std::string("a"), std::string(51, 'a'), std::string("1rsv"),
                          std::string("rsv_1"), std::string("-rsv"), std::string("")}) {
    s.name = bad;
    EXPECT_EQ(
        s.validate().message(),
        "name: \"" + bad + "\" must be 2 to 50 letters, digits or hyphens, starting with a letter")
        << bad;
  }
}

TEST(VaultSpec, RegionsMustBeSetAndDifferent) {
  VaultSpec s = spec();
  s.region.clear();
  EXPECT_EQ(s.validate().message(), "region: required for vault rsv-east");
  s = spec();
  s.paired_region = "eastus";
  EXPECT_EQ(s.validate().message(), "paired_region: \"eastus\" must be set and differ from eastus");
}

TEST(RecoveryServicesVault, RedundancyCanChangeUntilTheFirstVmIsProtected) {
  RecoveryServicesVault vault(spec());
  ASSERT_TRUE(vault.set_storage_redundancy(StorageRedundancy::kLocallyRedundant).is_ok());
  ASSERT_TRUE(vault.set_storage_redundancy(StorageRedundancy::kZoneRedundant).is_ok());
  EXPECT_EQ(vault.redundancy(), StorageRedundancy::kZoneRedundant);

  ASSERT_TRUE(vault.protect(make_vm(), daily_at_22(), at(0)).is_ok());
  Status s = vault.set_storage_redundancy(StorageRedundancy::kGeoRedundant);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "vault rsv-east stays ZRS: storage redundancy is fixed once a VM has been protected");
  EXPECT_EQ(vault.redundancy(), StorageRedundancy::kZoneRedundant);
  // Asking for what it already is changes nothing and is fine.
  EXPECT_TRUE(vault.set_storage_redundancy(StorageRedundancy::kZoneRedundant).is_ok());
}

TEST(RecoveryServicesVault, RedundancyStaysFixedAfterTheProtectedDataIsGone) {
  RecoveryServicesVault vault(spec());
  ASSERT_TRUE(vault.protect(make_vm(), daily_at_22(), at(0)).is_ok());
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  ASSERT_TRUE(vault.items().empty());
  EXPECT_EQ(vault.set_storage_redundancy(StorageRedundancy::kLocallyRedundant).code(),
            StatusCode::kFailedPrecondition);
}

TEST(RecoveryServicesVault, GrsPointsAreReplicatedToThePairedRegionLrsAndZrsAreNot) {
  for (auto [r, replicated] : {std::pair{StorageRedundancy::kGeoRedundant, true},
                               std::pair{StorageRedundancy::kLocallyRedundant, false},
                               std::pair{StorageRedundancy::kZoneRedundant, false}}) {
    RecoveryServicesVault vault = vault_with_point(r);
    ASSERT_EQ(vault.item("vm1")->points().size(), 1u);
    EXPECT_EQ(vault.item("vm1")->points()[0].replicated_to_paired_region, replicated)
        << storage_redundancy_name(r);
  }
}

TEST(RecoveryServicesVault, CrossRegionRestoreIsOptInAndNeedsGrs) {
  RecoveryServicesVault grs(spec());
  EXPECT_EQ(grs.cross_region_restore(), CrossRegionRestore::kDisabled);
  ASSERT_TRUE(grs.enable_cross_region_restore().is_ok());
  EXPECT_EQ(grs.cross_region_restore(), CrossRegionRestore::kEnabled);
  // Moving off GRS would strand the feature.
  EXPECT_EQ(grs.set_storage_redundancy(StorageRedundancy::kLocallyRedundant).message(),
            "vault rsv-east has cross-region restore enabled, which needs GRS");

  RecoveryServicesVault lrs(spec(StorageRedundancy::kLocallyRedundant));
  Status s = lrs.enable_cross_region_restore();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "vault rsv-east is LRS: cross-region restore needs GRS, which keeps a copy of every "
            "recovery point in the paired region westus");
  RecoveryServicesVault zrs(spec(StorageRedundancy::kZoneRedundant));
  EXPECT_THAT(zrs.enable_cross_region_restore().message(), HasSubstr("is ZRS"));
  EXPECT_EQ(zrs.cross_region_restore(), CrossRegionRestore::kDisabled);
}

// --- Protection ---

TEST(RecoveryServicesVault, VmOfAnotherRegionIsRefused) {
  RecoveryServicesVault vault(spec());
  Status s = vault.protect(make_vm("vm9", "westus"), daily_at_22(), at(0));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "VM vm9 is in westus; vault rsv-east protects VMs of its own region, eastus");
  EXPECT_TRUE(vault.items().empty());
}

TEST(RecoveryServicesVault, InvalidPolicyOrVmIsRefusedNamingTheField) {
  RecoveryServicesVault vault(spec());
  BackupPolicy p;
  p.backup_times = {1h, 2h, 3h, 4h, 5h, 6h};
  Status s = vault.protect(make_vm(), p, at(0));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("policy.backup_times: 6 backups a day"));
  VirtualMachine no_disks = make_vm();
  no_disks.disks.clear();
  EXPECT_EQ(vault.protect(no_disks, daily_at_22(), at(0)).message(),
            "vm.disks[0]: VM vm1 needs its OS disk first");
  EXPECT_TRUE(vault.items().empty());
  // Nothing was protected, so the redundancy can still change.
  EXPECT_TRUE(vault.set_storage_redundancy(StorageRedundancy::kLocallyRedundant).is_ok());
}

TEST(RecoveryServicesVault, ProtectingAKnownVmAgainSaysWhatToDoInstead) {
  RecoveryServicesVault vault = vault_with_point();
  EXPECT_EQ(vault.protect(make_vm(), daily_at_22(), at(1)).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  EXPECT_EQ(vault.protect(make_vm(), daily_at_22(), at(1)).message(),
            "vault rsv-east holds stopped protection of VM vm1: resume protection instead");
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  EXPECT_EQ(vault.protect(make_vm(), daily_at_22(), at(1)).message(),
            "vault rsv-east holds soft-deleted backup data of VM vm1: undelete it, then resume "
            "protection");
}

TEST(RecoveryServicesVault, UnknownVmIsNotFound) {
  RecoveryServicesVault vault(spec());
  EXPECT_EQ(vault.run_scheduled_backup(make_vm(), at(0)).status().message(),
            "vault rsv-east has no backup item for VM vm1");
  EXPECT_EQ(vault.run_on_demand_backup(make_vm(), at(9), at(0)).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(vault.stop_protection("vm1").code(), StatusCode::kNotFound);
  EXPECT_EQ(vault.delete_backup_data("vm1", at(0)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(vault.undelete("vm1", at(0)).code(), StatusCode::kNotFound);
  EXPECT_EQ(vault.resume_protection("vm1", at(0)).code(), StatusCode::kNotFound);
  EXPECT_EQ(vault.item("vm1"), nullptr);
}

TEST(RecoveryServicesVault, DueBackupsFollowEachItemsScheduleOverSeveralDays) {
  RecoveryServicesVault vault(spec());
  BackupPolicy twice = daily_at_22();
  twice.backup_times = {6h, 18h};
  ASSERT_TRUE(vault.protect(make_vm("vm1"), daily_at_22(), at(0)).is_ok());
  ASSERT_TRUE(vault.protect(make_vm("vm2"), twice, at(0)).is_ok());
  ManualClock clock(at(0));
  std::vector<std::pair<Time, std::string>> runs;
  while (true) {
    clock.set(vault.next_deadline());
    if (clock.now() >= at(2)) break;
    vault.expire(clock.now());
    for (const auto& vm : vault.due_backups(clock.now())) {
      ASSERT_TRUE(vault.run_scheduled_backup(make_vm(vm), clock.now())->status.is_ok());
      runs.emplace_back(clock.now(), vm);
    }
  }
  EXPECT_EQ(runs, (std::vector<std::pair<Time, std::string>>{{at(0, 6h), "vm2"},
                                                             {at(0, 18h), "vm2"},
                                                             {at(0, 22h), "vm1"},
                                                             {at(1, 6h), "vm2"},
                                                             {at(1, 18h), "vm2"},
                                                             {at(1, 22h), "vm1"}}));
}

TEST(RecoveryServicesVault, ExpireReportsExpiredPointsAcrossItems) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.run_scheduled_backup(make_vm(), at(1, 22h))->status.is_ok());
  EXPECT_TRUE(vault.expire(at(7, 22h) - 1ns).expired.empty());
  VaultExpiry e = vault.expire(at(7, 22h));
  ASSERT_EQ(e.expired.size(), 1u);
  EXPECT_EQ(e.expired[0].vm, "vm1");
  EXPECT_EQ(e.expired[0].point, BackupPointId(1));
  EXPECT_TRUE(e.purged.empty());
}

// --- Stop, soft delete, purge ---

TEST(RecoveryServicesVault, DeletedBackupDataShowsItsPurgeTimeAndIsPurgedAt14Days) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  auto deleted = vault.delete_backup_data("vm1", at(3, 12h));
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_EQ(deleted->points, 1u);
  EXPECT_EQ(deleted->purge_at, at(17, 12h));
  EXPECT_EQ(vault.next_deadline(), at(17, 12h));

  EXPECT_TRUE(vault.expire(at(17, 12h) - 1ns).purged.empty());
  VaultExpiry e = vault.expire(at(17, 12h));
  ASSERT_EQ(e.purged.size(), 1u);
  EXPECT_EQ(e.purged[0].vm, "vm1");
  EXPECT_EQ(e.purged[0].points, 1u);
  EXPECT_EQ(vault.item("vm1"), nullptr);
  EXPECT_EQ(vault.undelete("vm1", at(17, 12h)).code(), StatusCode::kNotFound);
  EXPECT_EQ(vault.next_deadline(), kNever);
}

TEST(RecoveryServicesVault, UndeleteThenResumeProtection) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  ASSERT_TRUE(vault.undelete("vm1", at(14, 23h)).is_ok());  // 13 d 23 h after deletion
  ASSERT_TRUE(vault.resume_protection("vm1", at(14, 23h)).is_ok());
  EXPECT_EQ(vault.due_backups(at(15, 22h)), std::vector<std::string>{"vm1"});
  EXPECT_TRUE(vault.run_scheduled_backup(make_vm(), at(15, 22h))->status.is_ok());
  EXPECT_EQ(vault.item("vm1")->points().size(), 2u);
}

TEST(RecoveryServicesVault, DeletingDataOfAVmWithoutPointsRemovesItAtOnce) {
  RecoveryServicesVault vault(spec());
  ASSERT_TRUE(vault.protect(make_vm(), daily_at_22(), at(0)).is_ok());
  EXPECT_EQ(vault.delete_backup_data("vm1", at(1)).status().message(),
            "VM vm1 is still protected: stop protection first, then delete its backup data");
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  auto deleted = vault.delete_backup_data("vm1", at(1));
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_EQ(deleted->points, 0u);
  EXPECT_EQ(deleted->purge_at, at(1));
  EXPECT_EQ(vault.item("vm1"), nullptr);
  EXPECT_TRUE(vault.check_can_delete().is_ok());
}

// --- Vault deletion ---

TEST(RecoveryServicesVault, EmptyVaultCanBeDeleted) {
  EXPECT_TRUE(RecoveryServicesVault(spec()).check_can_delete().is_ok());
}

TEST(RecoveryServicesVault, DeleteIsRefusedWhileAVmIsProtected) {
  RecoveryServicesVault vault(spec());
  ASSERT_TRUE(vault.protect(make_vm("vm1"), daily_at_22(), at(0)).is_ok());
  ASSERT_TRUE(vault.protect(make_vm("vm2"), daily_at_22(), at(0)).is_ok());
  Status s = vault.check_can_delete();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "vault rsv-east cannot be deleted: it protects vm1, vm2: stop protection and delete "
            "the backup data");
}

TEST(RecoveryServicesVault, DeleteIsRefusedWhileItRetainsBackupData) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  EXPECT_EQ(vault.check_can_delete().message(),
            "vault rsv-east cannot be deleted: it retains backup data of vm1: delete the backup "
            "data");
}

TEST(RecoveryServicesVault, DeleteIsRefusedWhileSoftDeletedDataWaitsForItsPurge) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  EXPECT_EQ(vault.check_can_delete().message(),
            "vault rsv-east cannot be deleted: it holds soft-deleted backup data of vm1 until "
            "day 15 00:00: wait for the purge (soft delete keeps deleted data 14 days)");
  vault.expire(at(15));
  EXPECT_TRUE(vault.check_can_delete().is_ok());
}

TEST(RecoveryServicesVault, DeleteRefusalListsEveryReason) {
  RecoveryServicesVault vault(spec());
  for (const char* vm : {"a1", "b1"}) {
    ASSERT_TRUE(vault.protect(make_vm(vm), daily_at_22(), at(0)).is_ok());
    ASSERT_TRUE(vault.run_scheduled_backup(make_vm(vm), at(0, 22h))->status.is_ok());
  }
  ASSERT_TRUE(vault.protect(make_vm("c1"), daily_at_22(), at(0)).is_ok());
  ASSERT_TRUE(vault.stop_protection("a1").is_ok());
  ASSERT_TRUE(vault.delete_backup_data("a1", at(1)).is_ok());
  ASSERT_TRUE(vault.stop_protection("b1").is_ok());
  EXPECT_EQ(vault.check_can_delete().message(),
            "vault rsv-east cannot be deleted: it protects c1: stop protection and delete the "
            "backup data; it retains backup data of b1: delete the backup data; it holds "
            "soft-deleted backup data of a1 until day 15 00:00: wait for the purge (soft delete "
            "keeps deleted data 14 days)");
}

// --- Deleting the VM itself ---

TEST(RecoveryServicesVault, VmDeletedWithoutBackupIsGone) {
  RecoveryServicesVault vault(spec());
  SourceVmDeleted d = vault.on_source_vm_deleted("vm1");
  EXPECT_EQ(d.recovery, VmRecovery::kGone);
  EXPECT_EQ(d.reason,
            "VM vm1 had no backup data in vault rsv-east, so it is gone: soft delete keeps "
            "deleted backups, not VMs deleted without one");
}

TEST(RecoveryServicesVault, VmProtectedButNeverBackedUpIsGoneToo) {
  RecoveryServicesVault vault(spec());
  ASSERT_TRUE(vault.protect(make_vm(), daily_at_22(), at(0)).is_ok());
  // The only job failed: no point.
  VirtualMachine no_agent = make_vm();
  no_agent.agent = GuestAgent::kMissing;
  ASSERT_FALSE(vault.run_scheduled_backup(no_agent, at(0, 22h))->status.is_ok());
  EXPECT_EQ(vault.on_source_vm_deleted("vm1").recovery, VmRecovery::kGone);
  EXPECT_EQ(vault.item("vm1")->source(), SourceVm::kDeleted);
}

TEST(RecoveryServicesVault, VmDeletedWithBackupStaysRestorableAndIsNoLongerScheduled) {
  RecoveryServicesVault vault = vault_with_point();
  SourceVmDeleted d = vault.on_source_vm_deleted("vm1");
  EXPECT_EQ(d.recovery, VmRecovery::kRestorableFromBackup);
  EXPECT_EQ(
      d.reason,
      "1 recovery point(s) in vault rsv-east can restore VM vm1, the latest from day 0 22:00");
  EXPECT_TRUE(vault.due_backups(at(5)).empty());
  // Its points expire by policy except the newest.
  EXPECT_TRUE(vault.expire(at(30)).expired.empty());
  EXPECT_EQ(vault.item("vm1")->points().size(), 1u);
}

TEST(RecoveryServicesVault, VmDeletedWithSoftDeletedBackupIsRestorableOnceUndeleted) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  SourceVmDeleted d = vault.on_source_vm_deleted("vm1");
  EXPECT_EQ(d.recovery, VmRecovery::kRestorableFromBackup);
  EXPECT_THAT(d.reason, HasSubstr("once undeleted (before day 15 00:00)"));
}

// --- BilledUsage ---

TEST(RecoveryServicesVault, UsageBillsStorageAtTheVaultsRedundancyPlusSnapshotsAndInstanceFee) {
  RecoveryServicesVault vault = vault_with_point(StorageRedundancy::kLocallyRedundant);
  std::vector<BilledUsage> u = vault.usage(at(1));
  ASSERT_EQ(u.size(), 3u);
  EXPECT_EQ(u[0].item, "vm1");
  EXPECT_EQ(u[0].kind, ChargeKind::kBackupStorageLrs);
  EXPECT_EQ(u[0].bytes, 30 * kGiB);
  EXPECT_EQ(u[1].kind, ChargeKind::kSnapshot);
  EXPECT_EQ(u[1].bytes, 30 * kGiB);
  EXPECT_EQ(u[2].kind, ChargeKind::kProtectedInstance);
  EXPECT_EQ(u[2].bytes, 30 * kGiB);
  // After the two instant-restore days only the vault copy and the fee remain.
  u = vault.usage(at(2, 22h));
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].kind, ChargeKind::kBackupStorageLrs);
  EXPECT_EQ(u[1].kind, ChargeKind::kProtectedInstance);
  EXPECT_EQ(vault_with_point().usage(at(5))[0].kind, ChargeKind::kBackupStorageGrs);
  EXPECT_EQ(vault_with_point(StorageRedundancy::kZoneRedundant).usage(at(5))[0].kind,
            ChargeKind::kBackupStorageZrs);
}

TEST(RecoveryServicesVault, RetainedDataIsBilledAndSoftDeletedDataIsFree) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  EXPECT_EQ(vault.usage(at(5)).size(), 2u);  // storage and instance fee
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(5)).is_ok());
  EXPECT_TRUE(vault.usage(at(5)).empty());
}

}  // namespace
}  // namespace drsim::model
