// SiteRecoveryVault: protecting VMs and multi-VM consistency groups (2..16 VMs, one location,
// validated specs and targets), and routing steps — never to one VM of a group.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/model/siterecovery/vault.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
constexpr Time kT0 = kTimeZero + 1000h;
const ReplicationTarget kWestus{TargetKind::kAzureRegion, "westus"};

ProtectedItemSpec vm(std::string name, std::string location = "eastus") {
  return ProtectedItemSpec{.name = std::move(name),
                           .source = SourceKind::kAzureVm,
                           .location = std::move(location),
                           .os_disk = {"os", 64ull << 30, 8ull << 30}};
}

std::vector<ProtectedItemSpec> vms(size_t n) {
  std::vector<ProtectedItemSpec> out;
  for (size_t i = 0; i < n; ++i) out.push_back(vm("vm-" + std::to_string(i)));
  return out;
}

TEST(SiteRecoveryVault, ProtectingAVmEnablesItsReplication) {
  SiteRecoveryVault vault;
  auto r = vault.protect_vm(vm("vm-web"), kWestus, {}, kT0);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->to, ProtectionState::kInitialReplication);
  EXPECT_EQ(r->sync, SyncKind::kFull);
  auto lc = vault.lifecycle("vm-web");
  ASSERT_TRUE(lc.is_ok());
  EXPECT_EQ((*lc)->scope(), ProtectionScope::kSingleVm);
  EXPECT_EQ((*lc)->primary_region(), "eastus");
  EXPECT_EQ((*lc)->recovery_region(), "westus");
  EXPECT_NE(vault.vm("vm-web"), nullptr);
  EXPECT_FALSE(vault.group_of("vm-web").has_value());
}

TEST(SiteRecoveryVault, RefusesBadSpecsTargetsPoliciesAndTakenNames) {
  SiteRecoveryVault vault;
  ProtectedItemSpec bad = vm("vm-web");
  bad.os_disk.used_bytes = bad.os_disk.capacity_bytes + 1;
  EXPECT_EQ(vault.protect_vm(bad, kWestus, {}, kT0).status().code(), StatusCode::kInvalidArgument);
  auto site = vault.protect_vm(vm("vm-web"), {TargetKind::kSecondarySite, "dc-2"}, {}, kT0);
  EXPECT_EQ(site.status().code(), StatusCode::kInvalidArgument);
  ReplicationPolicy policy;
  policy.retention = 16 * 24h;
  auto pol = vault.protect_vm(vm("vm-web"), kWestus, policy, kT0);
  EXPECT_EQ(pol.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pol.status().message().rfind("vm-web.policy.retention: 16d", 0), 0u)
      << pol.status().message();
  EXPECT_TRUE(vault.scope_names().empty()) << "nothing registered by a refusal";

  ASSERT_TRUE(vault.protect_vm(vm("vm-web"), kWestus, {}, kT0).is_ok());
  EXPECT_EQ(vault.protect_vm(vm("vm-web"), kWestus, {}, kT0).status().code(),
            StatusCode::kAlreadyExists);
}

TEST(SiteRecoveryVault, GroupOfSixteenIsAllowedSeventeenIsNot) {
  SiteRecoveryVault vault;
  auto sixteen = vault.protect_group("grp-16", vms(16), kWestus, {}, kT0);
  ASSERT_TRUE(sixteen.is_ok()) << sixteen.status().to_string();
  EXPECT_EQ(vault.find("grp-16")->members().size(), 16u);
  EXPECT_EQ(vault.find("grp-16")->scope(), ProtectionScope::kMultiVmGroup);

  SiteRecoveryVault other;
  auto seventeen = other.protect_group("grp-17", vms(17), kWestus, {}, kT0);
  EXPECT_EQ(seventeen.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(seventeen.status().message(),
            "group 'grp-17': 17 VMs exceed the limit of 16 per multi-VM consistency group; "
            "split them into groups of at most 16");
  EXPECT_TRUE(other.scope_names().empty());
}

TEST(SiteRecoveryVault, GroupNeedsAtLeastTwoVms) {
  SiteRecoveryVault vault;
  EXPECT_EQ(vault.protect_group("grp", vms(1), kWestus, {}, kT0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(vault.protect_group("grp", {}, kWestus, {}, kT0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(vault.protect_group("grp", vms(2), kWestus, {}, kT0).is_ok());
}

TEST(SiteRecoveryVault, GroupVmsComeFromOneLocationOnceEach) {
  SiteRecoveryVault vault;
  auto split = vault.protect_group("grp", {vm("vm-a"), vm("vm-b", "centralus")}, kWestus, {}, kT0);
  EXPECT_EQ(split.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(split.status().message().find("replicates from one location"), std::string::npos);
  auto twice = vault.protect_group("grp", {vm("vm-a"), vm("vm-a")}, kWestus, {}, kT0);
  EXPECT_NE(twice.status().message().find("'vm-a' is listed twice"), std::string::npos);
  ASSERT_TRUE(vault.protect_vm(vm("vm-c"), kWestus, {}, kT0).is_ok());
  EXPECT_EQ(vault.protect_group("grp", {vm("vm-a"), vm("vm-c")}, kWestus, {}, kT0).status().code(),
            StatusCode::kAlreadyExists)
      << "a protected VM cannot join a group";
  EXPECT_EQ(vault.scope_names(), (std::vector<std::string>{"vm-c"}));
}

TEST(SiteRecoveryVault, StepsOnOneVmOfAGroupAreRefusedNamingTheGroup) {
  SiteRecoveryVault vault;
  ASSERT_TRUE(vault.protect_group("grp-app", {vm("vm-a"), vm("vm-b")}, kWestus, {}, kT0).is_ok());
  auto single = vault.lifecycle("vm-a");
  EXPECT_EQ(single.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(single.status().message(),
            "vm-a is in multi-VM consistency group 'grp-app', whose VMs fail over, commit and "
            "re-protect together; run the step on 'grp-app' instead");
  EXPECT_EQ(vault.group_of("vm-b"), "grp-app");

  auto whole = vault.lifecycle("grp-app");
  ASSERT_TRUE(whole.is_ok());
  ASSERT_TRUE((*whole)->on_sync_completed(kT0 + 1h).is_ok());
  auto failover = (*whole)->unplanned_failover(
      RecoveryPointChoice::of(RecoveryPointChoiceKind::kLatestMultiVmProcessed), {}, kT0 + 1h);
  EXPECT_TRUE(failover.is_ok()) << failover.status().to_string();
  EXPECT_EQ(vault.lifecycle("nope").status().code(), StatusCode::kNotFound);
}

TEST(SiteRecoveryVault, ReleasingAGroupReleasesItsVmsButOneVmOfAGroupIsNotReleased) {
  SiteRecoveryVault vault;
  ASSERT_TRUE(vault.protect_group("grp-app", {vm("vm-a"), vm("vm-b")}, kWestus, {}, kT0).is_ok());
  Status one = vault.release("vm-a");
  EXPECT_EQ(one.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(one.message(),
            "vm-a replicates in consistency group grp-app; a group moves as a whole");
  EXPECT_NE(vault.find("grp-app"), nullptr);

  ASSERT_TRUE(vault.release("grp-app").is_ok());
  EXPECT_EQ(vault.find("grp-app"), nullptr);
  EXPECT_EQ(vault.group_of("vm-a"), std::nullopt);
  EXPECT_EQ(vault.vm("vm-b"), nullptr);
  EXPECT_TRUE(vault.scope_names().empty());
  EXPECT_EQ(vault.release("grp-app").code(), StatusCode::kNotFound);
  // The names are free again: the group can come back (as an adopted group does).
  EXPECT_TRUE(vault.protect_group("grp-app", {vm("vm-a"), vm("vm-b")}, kWestus, {}, kT0).is_ok());
}

TEST(SiteRecoveryVault, NextDeadlineIsTheEarliestOverScopes) {
  SiteRecoveryVault vault;
  EXPECT_EQ(vault.next_deadline(), kNever);
  ASSERT_TRUE(vault.protect_vm(vm("vm-a"), kWestus, {}, kT0).is_ok());
  ASSERT_TRUE(vault.protect_vm(vm("vm-b"), kWestus, {}, kT0).is_ok());
  ASSERT_TRUE((*vault.lifecycle("vm-b"))->on_sync_completed(kT0 + 2min).is_ok());
  ASSERT_TRUE((*vault.lifecycle("vm-a"))->on_sync_completed(kT0 + 3min).is_ok());
  EXPECT_EQ(vault.next_deadline(), kT0 + 7min);
}

}  // namespace
}  // namespace drsim::model
