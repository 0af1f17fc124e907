// The Site Recovery side of a Recovery Services vault: protected VMs and multi-VM consistency
// groups by name, each with its ProtectionLifecycle. It validates what gets protected and
// routes operator steps to the right lifecycle, refusing steps on one VM of a group (facts.md:
// a group's VMs share their points and there is no single-VM failover inside a group). Pure.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/siterecovery/item.h"
#include "common/model/siterecovery/lifecycle.h"
#include "common/model/siterecovery/policy.h"

namespace drsim::model {

// Multi-VM consistency groups hold up to 16 VMs (facts.md); one VM is not a group.
inline constexpr size_t kMinConsistencyGroupVms = 2;
inline constexpr size_t kMaxConsistencyGroupVms = 16;

class SiteRecoveryVault {
 public:
  // Validates `vm`, `target` and `policy`, registers the VM and enables its replication.
  // INVALID_ARGUMENT for a bad spec, target or policy; ALREADY_EXISTS for a taken name.
  Result<ProtectionChanged> protect_vm(const ProtectedItemSpec& vm, const ReplicationTarget& target,
                                       const ReplicationPolicy& policy, Time now);
  // The same for a multi-VM consistency group of 2..16 VMs from one location, replicated
  // together under one policy to one target.
  Result<ProtectionChanged> protect_group(const std::string& group,
                                          const std::vector<ProtectedItemSpec>& vms,
                                          const ReplicationTarget& target,
                                          const ReplicationPolicy& policy, Time now);

  // The vault no longer holds the single VM or consistency group `name` (its protection moved
  // to another vault); a group's VMs go with it. NOT_FOUND for an unknown name,
  // FAILED_PRECONDITION for a VM inside a group (the group moves as a whole).
  Status release(const std::string& name);

  // The lifecycle that operator steps on `name` (a single VM or a group) go to.
  // FAILED_PRECONDITION for a VM inside a group, naming the group; NOT_FOUND otherwise.
  Result<ProtectionLifecycle*> lifecycle(const std::string& name);
  const ProtectionLifecycle* find(const std::string& name) const;  // scopes only

  std::optional<std::string> group_of(const std::string& vm) const;
  const ProtectedItemSpec* vm(const std::string& name) const;
  // Re-protect of `name` picked the kind it fails back as (failback_kind): NOT_FOUND for an
  // unknown VM.
  Status set_source_kind(const std::string& name, SourceKind kind);
  std::vector<std::string> scope_names() const;  // sorted
  // Earliest next_deadline() over every scope.
  Time next_deadline() const;

 private:
  Status check_new_name(const std::string& name) const;

  std::map<std::string, ProtectedItemSpec> vms_;
  std::map<std::string, std::string> group_of_;  // VM → group
  std::map<std::string, std::unique_ptr<ProtectionLifecycle>> scopes_;
};

}  // namespace drsim::model
