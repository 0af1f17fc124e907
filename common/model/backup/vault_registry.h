// VaultRegistry: the Recovery Services vaults of a topology — create, list per region, delete
// (refused while a vault holds protected items or backup data) — and where a deleted VM's
// backups are. Pure; the region daemons and the CLI's backup commands use it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/model/backup/vault.h"

namespace drsim::model {

enum class DeleteConfirmation { kNotConfirmed, kConfirmed };

class VaultRegistry {
 public:
  // INVALID_ARGUMENT for a bad spec (VaultSpec::validate), ALREADY_EXISTS for a name in use.
  // The pointer stays valid until the vault is removed.
  Result<RecoveryServicesVault*> create(VaultSpec spec);

  // The vaults of `region`, by name.
  std::vector<const RecoveryServicesVault*> list(std::string_view region) const;

  RecoveryServicesVault* find(std::string_view name);
  const RecoveryServicesVault* find(std::string_view name) const;

  // NOT_FOUND for an unknown name; FAILED_PRECONDITION from check_can_delete otherwise.
  Status remove(std::string_view name);

  // The VM was deleted: restorable when any vault holds backup data for it, else gone for good.
  // Every vault's item of the VM is marked deleted (no more backups; restores make a new VM).
  SourceVmDeleted on_vm_deleted(std::string_view vm);
  // What deleting the VM would mean for it, changing nothing.
  SourceVmDeleted vm_deletion(std::string_view vm) const;
  // The operator's `vm delete`: deleting a VM cannot be undone, so without confirmation it is
  // FAILED_PRECONDITION saying what deleting would mean (nothing changes); confirmed, it is
  // on_vm_deleted. (Azure: soft delete protects deleted backups, not VMs deleted without one.)
  Result<SourceVmDeleted> delete_vm(std::string_view vm, DeleteConfirmation confirmation);

 private:
  std::map<std::string, RecoveryServicesVault, std::less<>> vaults_;
};

}  // namespace drsim::model
