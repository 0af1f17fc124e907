// VmImage: capturing takes every disk (OS and data) of a stopped VM and generalizes it for
// good; new VMs come from the image in its own region only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/backup/vm_image.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr Time kNow = kTimeZero + 3h;

VirtualMachine make_vm(PowerState power) {
  VirtualMachine vm{.name = "web1", .region = "eastus", .power = power, .disks = {}};
  vm.disks.emplace_back("web1-os", DiskRole::kOs, 64 * kGiB, 10 * kGiB);
  vm.disks.emplace_back("web1-data0", DiskRole::kData, 256 * kGiB, 40 * kGiB);
  vm.disks.emplace_back("web1-data1", DiskRole::kData, 32 * kGiB, 0);
  return vm;
}

TEST(VmImage, CaptureTakesTheOsAndEveryDataDisk) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  auto image = capture_image(vm, "web-golden", kNow);
  ASSERT_TRUE(image.is_ok()) << image.status().to_string();
  EXPECT_EQ(image->name, "web-golden");
  EXPECT_EQ(image->region, "eastus");
  EXPECT_EQ(image->source_vm, "web1");
  EXPECT_EQ(image->created, kNow);
  ASSERT_EQ(image->disks.size(), 3u);
  EXPECT_EQ(image->disks[0].disk, "web1-os");
  EXPECT_EQ(image->disks[0].role, DiskRole::kOs);
  EXPECT_EQ(image->disks[1].disk, "web1-data0");
  EXPECT_EQ(image->disks[2].disk, "web1-data1");
  // Billed on what the disks use, like snapshots: 10 + 40 + 0 GiB.
  EXPECT_EQ(image->billed_bytes(), 50 * kGiB);
}

TEST(VmImage, CaptureGeneralizesTheSourceWhichCannotStartAgain) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  ASSERT_TRUE(capture_image(vm, "web-golden", kNow).is_ok());
  EXPECT_EQ(vm.power, PowerState::kGeneralized);
  Status s = vm.start();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(vm.power, PowerState::kGeneralized);
  // A generalized VM can still be captured again.
  EXPECT_TRUE(capture_image(vm, "web-golden-2", kNow + 1h).is_ok());
}

TEST(VmImage, CapturingARunningVmIsRefusedAndLeavesItRunning) {
  VirtualMachine vm = make_vm(PowerState::kRunning);
  auto image = capture_image(vm, "web-golden", kNow);
  EXPECT_EQ(image.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(image.status().message(), HasSubstr("stop (deallocate) it before capturing"));
  EXPECT_EQ(vm.power, PowerState::kRunning);
}

TEST(VmImage, CaptureRefusesAnEmptyNameOrAnInvalidVm) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  EXPECT_EQ(capture_image(vm, "", kNow).status().message(), "image_name: required");
  vm.disks.clear();
  EXPECT_EQ(capture_image(vm, "img", kNow).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vm.power, PowerState::kStopped);
}

TEST(VmImage, NewVmFromImageInTheSameRegionGetsACopyOfEveryDisk) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  auto image = capture_image(vm, "web-golden", kNow);
  ASSERT_TRUE(image.is_ok());
  auto web2 = create_vm_from_image(*image, "web2", "eastus");
  ASSERT_TRUE(web2.is_ok()) << web2.status().to_string();
  EXPECT_EQ(web2->name, "web2");
  EXPECT_EQ(web2->region, "eastus");
  EXPECT_EQ(web2->power, PowerState::kRunning);
  EXPECT_TRUE(web2->validate().is_ok());
  ASSERT_EQ(web2->disks.size(), 3u);
  EXPECT_EQ(web2->disks[0].name(), "web2-web1-os");
  EXPECT_EQ(web2->disks[1].used_bytes(), 40 * kGiB);
  EXPECT_EQ(web2->disks[1].size_bytes(), 256 * kGiB);
  // The new VM is independent: it starts, and its writes do not touch the image.
  ASSERT_TRUE(web2->disks[1].append(kGiB).is_ok());
  EXPECT_EQ(image->disks[1].used_bytes, 40 * kGiB);
}

TEST(VmImage, NewVmInAnotherRegionIsRefused) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  auto image = capture_image(vm, "web-golden", kNow);
  ASSERT_TRUE(image.is_ok());
  auto web2 = create_vm_from_image(*image, "web2", "westus");
  EXPECT_EQ(web2.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(web2.status().message(),
            "image web-golden is in eastus; a VM can be created from it in that region only, "
            "not in westus");
  EXPECT_EQ(create_vm_from_image(*image, "", "eastus").status().message(), "vm_name: required");
}

TEST(VmImage, VmFromImageKeepsTheSourcesVmAgent) {
  VirtualMachine vm = make_vm(PowerState::kStopped);
  vm.agent = GuestAgent::kMissing;
  auto image = capture_image(vm, "bare", kNow);
  ASSERT_TRUE(image.is_ok());
  auto copy = create_vm_from_image(*image, "web3", "eastus");
  ASSERT_TRUE(copy.is_ok());
  EXPECT_EQ(copy->agent, GuestAgent::kMissing);
}

}  // namespace
}  // namespace drsim::model
