#include "common/model/backup/vault_registry.h"

#include <optional>
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
  // Every vault hears of it (each marks its item's source deleted); the first that can
  // restore the VM answers.
  std::optional<SourceVmDeleted> restorable;
  for (auto& [name, vault] : vaults_) {
    SourceVmDeleted r = vault.on_source_vm_deleted(vm);
    if (r.recovery == VmRecovery::kRestorableFromBackup && !restorable) restorable = r;
  }
  if (restorable) return *restorable;
  return SourceVmDeleted{std::string(vm), VmRecovery::kGone,
                         "VM " + std::string(vm) +
                             " had no backup data in any vault, so it is gone: soft delete keeps "
                             "deleted backups, not VMs deleted without one"};
}

}  // namespace drsim::model
