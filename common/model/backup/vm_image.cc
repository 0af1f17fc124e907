#include "common/model/backup/vm_image.h"

#include <utility>

namespace drsim::model {

uint64_t VmImage::billed_bytes() const {
  uint64_t bytes = 0;
  for (const auto& d : disks) bytes += d.used_bytes;
  return bytes;
}

Result<VmImage> capture_image(VirtualMachine& vm, std::string image_name, Time now) {
  if (image_name.empty()) return invalid_argument("image_name: required");
  if (Status s = vm.validate(); !s.is_ok()) return invalid_argument("vm." + s.message());
  if (vm.power == PowerState::kRunning) {
    return failed_precondition("VM " + vm.name +
                               " is running: stop (deallocate) it before capturing image " +
                               image_name + "; capturing generalizes it for good");
  }
  VmImage image{.name = std::move(image_name),
                .region = vm.region,
                .source_vm = vm.name,
                .created = now,
                .agent = vm.agent,
                .disks = {}};
  for (const auto& d : vm.disks) image.disks.push_back(copy_of(d));
  // The capture removed the machine-specific state (sysprep / waagent -deprovision): the
  // source can only serve as the image's origin now.
  vm.power = PowerState::kGeneralized;
  return image;
}

Result<VirtualMachine> create_vm_from_image(const VmImage& image, std::string vm_name,
                                            std::string_view region) {
  if (vm_name.empty()) return invalid_argument("vm_name: required");
  if (region != image.region) {
    return failed_precondition("image " + image.name + " is in " + image.region +
                               "; a VM can be created from it in that region only, not in " +
                               std::string(region));
  }
  VirtualMachine vm{.name = std::move(vm_name),
                    .region = image.region,
                    .agent = image.agent,
                    .power = PowerState::kRunning,
                    .disks = {}};
  for (const auto& d : image.disks) vm.disks.push_back(disk_from_copy(d, vm.name + "-" + d.disk));
  return vm;
}

}  // namespace drsim::model
