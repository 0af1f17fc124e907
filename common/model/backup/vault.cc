#include "common/model/backup/vault.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "common/core/check.h"

namespace drsim::model {

namespace {

ChargeKind backup_storage_kind(StorageRedundancy r) {
  switch (r) {
    case StorageRedundancy::kGeoRedundant:
      return ChargeKind::kBackupStorageGrs;
    case StorageRedundancy::kLocallyRedundant:
      return ChargeKind::kBackupStorageLrs;
    case StorageRedundancy::kZoneRedundant:
      return ChargeKind::kBackupStorageZrs;
  }
  return ChargeKind::kBackupStorageGrs;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

const char* storage_redundancy_name(StorageRedundancy r) {
  switch (r) {
    case StorageRedundancy::kGeoRedundant:
      return "GRS";
    case StorageRedundancy::kLocallyRedundant:
      return "LRS";
    case StorageRedundancy::kZoneRedundant:
      return "ZRS";
  }
  return "unknown";
}

Status VaultSpec::validate() const {
  const bool name_ok =
      name.size() >= 2 && name.size() <= 50 && std::isalpha(static_cast<unsigned char>(name[0])) &&
      std::all_of(name.begin(), name.end(),
                  [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
  if (!name_ok) {
    return invalid_argument(
        "name: \"" + name +
        "\" must be 2 to 50 letters, digits or hyphens, starting with a letter");
  }
  if (region.empty()) return invalid_argument("region: required for vault " + name);
  if (paired_region.empty() || paired_region == region) {
    return invalid_argument("paired_region: \"" + paired_region +
                            "\" must be set and differ from " + region);
  }
  return Status::ok();
}

RecoveryServicesVault::RecoveryServicesVault(VaultSpec spec) : spec_(std::move(spec)) {
  DRSIM_CHECK(spec_.validate().is_ok());
}

Status RecoveryServicesVault::set_storage_redundancy(StorageRedundancy redundancy) {
  if (ever_protected_ && redundancy != spec_.redundancy) {
    return failed_precondition("vault " + name() + " stays " +
                               storage_redundancy_name(spec_.redundancy) +
                               ": storage redundancy is fixed once a VM has been protected");
  }
  if (cross_region_restore_ == CrossRegionRestore::kEnabled &&
      redundancy != StorageRedundancy::kGeoRedundant) {
    return failed_precondition("vault " + name() +
                               " has cross-region restore enabled, which needs GRS");
  }
  spec_.redundancy = redundancy;
  return Status::ok();
}

Status RecoveryServicesVault::enable_cross_region_restore() {
  if (spec_.redundancy != StorageRedundancy::kGeoRedundant) {
    return failed_precondition("vault " + name() + " is " +
                               storage_redundancy_name(spec_.redundancy) +
                               ": cross-region restore needs GRS, which keeps a copy of every "
                               "recovery point in the paired region " +
                               spec_.paired_region);
  }
  cross_region_restore_ = CrossRegionRestore::kEnabled;
  return Status::ok();
}

Status RecoveryServicesVault::protect(const VirtualMachine& vm, const BackupPolicy& policy,
                                      Time now) {
  if (Status s = vm.validate(); !s.is_ok()) return invalid_argument("vm." + s.message());
  if (Status s = policy.validate(); !s.is_ok()) return invalid_argument("policy." + s.message());
  if (vm.region != spec_.region) {
    return failed_precondition("VM " + vm.name + " is in " + vm.region + "; vault " + name() +
                               " protects VMs of its own region, " + spec_.region);
  }
  if (auto it = items_.find(vm.name); it != items_.end()) {
    switch (it->second.state()) {
      case BackupProtectionState::kProtected:
        return Status(StatusCode::kAlreadyExists,
                      "VM " + vm.name + " is already protected by vault " + name());
      case BackupProtectionState::kProtectionStopped:
        return failed_precondition("vault " + name() + " holds stopped protection of VM " +
                                   vm.name + ": resume protection instead");
      case BackupProtectionState::kSoftDeleted:
        return failed_precondition("vault " + name() + " holds soft-deleted backup data of VM " +
                                   vm.name + ": undelete it, then resume protection");
    }
  }
  items_.emplace(vm.name, BackupItem(vm.name, policy, now));
  ever_protected_ = true;
  return Status::ok();
}

std::vector<std::string> RecoveryServicesVault::due_backups(Time now) const {
  std::vector<std::string> due;
  for (const auto& [vm, item] : items_) {
    if (item.next_backup_due() <= now) due.push_back(vm);
  }
  return due;
}

Result<BackupItem*> RecoveryServicesVault::find(std::string_view vm) {
  auto it = items_.find(vm);
  if (it == items_.end()) {
    return not_found("vault " + name() + " has no backup item for VM " + std::string(vm));
  }
  return &it->second;
}

GeoCopy RecoveryServicesVault::geo_copy() const {
  return spec_.redundancy == StorageRedundancy::kGeoRedundant ? GeoCopy::kPairedRegion
                                                              : GeoCopy::kNone;
}

Result<BackupJob> RecoveryServicesVault::run_scheduled_backup(const VirtualMachine& vm, Time now) {
  auto item = find(vm.name);
  if (!item.is_ok()) return item.status();
  return (*item)->run_scheduled_backup(vm, geo_copy(), now);
}

Result<BackupJob> RecoveryServicesVault::run_on_demand_backup(const VirtualMachine& vm,
                                                              Time retain_until, Time now) {
  auto item = find(vm.name);
  if (!item.is_ok()) return item.status();
  return (*item)->run_on_demand_backup(vm, retain_until, geo_copy(), now);
}

VaultExpiry RecoveryServicesVault::expire(Time now) {
  VaultExpiry out;
  for (auto it = items_.begin(); it != items_.end();) {
    auto expired = it->second.expire_points(now);
    out.expired.insert(out.expired.end(), expired.begin(), expired.end());
    if (it->second.purge_due(now)) {
      out.purged.push_back(
          BackupDataPurged{it->first, it->second.points().size(), it->second.purge_at()});
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

Time RecoveryServicesVault::next_deadline() const {
  Time next = kNever;
  for (const auto& [vm, item] : items_) next = std::min(next, item.next_deadline());
  return next;
}

Status RecoveryServicesVault::stop_protection(std::string_view vm) {
  auto item = find(vm);
  if (!item.is_ok()) return item.status();
  return (*item)->stop_protection();
}

Result<BackupDataDeleted> RecoveryServicesVault::delete_backup_data(std::string_view vm, Time now) {
  auto item = find(vm);
  if (!item.is_ok()) return item.status();
  if (Status s = (*item)->delete_data(now); !s.is_ok()) return s;
  BackupDataDeleted deleted{std::string(vm), (*item)->points().size(), (*item)->purge_at()};
  if (deleted.points == 0) {
    // Nothing to keep in soft delete.
    items_.erase(items_.find(vm));
    deleted.purge_at = now;
  }
  return deleted;
}

Status RecoveryServicesVault::undelete(std::string_view vm, Time now) {
  auto item = find(vm);
  if (!item.is_ok()) return item.status();
  return (*item)->undelete(now);
}

Status RecoveryServicesVault::resume_protection(std::string_view vm, Time now) {
  auto item = find(vm);
  if (!item.is_ok()) return item.status();
  return (*item)->resume_protection(now);
}

SourceVmDeleted RecoveryServicesVault::on_source_vm_deleted(std::string_view vm) {
  if (auto it = items_.find(vm); it != items_.end()) it->second.on_source_vm_deleted();
  return source_vm_deletion(vm);
}

SourceVmDeleted RecoveryServicesVault::source_vm_deletion(std::string_view vm) const {
  SourceVmDeleted out{std::string(vm), VmRecovery::kGone, {}, {}, 0};
  auto it = items_.find(vm);
  if (it == items_.end() || it->second.points().empty()) {
    out.reason = "VM " + out.vm + " had no backup data in vault " + name() +
                 ", so it is gone: soft delete keeps deleted backups, not VMs deleted without one";
    return out;
  }
  const BackupItem& item = it->second;
  out.recovery = VmRecovery::kRestorableFromBackup;
  out.vault = name();
  out.points = item.points().size();
  out.reason = std::to_string(item.points().size()) + " recovery point(s) in vault " + name() +
               " can restore VM " + out.vm + ", the latest from " +
               format_drill_time(item.points().back().created);
  if (item.state() == BackupProtectionState::kSoftDeleted) {
    out.reason += " once undeleted (before " + format_drill_time(item.purge_at()) + ")";
  }
  return out;
}

Status RecoveryServicesVault::check_can_delete() const {
  std::vector<std::string> protected_vms, retained, soft_deleted;
  for (const auto& [vm, item] : items_) {
    switch (item.state()) {
      case BackupProtectionState::kProtected:
        protected_vms.push_back(vm);
        break;
      case BackupProtectionState::kProtectionStopped:
        retained.push_back(vm);
        break;
      case BackupProtectionState::kSoftDeleted:
        soft_deleted.push_back(vm + " until " + format_drill_time(item.purge_at()));
        break;
    }
  }
  std::vector<std::string> reasons;
  if (!protected_vms.empty()) {
    reasons.push_back("it protects " + join(protected_vms, ", ") +
                      ": stop protection and delete the backup data");
  }
  if (!retained.empty()) {
    reasons.push_back("it retains backup data of " + join(retained, ", ") +
                      ": delete the backup data");
  }
  if (!soft_deleted.empty()) {
    reasons.push_back("it holds soft-deleted backup data of " + join(soft_deleted, ", ") +
                      ": wait for the purge (soft delete keeps deleted data 14 days)");
  }
  if (reasons.empty()) return Status::ok();
  return failed_precondition("vault " + name() + " cannot be deleted: " + join(reasons, "; "));
}

std::vector<BilledUsage> RecoveryServicesVault::usage(Time now) const {
  std::vector<BilledUsage> out;
  for (const auto& [vm, item] : items_) {
    // Soft-deleted VM backup data is kept 14 days at no cost.
    if (item.state() == BackupProtectionState::kSoftDeleted || item.points().empty()) continue;
    out.push_back(
        BilledUsage{vm, backup_storage_kind(spec_.redundancy), item.vault_stored_bytes()});
    if (uint64_t snap = item.snapshot_stored_bytes(now); snap > 0) {
      out.push_back(BilledUsage{vm, ChargeKind::kSnapshot, snap});
    }
    out.push_back(
        BilledUsage{vm, ChargeKind::kProtectedInstance, item.points().back().used_bytes()});
  }
  return out;
}

const BackupItem* RecoveryServicesVault::item(std::string_view vm) const {
  auto it = items_.find(vm);
  return it == items_.end() ? nullptr : &it->second;
}

std::vector<const BackupItem*> RecoveryServicesVault::items() const {
  std::vector<const BackupItem*> out;
  for (const auto& [vm, item] : items_) out.push_back(&item);
  return out;
}

}  // namespace drsim::model
