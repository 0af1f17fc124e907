// plan_restore: create VM, restore disks and replace existing as decisions with reasons —
// instant-restore snapshot vs vault, cross-region restore only from GRS (opt-in, create VM or
// restore disks), replace existing refused once the VM is deleted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/backup/restore.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Time at(int day, Duration time_of_day = 0h) { return kTimeZero + day * kDay + time_of_day; }

VirtualMachine make_vm(PowerState power = PowerState::kRunning) {
  VirtualMachine vm{.name = "vm1", .region = "eastus", .power = power, .disks = {}};
  vm.disks.emplace_back("vm1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("vm1-data0", DiskRole::kData, 128 * kGiB, 20 * kGiB);
  return vm;
}

// vm1 protected with one point (id 1) taken on day 0 at 22:00; instant restore 2 days.
RecoveryServicesVault vault_with_point(StorageRedundancy r = StorageRedundancy::kGeoRedundant,
                                       PowerState power = PowerState::kRunning) {
  RecoveryServicesVault vault(VaultSpec{
      .name = "rsv-east", .region = "eastus", .paired_region = "westus", .redundancy = r});
  EXPECT_TRUE(vault.protect(make_vm(), BackupPolicy{}, at(0)).is_ok());
  EXPECT_TRUE(vault.run_scheduled_backup(make_vm(power), at(0, 22h))->status.is_ok());
  return vault;
}

RestoreRequest request(RestoreKind kind, RestoreLocation location = RestoreLocation::kVaultRegion) {
  return RestoreRequest{.vm = "vm1",
                        .point = BackupPointId(1),
                        .kind = kind,
                        .location = location,
                        .target_vm = "vm1-copy"};
}

TEST(BackupRestore, NewVmWithinTheInstantRestoreWindowComesFromTheSnapshot) {
  RecoveryServicesVault vault = vault_with_point();
  auto plan = plan_restore(vault, request(RestoreKind::kCreateVm), at(1));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->kind, RestoreKind::kCreateVm);
  EXPECT_EQ(plan->region, "eastus");
  EXPECT_EQ(plan->source, RestoreSource::kInstantRestoreSnapshot);
  EXPECT_EQ(plan->consistency, Consistency::kApplication);
  ASSERT_TRUE(plan->new_vm.has_value());
  EXPECT_EQ(plan->new_vm->name, "vm1-copy");
  EXPECT_EQ(plan->new_vm->power, PowerState::kRunning);
  EXPECT_EQ(plan->new_vm->agent, GuestAgent::kInstalled);
  EXPECT_TRUE(plan->new_vm->validate().is_ok());
  ASSERT_EQ(plan->disks.size(), 2u);
  EXPECT_EQ(plan->disks[0].name(), "vm1-copy-vm1-os");
  EXPECT_EQ(plan->disks[1].used_bytes(), 20 * kGiB);
}

TEST(BackupRestore, AfterTheInstantRestoreWindowTheVaultCopyIsUsed) {
  RecoveryServicesVault vault = vault_with_point();
  EXPECT_EQ(plan_restore(vault, request(RestoreKind::kCreateVm), at(2, 22h) - 1ns)->source,
            RestoreSource::kInstantRestoreSnapshot);
  EXPECT_EQ(plan_restore(vault, request(RestoreKind::kCreateVm), at(2, 22h))->source,
            RestoreSource::kVault);
}

TEST(BackupRestore, RestoreDisksGivesNamedDisksAndNoVm) {
  RecoveryServicesVault vault = vault_with_point();
  auto plan = plan_restore(vault, request(RestoreKind::kRestoreDisks), at(1));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_FALSE(plan->new_vm.has_value());
  ASSERT_EQ(plan->disks.size(), 2u);
  EXPECT_EQ(plan->disks[0].name(), "vm1-os-restored-1");
  EXPECT_EQ(plan->disks[1].name(), "vm1-data0-restored-1");
}

TEST(BackupRestore, ReplaceExistingRestoresTheVmsOwnDisks) {
  RecoveryServicesVault vault = vault_with_point();
  auto plan = plan_restore(vault, request(RestoreKind::kReplaceExisting), at(1));
  ASSERT_TRUE(plan.is_ok());
  EXPECT_FALSE(plan->new_vm.has_value());
  EXPECT_EQ(plan->disks[0].name(), "vm1-os");
  EXPECT_EQ(plan->disks[1].name(), "vm1-data0");
}

TEST(BackupRestore, ReplaceExistingIsRefusedOnceTheVmIsDeleted) {
  RecoveryServicesVault vault = vault_with_point();
  vault.on_source_vm_deleted("vm1");
  auto plan = plan_restore(vault, request(RestoreKind::kReplaceExisting), at(1));
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(plan.status().message(),
            "VM vm1 was deleted, so there is no VM to replace the disks of; restore as a new VM "
            "or restore disks instead");
  // The other kinds still work, and the new VM may take the deleted VM's name.
  RestoreRequest same_name = request(RestoreKind::kCreateVm);
  same_name.target_vm = "vm1";
  EXPECT_TRUE(plan_restore(vault, same_name, at(1)).is_ok());
  EXPECT_TRUE(plan_restore(vault, request(RestoreKind::kRestoreDisks), at(1)).is_ok());
}

TEST(BackupRestore, NewVmNeedsANameOtherThanTheExistingVm) {
  RecoveryServicesVault vault = vault_with_point();
  RestoreRequest r = request(RestoreKind::kCreateVm);
  r.target_vm = "";
  EXPECT_EQ(plan_restore(vault, r, at(1)).status().message(), "target_vm: required to create a VM");
  r.target_vm = "vm1";
  auto plan = plan_restore(vault, r, at(1));
  EXPECT_EQ(plan.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(plan.status().message(),
            "VM vm1 exists in eastus: name the new VM differently, or replace existing");
}

TEST(BackupRestore, CrashConsistentPointRestoresCrashConsistent) {
  RecoveryServicesVault vault =
      vault_with_point(StorageRedundancy::kGeoRedundant, PowerState::kStopped);
  EXPECT_EQ(plan_restore(vault, request(RestoreKind::kRestoreDisks), at(1))->consistency,
            Consistency::kCrash);
}

TEST(BackupRestore, UnknownVmOrPointIsNotFound) {
  RecoveryServicesVault vault = vault_with_point();
  RestoreRequest r = request(RestoreKind::kCreateVm);
  r.point = BackupPointId(7);
  EXPECT_EQ(plan_restore(vault, r, at(1)).status().message(),
            "VM vm1 has no recovery point 7 (expired or never taken)");
  r.vm = "vm9";
  EXPECT_EQ(plan_restore(vault, r, at(1)).status().code(), StatusCode::kNotFound);
}

TEST(BackupRestore, SoftDeletedDataMustBeUndeletedFirst) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.stop_protection("vm1").is_ok());
  // Retained data restores.
  EXPECT_TRUE(plan_restore(vault, request(RestoreKind::kCreateVm), at(1)).is_ok());
  ASSERT_TRUE(vault.delete_backup_data("vm1", at(1)).is_ok());
  auto plan = plan_restore(vault, request(RestoreKind::kCreateVm), at(2));
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(plan.status().message(),
            "backup data of VM vm1 is soft-deleted: undelete it (before day 15 00:00) to restore "
            "from it");
  ASSERT_TRUE(vault.undelete("vm1", at(2)).is_ok());
  EXPECT_TRUE(plan_restore(vault, request(RestoreKind::kCreateVm), at(2)).is_ok());
}

// --- Cross-region restore ---

TEST(BackupRestore, CrossRegionRestoreFromGrsCreatesTheVmInThePairedRegion) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.enable_cross_region_restore().is_ok());
  RestoreRequest r = request(RestoreKind::kCreateVm, RestoreLocation::kPairedRegion);
  r.target_vm = "vm1";  // another region: the name is free there
  auto plan = plan_restore(vault, r, at(1));
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_EQ(plan->region, "westus");
  EXPECT_EQ(plan->source, RestoreSource::kPairedRegionCopy);
  EXPECT_EQ(plan->new_vm->region, "westus");
  auto disks = plan_restore(
      vault, request(RestoreKind::kRestoreDisks, RestoreLocation::kPairedRegion), at(1));
  ASSERT_TRUE(disks.is_ok());
  EXPECT_EQ(disks->region, "westus");
}

TEST(BackupRestore, CrossRegionRestoreCannotReplaceExisting) {
  RecoveryServicesVault vault = vault_with_point();
  ASSERT_TRUE(vault.enable_cross_region_restore().is_ok());
  auto plan = plan_restore(
      vault, request(RestoreKind::kReplaceExisting, RestoreLocation::kPairedRegion), at(1));
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(plan.status().message(),
            "cross-region restore can create a VM or restore disks, not replace existing");
}

TEST(BackupRestore, CrossRegionRestoreNeedsTheOptIn) {
  RecoveryServicesVault vault = vault_with_point();
  auto plan =
      plan_restore(vault, request(RestoreKind::kCreateVm, RestoreLocation::kPairedRegion), at(1));
  EXPECT_EQ(plan.status().message(),
            "vault rsv-east has cross-region restore disabled; enable it first (opt-in)");
}

TEST(BackupRestore, CrossRegionRestoreFromLrsOrZrsIsRefusedWithTheReason) {
  for (auto r : {StorageRedundancy::kLocallyRedundant, StorageRedundancy::kZoneRedundant}) {
    RecoveryServicesVault vault = vault_with_point(r);
    auto plan = plan_restore(
        vault, request(RestoreKind::kRestoreDisks, RestoreLocation::kPairedRegion), at(1));
    EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(plan.status().message(),
              std::string("vault rsv-east is ") + storage_redundancy_name(r) +
                  ": its recovery points stay in eastus, so there is no copy in westus to "
                  "restore from; cross-region restore needs a GRS vault");
    // Same-region restore is unaffected.
    EXPECT_TRUE(plan_restore(vault, request(RestoreKind::kRestoreDisks), at(1)).is_ok());
  }
}

TEST(BackupRestore, KindNamesReadLikeThePortal) {
  EXPECT_STREQ(restore_kind_name(RestoreKind::kCreateVm), "create VM");
  EXPECT_STREQ(restore_kind_name(RestoreKind::kRestoreDisks), "restore disks");
  EXPECT_STREQ(restore_kind_name(RestoreKind::kReplaceExisting), "replace existing");
}

}  // namespace
}  // namespace drsim::model
