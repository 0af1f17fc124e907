// VaultRegistry: create / list per region / delete, with deletion refused while a vault holds
// protected items or backup data, and the answer for a deleted VM across vaults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/backup/vault_registry.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Time at(int day, Duration time_of_day = 0h) { return kTimeZero + day * kDay + time_of_day; }

VaultSpec spec(std::string name, std::string region, std::string paired) {
  return VaultSpec{
      .name = std::move(name), .region = std::move(region), .paired_region = std::move(paired)};
}

VirtualMachine make_vm(std::string name) {
  VirtualMachine vm{.name = name, .region = "eastus", .disks = {}};
  vm.disks.emplace_back(name + "-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  return vm;
}

TEST(VaultRegistry, CreatesAndListsVaultsPerRegionByName) {
  VaultRegistry reg;
  ASSERT_TRUE(reg.create(spec("rsv-b", "eastus", "westus")).is_ok());
  ASSERT_TRUE(reg.create(spec("rsv-a", "eastus", "westus")).is_ok());
  ASSERT_TRUE(reg.create(spec("rsv-w", "westus", "eastus")).is_ok());
  auto east = reg.list("eastus");
  ASSERT_EQ(east.size(), 2u);
  EXPECT_EQ(east[0]->name(), "rsv-a");
  EXPECT_EQ(east[1]->name(), "rsv-b");
  ASSERT_EQ(reg.list("westus").size(), 1u);
  EXPECT_TRUE(reg.list("northeurope").empty());
  EXPECT_EQ(reg.find("rsv-w")->region(), "westus");
  EXPECT_EQ(reg.find("nope"), nullptr);
}

TEST(VaultRegistry, CreateRefusesADuplicateNameOrABadSpec) {
  VaultRegistry reg;
  ASSERT_TRUE(reg.create(spec("rsv-a", "eastus", "westus")).is_ok());
  auto again = reg.create(spec("rsv-a", "westus", "eastus"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "vault rsv-a already exists");
  EXPECT_EQ(reg.create(spec("r", "eastus", "westus")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.list("eastus").size(), 1u);
}

TEST(VaultRegistry, CreatedVaultIsGrsByDefault) {
  VaultRegistry reg;
  auto v = reg.create(spec("rsv-a", "eastus", "westus"));
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ((*v)->redundancy(), StorageRedundancy::kGeoRedundant);
}

TEST(VaultRegistry, DeleteIsRefusedWhileTheVaultHoldsDataAndAllowedAfterThePurge) {
  VaultRegistry reg;
  RecoveryServicesVault* v = *reg.create(spec("rsv-a", "eastus", "westus"));
  ASSERT_TRUE(v->protect(make_vm("vm1"), BackupPolicy{}, at(0)).is_ok());
  ASSERT_TRUE(v->run_scheduled_backup(make_vm("vm1"), at(0, 22h))->status.is_ok());

  Status s = reg.remove("rsv-a");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("stop protection and delete the backup data"));
  ASSERT_TRUE(v->stop_protection("vm1").is_ok());
  EXPECT_THAT(reg.remove("rsv-a").message(), HasSubstr("delete the backup data"));
  ASSERT_TRUE(v->delete_backup_data("vm1", at(1)).is_ok());
  EXPECT_THAT(reg.remove("rsv-a").message(), HasSubstr("wait for the purge"));
  v->expire(at(15));
  ASSERT_TRUE(reg.remove("rsv-a").is_ok());
  EXPECT_EQ(reg.find("rsv-a"), nullptr);
  EXPECT_EQ(reg.remove("rsv-a").code(), StatusCode::kNotFound);
}

TEST(VaultRegistry, DeletedVmIsRestorableWhenAnyVaultHoldsItsBackup) {
  VaultRegistry reg;
  RecoveryServicesVault* a = *reg.create(spec("rsv-a", "eastus", "westus"));
  RecoveryServicesVault* b = *reg.create(spec("rsv-b", "eastus", "westus"));
  ASSERT_TRUE(a->protect(make_vm("vm1"), BackupPolicy{}, at(0)).is_ok());
  ASSERT_TRUE(b->protect(make_vm("vm2"), BackupPolicy{}, at(0)).is_ok());
  ASSERT_TRUE(b->run_scheduled_backup(make_vm("vm2"), at(0, 22h))->status.is_ok());

  SourceVmDeleted vm2 = reg.on_vm_deleted("vm2");
  EXPECT_EQ(vm2.recovery, VmRecovery::kRestorableFromBackup);
  EXPECT_THAT(vm2.reason, HasSubstr("vault rsv-b"));
  EXPECT_EQ(b->item("vm2")->source(), SourceVm::kDeleted);

  // vm1 was protected but never backed up; vm3 never protected.
  for (const char* vm : {"vm1", "vm3"}) {
    SourceVmDeleted gone = reg.on_vm_deleted(vm);
    EXPECT_EQ(gone.recovery, VmRecovery::kGone) << vm;
    EXPECT_EQ(gone.reason, std::string("VM ") + vm +
                               " has no backup data in any vault, so once deleted it is gone for "
                               "good: soft delete keeps deleted backups, not VMs deleted without "
                               "one");
    EXPECT_EQ(gone.points, 0u);
  }
  EXPECT_EQ(a->item("vm1")->source(), SourceVm::kDeleted);
}

TEST(VaultRegistry, DeleteVmUnconfirmedSaysWhatWouldHappenAndChangesNothing) {
  VaultRegistry reg;
  RecoveryServicesVault* v = *reg.create(spec("rsv-a", "eastus", "westus"));
  ASSERT_TRUE(v->protect(make_vm("vm-kept"), BackupPolicy{}, at(0)).is_ok());
  ASSERT_TRUE(v->run_scheduled_backup(make_vm("vm-kept"), at(0, 22h))->status.is_ok());

  auto kept = reg.delete_vm("vm-kept", DeleteConfirmation::kNotConfirmed);
  EXPECT_EQ(kept.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(kept.status().message(),
            "deleting VM vm-kept cannot be undone and needs confirmation: 1 recovery point(s) in "
            "vault rsv-a can restore VM vm-kept, the latest from day 0 22:00 (as a new VM); the "
            "VM itself goes");
  EXPECT_EQ(v->item("vm-kept")->source(), SourceVm::kExists);
  EXPECT_EQ(v->next_deadline(), v->item("vm-kept")->next_deadline());

  auto gone = reg.delete_vm("vm-bare", DeleteConfirmation::kNotConfirmed);
  EXPECT_EQ(gone.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(gone.status().message(), HasSubstr("no backup data in any vault, so once deleted "
                                                 "it is gone for good"));
}

TEST(VaultRegistry, ConfirmedDeleteKeepsThePointsWhichFollowSoftDeleteOnceProtectionStops) {
  VaultRegistry reg;
  RecoveryServicesVault* v = *reg.create(spec("rsv-a", "eastus", "westus"));
  ASSERT_TRUE(v->protect(make_vm("vm-kept"), BackupPolicy{}, at(0)).is_ok());
  ASSERT_TRUE(v->run_scheduled_backup(make_vm("vm-kept"), at(0, 22h))->status.is_ok());
  ASSERT_TRUE(v->run_scheduled_backup(make_vm("vm-kept"), at(1, 22h))->status.is_ok());

  auto deleted = reg.delete_vm("vm-kept", DeleteConfirmation::kConfirmed);
  ASSERT_TRUE(deleted.is_ok()) << deleted.status().to_string();
  EXPECT_EQ(deleted->recovery, VmRecovery::kRestorableFromBackup);
  EXPECT_EQ(deleted->vault, "rsv-a");
  EXPECT_EQ(deleted->points, 2u);
  const BackupItem* item = v->item("vm-kept");
  EXPECT_EQ(item->source(), SourceVm::kDeleted);
  EXPECT_EQ(item->next_backup_due(), kNever);  // no VM, no more scheduled backups
  EXPECT_THAT(v->run_on_demand_backup(make_vm("vm-kept"), at(40), at(2)).status().message(),
              HasSubstr("was deleted"));

  // Stopping protection with delete: the kept points are soft-deleted like any backup data.
  ASSERT_TRUE(v->stop_protection("vm-kept").is_ok());
  auto data = v->delete_backup_data("vm-kept", at(3));
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_EQ(data->points, 2u);
  EXPECT_EQ(data->purge_at, at(17));
  EXPECT_EQ(item->state(), BackupProtectionState::kSoftDeleted);
  EXPECT_THAT(reg.vm_deletion("vm-kept").reason, HasSubstr("once undeleted (before day 17"));
  EXPECT_TRUE(v->expire(at(17)).purged.size() == 1);
  EXPECT_EQ(reg.vm_deletion("vm-kept").recovery, VmRecovery::kGone);
}

}  // namespace
}  // namespace drsim::model
