#include "common/model/siterecovery/vault.h"

#include <algorithm>
#include <set>

namespace drsim::model {

Status SiteRecoveryVault::check_new_name(const std::string& name) const {
  if (vms_.count(name) || scopes_.count(name)) {
    return Status(StatusCode::kAlreadyExists,
                  "'" + name + "' is already in the vault; names of VMs and groups are unique");
  }
  return Status::ok();
}

Result<ProtectionChanged> SiteRecoveryVault::protect_vm(const ProtectedItemSpec& vm,
                                                        const ReplicationTarget& target,
                                                        const ReplicationPolicy& policy, Time now) {
  if (Status s = vm.validate(); !s.is_ok()) return s;
  if (Status s = check_replication_target(vm, target); !s.is_ok()) return s;
  if (Status s = policy.validate(); !s.is_ok()) {
    return invalid_argument(vm.name + ".policy." + s.message());
  }
  if (Status s = check_new_name(vm.name); !s.is_ok()) return s;
  vms_.emplace(vm.name, vm);
  auto& scope = scopes_[vm.name];
  scope = std::make_unique<ProtectionLifecycle>(vm.name, ProtectionScope::kSingleVm,
                                                std::vector<std::string>{vm.name}, vm.location,
                                                target.name, policy);
  return scope->enable_replication(now);
}

Result<ProtectionChanged> SiteRecoveryVault::protect_group(
    const std::string& group, const std::vector<ProtectedItemSpec>& vms,
    const ReplicationTarget& target, const ReplicationPolicy& policy, Time now) {
  if (group.empty()) return invalid_argument("group.name: must not be empty");
  const std::string where = "group '" + group + "': ";
  if (vms.size() < kMinConsistencyGroupVms) {
    return invalid_argument(where + std::to_string(vms.size()) +
                            " VM(s); a multi-VM consistency group needs at least 2 (protect a "
                            "single VM on its own)");
  }
  if (vms.size() > kMaxConsistencyGroupVms) {
    return invalid_argument(where + std::to_string(vms.size()) +
                            " VMs exceed the limit of 16 per multi-VM consistency group; split "
                            "them into groups of at most 16");
  }
  if (Status s = policy.validate(); !s.is_ok()) {
    return invalid_argument(where + "policy." + s.message());
  }
  if (Status s = check_new_name(group); !s.is_ok()) return s;
  std::set<std::string> names;
  for (const auto& vm : vms) {
    if (Status s = vm.validate(); !s.is_ok()) return invalid_argument(where + s.message());
    if (Status s = check_replication_target(vm, target); !s.is_ok()) {
      return invalid_argument(where + s.message());
    }
    // One consistent point across the group means one replication stream from one place.
    if (vm.location != vms.front().location) {
      return invalid_argument(where + vm.name + " runs in " + vm.location + " but " +
                              vms.front().name + " in " + vms.front().location +
                              "; a consistency group replicates from one location");
    }
    if (vm.name == group) {
      return invalid_argument(where + "a VM has the group's name; name them apart");
    }
    if (!names.insert(vm.name).second) {
      return invalid_argument(where + "'" + vm.name + "' is listed twice");
    }
    if (Status s = check_new_name(vm.name); !s.is_ok()) return s;
  }

  std::vector<std::string> members;
  for (const auto& vm : vms) {
    vms_.emplace(vm.name, vm);
    group_of_.emplace(vm.name, group);
    members.push_back(vm.name);
  }
  auto& scope = scopes_[group];
  scope = std::make_unique<ProtectionLifecycle>(group, ProtectionScope::kMultiVmGroup,
                                                std::move(members), vms.front().location,
                                                target.name, policy);
  return scope->enable_replication(now);
}

Result<ProtectionLifecycle*> SiteRecoveryVault::lifecycle(const std::string& name) {
  if (auto g = group_of_.find(name); g != group_of_.end()) {
    const std::string& group = g->second;
    return failed_precondition(name + " is in multi-VM consistency group '" + group +
                               "', whose VMs fail over, commit and re-protect together; " +
                               "run the step on '" + group + "' instead");
  }
  if (auto it = scopes_.find(name); it != scopes_.end()) return it->second.get();
  return not_found("no protected VM or consistency group named '" + name + "' in the vault");
}

const ProtectionLifecycle* SiteRecoveryVault::find(const std::string& name) const {
  auto it = scopes_.find(name);
  return it == scopes_.end() ? nullptr : it->second.get();
}

std::optional<std::string> SiteRecoveryVault::group_of(const std::string& vm) const {
  auto it = group_of_.find(vm);
  if (it == group_of_.end()) return std::nullopt;
  return it->second;
}

const ProtectedItemSpec* SiteRecoveryVault::vm(const std::string& name) const {
  auto it = vms_.find(name);
  return it == vms_.end() ? nullptr : &it->second;
}

Status SiteRecoveryVault::set_source_kind(const std::string& name, SourceKind kind) {
  auto it = vms_.find(name);
  if (it == vms_.end()) return not_found("no protected VM named " + name);
  it->second.source = kind;
  return Status::ok();
}

std::vector<std::string> SiteRecoveryVault::scope_names() const {
  std::vector<std::string> names;
  for (const auto& [name, scope] : scopes_) names.push_back(name);
  return names;
}

Time SiteRecoveryVault::next_deadline() const {
  Time next = kNever;
  for (const auto& [name, scope] : scopes_) next = std::min(next, scope->next_deadline());
  return next;
}

Status SiteRecoveryVault::release(const std::string& name) {
  if (auto group = group_of(name)) {
    return failed_precondition(name + " replicates in consistency group " + *group +
                               "; a group moves as a whole");
  }
  auto it = scopes_.find(name);
  if (it == scopes_.end()) return not_found("'" + name + "' is not protected in this vault");
  if (it->second->scope() == ProtectionScope::kMultiVmGroup) {
    for (const auto& m : it->second->members()) {
      vms_.erase(m);
      group_of_.erase(m);
    }
  } else {
    vms_.erase(name);
  }
  scopes_.erase(it);
  return Status::ok();
}

}  // namespace drsim::model
