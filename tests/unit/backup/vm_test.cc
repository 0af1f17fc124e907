// VirtualMachine: validation (OS disk first, unique disk names), power state, and the rule
// that a generalized VM never starts again.
#include <gtest/gtest.h>

#include "common/model/backup/vm.h"

namespace drsim::model {
namespace {

VirtualMachine make_vm() {
  VirtualMachine vm{.name = "vm1", .region = "eastus", .disks = {}};
  vm.disks.emplace_back("vm1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("vm1-data0", DiskRole::kData, 128 * kGiB, 20 * kGiB);
  return vm;
}

TEST(VirtualMachine, ValidVmHasItsOsDiskFirst) {
  VirtualMachine vm = make_vm();
  EXPECT_TRUE(vm.validate().is_ok());
  EXPECT_EQ(vm.used_bytes(), 30 * kGiB);
  ASSERT_NE(vm.disk("vm1-data0"), nullptr);
  EXPECT_EQ(vm.disk("vm1-data0")->size_bytes(), 128 * kGiB);
  EXPECT_EQ(vm.disk("missing"), nullptr);
}

TEST(VirtualMachine, ValidationNamesTheField) {
  VirtualMachine vm = make_vm();
  vm.name.clear();
  EXPECT_EQ(vm.validate().message(), "name: required");
  vm = make_vm();
  vm.region.clear();
  EXPECT_EQ(vm.validate().message(), "region: required for VM vm1");
  vm = make_vm();
  std::swap(vm.disks[0], vm.disks[1]);
  EXPECT_EQ(vm.validate().message(), "disks[0]: VM vm1 needs its OS disk first");
  vm = make_vm();
  vm.disks.emplace_back("vm1-os2", DiskRole::kOs, 64 * kGiB);
  EXPECT_EQ(vm.validate().message(),
            "disks[2]: VM vm1 has one OS disk; vm1-os2 must be a data disk");
  vm = make_vm();
  vm.disks.emplace_back("vm1-data0", DiskRole::kData, 64 * kGiB);
  EXPECT_EQ(vm.validate().message(), "disks[2]: VM vm1 already has a disk named vm1-data0");
  vm.disks.clear();
  EXPECT_EQ(vm.validate().code(), StatusCode::kInvalidArgument);
}

TEST(VirtualMachine, StopsAndStartsUntilGeneralized) {
  VirtualMachine vm = make_vm();
  vm.stop();
  EXPECT_EQ(vm.power, PowerState::kStopped);
  ASSERT_TRUE(vm.start().is_ok());
  EXPECT_EQ(vm.power, PowerState::kRunning);

  vm.power = PowerState::kGeneralized;
  Status s = vm.start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "VM vm1 is generalized (captured into an image) and cannot start again; create a "
            "new VM from the image");
  vm.stop();
  EXPECT_EQ(vm.power, PowerState::kGeneralized);
  EXPECT_STREQ(power_state_name(vm.power), "Generalized");
}

}  // namespace
}  // namespace drsim::model
