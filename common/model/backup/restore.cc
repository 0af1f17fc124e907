#include "common/model/backup/restore.h"

#include <utility>

namespace drsim::model {

namespace {

// Checks that only apply to reading the paired region's copy.
Status check_cross_region(const RecoveryServicesVault& vault, const RestoreRequest& request,
                          const BackupPoint& point) {
  if (request.kind == RestoreKind::kReplaceExisting) {
    return failed_precondition(
        "cross-region restore can create a VM or restore disks, not replace existing");
  }
  if (vault.redundancy() != StorageRedundancy::kGeoRedundant) {
    return failed_precondition(
        "vault " + vault.name() + " is " + storage_redundancy_name(vault.redundancy()) +
        ": its recovery points stay in " + vault.region() + ", so there is no copy in " +
        vault.spec().paired_region + " to restore from; cross-region restore needs a GRS vault");
  }
  if (vault.cross_region_restore() != CrossRegionRestore::kEnabled) {
    return failed_precondition("vault " + vault.name() +
                               " has cross-region restore disabled; enable it first (opt-in)");
  }
  if (!point.replicated_to_paired_region) {
    return failed_precondition("recovery point " + std::to_string(point.id.value()) + " of VM " +
                               request.vm + " has no copy in " + vault.spec().paired_region);
  }
  return Status::ok();
}

}  // namespace

const char* restore_kind_name(RestoreKind kind) {
  switch (kind) {
    case RestoreKind::kCreateVm:
      return "create VM";
    case RestoreKind::kRestoreDisks:
      return "restore disks";
    case RestoreKind::kReplaceExisting:
      return "replace existing";
  }
  return "unknown";
}

Result<RestorePlan> plan_restore(const RecoveryServicesVault& vault, const RestoreRequest& request,
                                 Time now) {
  const BackupItem* item = vault.item(request.vm);
  if (item == nullptr) {
    return not_found("vault " + vault.name() + " has no backup item for VM " + request.vm);
  }
  if (item->state() == BackupProtectionState::kSoftDeleted) {
    return failed_precondition("backup data of VM " + request.vm +
                               " is soft-deleted: undelete it (before " +
                               format_drill_time(item->purge_at()) + ") to restore from it");
  }
  const BackupPoint* point = item->point(request.point);
  if (point == nullptr) {
    return not_found("VM " + request.vm + " has no recovery point " +
                     std::to_string(request.point.value()) + " (expired or never taken)");
  }
  const bool cross_region = request.location == RestoreLocation::kPairedRegion;
  if (cross_region) {
    if (Status s = check_cross_region(vault, request, *point); !s.is_ok()) return s;
  }
  const bool vm_exists = item->source() == SourceVm::kExists;
  if (request.kind == RestoreKind::kReplaceExisting && !vm_exists) {
    return failed_precondition("VM " + request.vm +
                               " was deleted, so there is no VM to replace the disks of; "
                               "restore as a new VM or restore disks instead");
  }
  if (request.kind == RestoreKind::kCreateVm) {
    if (request.target_vm.empty()) return invalid_argument("target_vm: required to create a VM");
    if (request.target_vm == request.vm && vm_exists && !cross_region) {
      return Status(StatusCode::kAlreadyExists,
                    "VM " + request.vm + " exists in " + vault.region() +
                        ": name the new VM differently, or replace existing");
    }
  }

  RestorePlan plan;
  plan.kind = request.kind;
  plan.region = cross_region ? vault.spec().paired_region : vault.region();
  plan.source = cross_region                            ? RestoreSource::kPairedRegionCopy
                : point->instant_restore_available(now) ? RestoreSource::kInstantRestoreSnapshot
                                                        : RestoreSource::kVault;
  plan.consistency = point->consistency;
  for (const DiskCopy& copy : point->disks) {
    std::string name;
    switch (request.kind) {
      case RestoreKind::kCreateVm:
        name = request.target_vm + "-" + copy.disk;
        break;
      case RestoreKind::kRestoreDisks:
        name = copy.disk + "-restored-" + std::to_string(point->id.value());
        break;
      case RestoreKind::kReplaceExisting:
        name = copy.disk;
        break;
    }
    plan.disks.push_back(disk_from_copy(copy, std::move(name)));
  }
  if (request.kind == RestoreKind::kCreateVm) {
    // A point exists only if the VM agent took it, so the restored VM has the agent too.
    plan.new_vm = VirtualMachine{.name = request.target_vm,
                                 .region = plan.region,
                                 .agent = GuestAgent::kInstalled,
                                 .power = PowerState::kRunning,
                                 .disks = plan.disks};
  }
  return plan;
}

}  // namespace drsim::model
