#include "common/model/backup/vm.h"

namespace drsim::model {

const char* power_state_name(PowerState state) {
  switch (state) {
    case PowerState::kRunning:
      return "Running";
    case PowerState::kStopped:
      return "Stopped";
    case PowerState::kGeneralized:
      return "Generalized";
  }
  return "Unknown";
}

Status VirtualMachine::validate() const {
  if (name.empty()) return invalid_argument("name: required");
  if (region.empty()) return invalid_argument("region: required for VM " + name);
  if (disks.empty() || disks.front().role() != DiskRole::kOs) {
    return invalid_argument("disks[0]: VM " + name + " needs its OS disk first");
  }
  for (size_t i = 1; i < disks.size(); ++i) {
    if (disks[i].role() == DiskRole::kOs) {
      return invalid_argument("disks[" + std::to_string(i) + "]: VM " + name +
                              " has one OS disk; " + disks[i].name() + " must be a data disk");
    }
    for (size_t j = 0; j < i; ++j) {
      if (disks[j].name() == disks[i].name()) {
        return invalid_argument("disks[" + std::to_string(i) + "]: VM " + name +
                                " already has a disk named " + disks[i].name());
      }
    }
  }
  return Status::ok();
}

Status VirtualMachine::start() {
  if (power == PowerState::kGeneralized) {
    return failed_precondition("VM " + name +
                               " is generalized (captured into an image) and cannot start again; "
                               "create a new VM from the image");
  }
  power = PowerState::kRunning;
  return Status::ok();
}

void VirtualMachine::stop() {
  if (power == PowerState::kRunning) power = PowerState::kStopped;
}

ManagedDisk* VirtualMachine::disk(std::string_view disk_name) {
  for (auto& d : disks) {
    if (d.name() == disk_name) return &d;
  }
  return nullptr;
}

uint64_t VirtualMachine::used_bytes() const {
  uint64_t used = 0;
  for (const auto& d : disks) used += d.used_bytes();
  return used;
}

}  // namespace drsim::model
