// RecoveryServicesVault: an Azure Recovery Services vault in one region — its storage
// redundancy, the VMs it protects (BackupItem) and the rules that span them: same-region
// protection, redundancy fixed once protection starts, cross-region copies, soft-delete purge,
// and when the vault itself may be deleted. Pure; the region daemon's backup driver runs it.
//
// Rules (facts.md "Backup"): redundancy GRS (default), LRS or ZRS, fixed once backup is
// configured. GRS keeps a copy of every recovery point in the paired region, which is what
// cross-region restore (opt-in) reads; LRS and ZRS keep them in the vault's region only.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/backup/item.h"
#include "common/model/backup/policy.h"
#include "common/model/backup/vm.h"
#include "common/model/backup/cost_meter.h"

namespace drsim::model {

enum class StorageRedundancy { kGeoRedundant, kLocallyRedundant, kZoneRedundant };
const char* storage_redundancy_name(StorageRedundancy r);  // "GRS", "LRS", "ZRS"

enum class CrossRegionRestore { kDisabled, kEnabled };

struct VaultSpec {
  std::string name;
  std::string region;
  std::string paired_region;  // where GRS keeps its copy
  StorageRedundancy redundancy = StorageRedundancy::kGeoRedundant;

  // INVALID_ARGUMENT naming the field. Vault names follow Azure: 2 to 50 letters, digits and
  // hyphens, starting with a letter. Both regions set and different.
  Status validate() const;
};

struct BackupDataDeleted {
  std::string vm;
  size_t points = 0;
  Time purge_at;  // undelete works until then
};

struct BackupDataPurged {
  std::string vm;
  size_t points = 0;
  Time purge_at;
};

// What the clock moving to `now` did.
struct VaultExpiry {
  std::vector<BackupPointExpired> expired;
  std::vector<BackupDataPurged> purged;
};

// What deleting a VM means for its backups.
enum class VmRecovery { kRestorableFromBackup, kGone };
struct SourceVmDeleted {
  std::string vm;
  VmRecovery recovery = VmRecovery::kGone;
  std::string reason;
  std::string vault;  // the vault whose points can restore it ("" when gone)
  size_t points = 0;  // recovery points there
};

class RecoveryServicesVault {
 public:
  explicit RecoveryServicesVault(VaultSpec spec);  // spec must be valid (checked)

  // FAILED_PRECONDITION once any VM has been protected here (fixed once backup is configured),
  // or when moving off GRS with cross-region restore enabled.
  Status set_storage_redundancy(StorageRedundancy redundancy);
  // Cross-region restore is opt-in and needs GRS: FAILED_PRECONDITION on LRS or ZRS.
  Status enable_cross_region_restore();

  // Starts protecting `vm` with `policy`. INVALID_ARGUMENT for a bad VM or policy;
  // FAILED_PRECONDITION for a VM in another region (a vault protects VMs of its own region) or
  // one this vault already knows (resume or undelete it instead).
  Status protect(const VirtualMachine& vm, const BackupPolicy& policy, Time now);

  // Protected VMs whose scheduled backup is due at `now`, by name.
  std::vector<std::string> due_backups(Time now) const;
  // NOT_FOUND for a VM this vault does not protect; otherwise as BackupItem.
  Result<BackupJob> run_scheduled_backup(const VirtualMachine& vm, Time now);
  Result<BackupJob> run_on_demand_backup(const VirtualMachine& vm, Time retain_until, Time now);

  // Expires recovery points and purges soft-deleted data whose 14 days are over.
  VaultExpiry expire(Time now);
  // When expire() or a scheduled backup next has work; kNever when nothing is pending.
  Time next_deadline() const;

  // Stop protection and retain data: points kept and billed, protection resumable.
  Status stop_protection(std::string_view vm);
  // Deletes the backup data of a stopped VM. It is soft-deleted: free, restorable by undelete
  // until purge_at, then purged. An item with no recovery points is removed at once.
  Result<BackupDataDeleted> delete_backup_data(std::string_view vm, Time now);
  Status undelete(std::string_view vm, Time now);
  Status resume_protection(std::string_view vm, Time now);

  // The VM itself was deleted. Its backup data, if any, stays and can restore it; without
  // backup data it is gone — soft delete protects deleted backups, not deleted VMs.
  SourceVmDeleted on_source_vm_deleted(std::string_view vm);
  // What on_source_vm_deleted would answer, changing nothing.
  SourceVmDeleted source_vm_deletion(std::string_view vm) const;

  // OK when the vault may be deleted; otherwise FAILED_PRECONDITION saying what still holds it
  // and what to do: no protected items and no backup data, soft-deleted data included.
  Status check_can_delete() const;

  // Billed now: per item, backup storage at the vault's redundancy, instant-restore snapshots
  // and the protected-instance fee (sized by the latest point). Soft-deleted data is free.
  std::vector<BilledUsage> usage(Time now) const;

  const BackupItem* item(std::string_view vm) const;
  std::vector<const BackupItem*> items() const;  // by VM name
  const VaultSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const std::string& region() const { return spec_.region; }
  StorageRedundancy redundancy() const { return spec_.redundancy; }
  CrossRegionRestore cross_region_restore() const { return cross_region_restore_; }

 private:
  Result<BackupItem*> find(std::string_view vm);
  GeoCopy geo_copy() const;

  VaultSpec spec_;
  CrossRegionRestore cross_region_restore_ = CrossRegionRestore::kDisabled;
  bool ever_protected_ = false;
  std::map<std::string, BackupItem, std::less<>> items_;
};

}  // namespace drsim::model
