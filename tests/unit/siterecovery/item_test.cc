// Site Recovery protected items: which sources each target accepts, and item spec validation.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/model/siterecovery/item.h"

namespace drsim::model {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

ProtectedItemSpec vm(SourceKind kind) {
  return ProtectedItemSpec{.name = "vm-web",
                           .source = kind,
                           .location = "eastus",
                           .os_disk = {"os", 64 * kGiB, 10 * kGiB},
                           .data_disks = {{"data0", 128 * kGiB, 100 * kGiB}}};
}

const std::vector<SourceKind> kAllSources = {
    SourceKind::kAzureVm,
    SourceKind::kVmwareVm,
    SourceKind::kHyperVVm,
    SourceKind::kPhysicalWindowsServer,
    SourceKind::kPhysicalLinuxServer,
    SourceKind::kAzureStackVm,
    SourceKind::kAwsWindowsInstance,
};

TEST(SiteRecoveryItem, AzureRegionAcceptsEverySourceKind) {
  for (SourceKind kind : kAllSources) {
    for (auto mgmt : {HyperVManagement::kStandaloneHost, HyperVManagement::kVmm}) {
      ProtectedItemSpec item = vm(kind);
      item.hyperv_management = mgmt;
      EXPECT_TRUE(check_replication_target(item, {TargetKind::kAzureRegion, "westus"}).is_ok())
          << source_kind_name(kind);
    }
  }
}

TEST(SiteRecoveryItem, SecondarySiteAcceptsOnlyVmwareVmmHyperVAndPhysical) {
  struct Case {
    SourceKind kind;
    HyperVManagement mgmt;
    bool accepted;
  };
  const std::vector<Case> cases = {
      {SourceKind::kVmwareVm, HyperVManagement::kStandaloneHost, true},
      {SourceKind::kHyperVVm, HyperVManagement::kVmm, true},
      {SourceKind::kHyperVVm, HyperVManagement::kStandaloneHost, false},
      {SourceKind::kPhysicalWindowsServer, HyperVManagement::kStandaloneHost, true},
      {SourceKind::kPhysicalLinuxServer, HyperVManagement::kStandaloneHost, true},
      {SourceKind::kAzureVm, HyperVManagement::kStandaloneHost, false},
      {SourceKind::kAzureStackVm, HyperVManagement::kStandaloneHost, false},
      {SourceKind::kAwsWindowsInstance, HyperVManagement::kStandaloneHost, false},
  };
  for (const Case& c : cases) {
    ProtectedItemSpec item = vm(c.kind);
    item.location = "dc-west";
    item.hyperv_management = c.mgmt;
    Status s = check_replication_target(item, {TargetKind::kSecondarySite, "dc-east"});
    EXPECT_EQ(s.is_ok(), c.accepted) << source_kind_name(c.kind) << ": " << s.to_string();
    if (!c.accepted) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      // Says why, what a site accepts, and the alternative.
      EXPECT_NE(s.message().find(source_kind_name(c.kind)), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("accepts only VMware VMs, Hyper-V VMs managed by System Center "
                                 "VMM and physical servers"),
                std::string::npos);
      EXPECT_NE(s.message().find("target an Azure region instead"), std::string::npos);
    }
  }
}

TEST(SiteRecoveryItem, RefusalsUseTheRightArticle) {
  ProtectedItemSpec azure = vm(SourceKind::kAzureVm);
  azure.location = "dc-west";
  EXPECT_EQ(check_replication_target(azure, {TargetKind::kSecondarySite, "dc-east"})
                .message()
                .find("vm-web.target: an Azure VM cannot replicate"),
            0u);
  EXPECT_EQ(source_kind_with_article(SourceKind::kAwsWindowsInstance), "an AWS Windows instance");
  EXPECT_EQ(source_kind_with_article(SourceKind::kAzureStackVm), "an Azure Stack VM");
  EXPECT_EQ(source_kind_with_article(SourceKind::kVmwareVm), "a VMware VM");
  EXPECT_EQ(source_kind_with_article(SourceKind::kPhysicalLinuxServer), "a physical Linux server");
}

// Facts (Site Recovery, failback): from Azure, physical servers, Azure Stack VMs and AWS
// instances come back as VMware VMs only; the VM kinds as themselves; from a secondary site
// every kind as itself.
TEST(SiteRecoveryItem, FailbackFromAzureTurnsPhysicalAzureStackAndAwsIntoVmwareVms) {
  const std::vector<std::pair<SourceKind, SourceKind>> from_azure = {
      {SourceKind::kAzureVm, SourceKind::kAzureVm},
      {SourceKind::kVmwareVm, SourceKind::kVmwareVm},
      {SourceKind::kHyperVVm, SourceKind::kHyperVVm},
      {SourceKind::kPhysicalWindowsServer, SourceKind::kVmwareVm},
      {SourceKind::kPhysicalLinuxServer, SourceKind::kVmwareVm},
      {SourceKind::kAzureStackVm, SourceKind::kVmwareVm},
      {SourceKind::kAwsWindowsInstance, SourceKind::kVmwareVm},
  };
  ASSERT_EQ(from_azure.size(), kAllSources.size());
  for (const auto& [kind, back] : from_azure) {
    EXPECT_EQ(failback_kind(kind, TargetKind::kAzureRegion), back) << source_kind_name(kind);
    EXPECT_EQ(failback_kind(kind, TargetKind::kSecondarySite), kind) << source_kind_name(kind);
    // Once a VMware VM, it stays one: a second re-protect changes nothing.
    EXPECT_EQ(failback_kind(back, TargetKind::kAzureRegion), back) << source_kind_name(kind);
  }
}

TEST(SiteRecoveryItem, StandaloneHyperVRefusalNamesTheHost) {
  ProtectedItemSpec item = vm(SourceKind::kHyperVVm);
  Status s = check_replication_target(item, {TargetKind::kSecondarySite, "dc-east"});
  EXPECT_NE(s.message().find("standalone Hyper-V host"), std::string::npos) << s.message();
}

TEST(SiteRecoveryItem, TargetMustBeNamedAndDifferFromTheSource) {
  Status same =
      check_replication_target(vm(SourceKind::kAzureVm), {TargetKind::kAzureRegion, "eastus"});
  EXPECT_EQ(same.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(same.message(),
            "vm-web.target: 'eastus' is where vm-web already runs; replicate to "
            "a different region or site");
  EXPECT_EQ(
      check_replication_target(vm(SourceKind::kAzureVm), {TargetKind::kAzureRegion, ""}).code(),
      StatusCode::kInvalidArgument);
}

TEST(SiteRecoveryItem, ValidSpecPassesAndCountsUsedBytesOfEveryDisk) {
  ProtectedItemSpec item = vm(SourceKind::kAzureVm);
  EXPECT_TRUE(item.validate().is_ok());
  EXPECT_EQ(item.used_bytes(), 110 * kGiB);
  item.data_disks.clear();
  EXPECT_TRUE(item.validate().is_ok());  // data disks are optional
  EXPECT_EQ(item.used_bytes(), 10 * kGiB);
}

TEST(SiteRecoveryItem, ValidationNamesTheBadField) {
  struct Case {
    const char* what;
    void (*mutate)(ProtectedItemSpec&);
    const char* field;
  };
  const std::vector<Case> cases = {
      {"no name", [](ProtectedItemSpec& i) { i.name.clear(); }, "item.name:"},
      {"no location", [](ProtectedItemSpec& i) { i.location.clear(); }, "vm-web.location:"},
      {"unnamed OS disk", [](ProtectedItemSpec& i) { i.os_disk.name.clear(); },
       "vm-web.os_disk.name:"},
      {"zero capacity", [](ProtectedItemSpec& i) { i.os_disk.capacity_bytes = 0; },
       "vm-web.os_disk.capacity_bytes:"},
      {"used over capacity",
       [](ProtectedItemSpec& i) {
         i.data_disks[0].used_bytes = i.data_disks[0].capacity_bytes + 1;
       },
       "vm-web.data_disks[0].used_bytes:"},
      {"duplicate disk name", [](ProtectedItemSpec& i) { i.data_disks[0].name = "os"; },
       "vm-web.data_disks[0].name:"},
  };
  for (const Case& c : cases) {
    ProtectedItemSpec item = vm(SourceKind::kAzureVm);
    c.mutate(item);
    Status s = item.validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_EQ(s.message().rfind(c.field, 0), 0u) << c.what << ": " << s.message();
  }
}

TEST(SiteRecoveryItem, DiskFullToTheByteIsValid) {
  ProtectedItemSpec item = vm(SourceKind::kAzureVm);
  item.os_disk.used_bytes = item.os_disk.capacity_bytes;
  EXPECT_TRUE(item.validate().is_ok());
}

}  // namespace
}  // namespace drsim::model
