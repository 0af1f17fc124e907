// VirtualMachine: the facts about an Azure VM that Backup, disk snapshots and images read —
// name, region, VM agent, power state and managed disks (OS disk first). Plain data plus the
// VM's own rules: a generalized VM never starts again.
//
// (The VM is its own noun; it lives under backup_ because Backup is what needs it first.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/model/backup/disk_snapshot.h"

namespace drsim::model {

// The Microsoft Azure Virtual Machine Agent extension ("guest agent" in Azure error codes). VM
// backup needs it; the MARS agent (files and folders backup) is a different thing and does not
// count.
enum class GuestAgent { kInstalled, kMissing };

enum class PowerState {
  kRunning,
  kStopped,      // stopped (deallocated)
  kGeneralized,  // captured into an image: deallocated for good
};
const char* power_state_name(PowerState state);  // "Running", "Stopped", "Generalized"

struct VirtualMachine {
  std::string name;
  std::string region;
  GuestAgent agent = GuestAgent::kInstalled;
  PowerState power = PowerState::kRunning;
  std::vector<ManagedDisk> disks;  // disks[0] is the OS disk

  // INVALID_ARGUMENT naming the field: name and region set, one OS disk and it comes first,
  // disk names unique.
  Status validate() const;

  // FAILED_PRECONDITION once generalized: Azure cannot start a VM captured into an image.
  Status start();
  // A generalized VM stays generalized (it is already deallocated).
  void stop();

  ManagedDisk* disk(std::string_view disk_name);
  uint64_t used_bytes() const;  // all disks
};

}  // namespace drsim::model
