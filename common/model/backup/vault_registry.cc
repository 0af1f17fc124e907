#include "common/model/backup/vault_registry.h"

#include <utility>

namespace drsim::model {

Result<RecoveryServicesVault*> VaultRegistry::create(VaultSpec spec) {
  if (Status s = spec.validate(); !s.is_ok()) return s;
  if (vaults_.contains(spec.name)) {
    return Status(StatusCode::kAlreadyExists, "vault " + spec.name + " already exists");
  }
  std::string name = spec.name;
  auto [it, inserted] = vaults_.emplace(std::move(name), RecoveryServicesVault(std::move(spec)));
  return &it->second;
}

std::vector<const RecoveryServicesVault*> VaultRegistry::list(std::string_view region) const {
  std::vector<const RecoveryServicesVault*> out;
  for (const auto& [name, vault] : vaults_) {
    if (vault.region() == region) out.push_back(&vault);
  }
  return out;
}

RecoveryServicesVault* VaultRegistry::find(std::string_view name) {
  auto it = vaults_.find(name);
  return it == vaults_.end() ? nullptr : &it->second;
}

const RecoveryServicesVault* VaultRegistry::find(std::string_view name) const {
  auto it = vaults_.find(name);
  return it == vaults_.end() ? nullptr : &it->second;
}

Status VaultRegistry::remove(std::string_view name) {
  auto it = vaults_.find(name);
  if (it == vaults_.end()) return not_found("no vault named " + std::string(name));
  if (Status s = it->second.check_can_delete(); !s.is_ok()) return s;
  vaults_.erase(it);
  return Status::ok();
}

SourceVmDeleted VaultRegistry::on_vm_deleted(std::string_view vm) {
  for (auto& [name, vault] : vaults_) vault.on_source_vm_deleted(vm);
  return vm_deletion(vm);
}

SourceVmDeleted VaultRegistry::vm_deletion(std::string_view vm) const {
  // The first vault that can restore the VM answers.
  for (const auto& [name, vault] : vaults_) {
    SourceVmDeleted r = vault.source_vm_deletion(vm);
    if (r.recovery == VmRecovery::kRestorableFromBackup) return r;
  }
  return SourceVmDeleted{std::string(vm), VmRecovery::kGone,
                         "VM " + std::string(vm) +
                             " has no backup data in any vault, so once deleted it is gone for "
                             "good: soft delete keeps deleted backups, not VMs deleted without one",
                         {}, 0};
}

Result<SourceVmDeleted> VaultRegistry::delete_vm(std::string_view vm,
                                                 DeleteConfirmation confirmation) {
  if (confirmation == DeleteConfirmation::kNotConfirmed) {
    const SourceVmDeleted would = vm_deletion(vm);
    return failed_precondition(
        "deleting VM " + std::string(vm) + " cannot be undone and needs confirmation: " +
        (would.recovery == VmRecovery::kGone ? would.reason
                                             : would.reason + " (as a new VM); the VM itself goes"));
  }
  return on_vm_deleted(vm);
}

}  // namespace drsim::model
