// The one rule for user-supplied names that can reach a path or a storage key: workloads,
// consistency groups, recovery plans, vaults, policies, VMs, disks, snapshots, images, Traffic
// Manager profiles and endpoints, protected items. Used at every RPC boundary and config loader.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace drsim {

inline constexpr size_t kMaxNameBytes = 64;

// OK when `name` is 1 to 64 bytes of letters, digits, '-', '_' and '.', and is not "." or "..";
// else INVALID_ARGUMENT "<field>: '<name>' <which rule it breaks>".
Status validate_name(std::string_view field, std::string_view name);

}  // namespace drsim
