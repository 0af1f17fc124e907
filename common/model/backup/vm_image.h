// VmImage: a managed image captured from a VM — every managed disk (OS and data) at the
// capture — and the VMs created from it. Pure; the CLI's image commands and the cost report
// use it.
//
// Rules (facts.md "Disks"): an image captures all disks of a VM; a new VM can be created from
// it in the same region. Capturing generalizes the source VM, which cannot start again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/core/time.h"
#include "common/model/backup/vm.h"
#include "common/model/backup/disk_snapshot.h"

namespace drsim::model {

struct VmImage {
  std::string name;
  std::string region;
  std::string source_vm;
  Time created;
  GuestAgent agent = GuestAgent::kInstalled;  // what VMs created from it start with
  std::vector<DiskCopy> disks;                // OS disk first, then the data disks

  // Billed like snapshots: on the used size of its disks.
  uint64_t billed_bytes() const;
};

// Captures every disk of `vm` and generalizes it. FAILED_PRECONDITION while it runs (stop /
// deallocate it first); INVALID_ARGUMENT for an invalid VM or an empty image name.
Result<VmImage> capture_image(VirtualMachine& vm, std::string image_name, Time now);

// A running VM in the image's region with a copy of each disk ("<vm_name>-<disk>").
// FAILED_PRECONDITION for another region; INVALID_ARGUMENT for an empty name.
Result<VirtualMachine> create_vm_from_image(const VmImage& image, std::string vm_name,
                                            std::string_view region);

}  // namespace drsim::model
