// Restore from Azure Backup as a model decision: given a vault, a recovery point and the kind
// of restore asked for, either the plan (where, from which copy, which disks, the new VM) or
// the reason it is refused. The backup driver carries the plan out.
//
// Rules (facts.md "Backup"): restore as a new VM, restore disks only, or replace the disks of
// the existing VM; cross-region restore reads the paired-region copy a GRS vault keeps (opt-in)
// and can create a VM or restore disks only. Points inside the instant-restore window restore
// from the local snapshot, later ones from the vault.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/backup/item.h"
#include "common/model/backup/vm.h"
#include "common/model/backup/vault.h"

namespace drsim::model {

enum class RestoreKind { kCreateVm, kRestoreDisks, kReplaceExisting };
const char* restore_kind_name(RestoreKind kind);  // "create VM", "restore disks", ...

enum class RestoreLocation { kVaultRegion, kPairedRegion };

enum class RestoreSource { kInstantRestoreSnapshot, kVault, kPairedRegionCopy };

struct RestoreRequest {
  std::string vm;
  BackupPointId point;
  RestoreKind kind = RestoreKind::kCreateVm;
  RestoreLocation location = RestoreLocation::kVaultRegion;
  std::string target_vm;  // the new VM's name (kCreateVm only)
};

struct RestorePlan {
  RestoreKind kind = RestoreKind::kCreateVm;
  std::string region;
  RestoreSource source = RestoreSource::kVault;
  Consistency consistency = Consistency::kCrash;
  // The restored disks: "<target_vm>-<disk>" for a new VM, "<disk>-restored-<point>" for
  // restore disks, the VM's own disk names when replacing them.
  std::vector<ManagedDisk> disks;
  std::optional<VirtualMachine> new_vm;  // kCreateVm: running, with the VM agent
};

// NOT_FOUND for an unknown VM or point. FAILED_PRECONDITION, with the reason, for soft-deleted
// data (undelete first), replace existing of a deleted VM, cross-region restore from an LRS /
// ZRS vault, with cross-region restore disabled, of a point not yet copied, or of kind replace
// existing. ALREADY_EXISTS for a new VM named like the existing one in the same region.
// INVALID_ARGUMENT for a new VM without a name.
Result<RestorePlan> plan_restore(const RecoveryServicesVault& vault, const RestoreRequest& request,
                                 Time now);

}  // namespace drsim::model
