// Recovery plans: limits (7 groups, 100 VMs), consistency with the vault, and the executor —
// groups in order, VMs of a group in parallel, hooks and manual actions around them, and a
// failure stopping everything after it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/model/siterecovery/plan.h"
#include "common/model/siterecovery/vault.h"

namespace drsim::model {
namespace {

using namespace std::chrono_literals;
constexpr Time kT0 = kTimeZero + 1000h;

RecoveryPlan plan_of(size_t groups, size_t vms_per_group) {
  RecoveryPlan plan{.name = "plan-web", .groups = {}};
  for (size_t g = 0; g < groups; ++g) {
    RecoveryPlanGroup group;
    for (size_t v = 0; v < vms_per_group; ++v) {
      group.vms.push_back("vm-" + std::to_string(g) + "-" + std::to_string(v));
    }
    plan.groups.push_back(group);
  }
  return plan;
}

// Group 1: script + manual action before [db-1, db-2], script after; group 2: [app];
// group 3: script before [web-1, web-2].
RecoveryPlan three_tier() {
  return RecoveryPlan{.name = "plan-shop",
                      .groups = {
                          {.vms = {"db-1", "db-2"},
                           .before = {{PlanHookKind::kScript, "stop-writes"},
                                      {PlanHookKind::kManualAction, "confirm the DBA is on call"}},
                           .after = {{PlanHookKind::kScript, "check-replicas"}}},
                          {.vms = {"app"}, .before = {}, .after = {}},
                          {.vms = {"web-1", "web-2"},
                           .before = {{PlanHookKind::kScript, "warm-cache"}},
                           .after = {}},
                      }};
}

// Runs the plan, finishing every action at once; `fail_on` (an action text) fails instead.
std::vector<std::string> run(RecoveryPlanRun& run, const std::string& fail_on = "") {
  std::vector<std::string> order;
  Time now = kT0;
  for (int guard = 0; guard < 100 && run.state() == PlanRunState::kRunning; ++guard) {
    auto ready = run.take_ready(now);
    EXPECT_EQ(ready.size(), 1u) << "one step at a time";
    if (ready.empty()) break;
    now += 1min;
    const std::string text = plan_action_text(ready[0]);
    order.push_back(text);
    const bool fail = text == fail_on;
    EXPECT_TRUE(run.on_action_finished(ready[0].id,
                                       fail ? ActionOutcome::kFailed : ActionOutcome::kSucceeded,
                                       fail ? "VM did not boot" : "", now)
                    .is_ok());
  }
  return order;
}

// --- Limits ---

TEST(RecoveryPlan, SevenGroupsAreAllowedEightAreNot) {
  EXPECT_TRUE(plan_of(7, 1).validate().is_ok());
  Status s = plan_of(8, 1).validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "plan 'plan-web': 8 groups exceed the limit of 7; merge groups (the VMs "
            "of one group fail over in parallel)");
}

TEST(RecoveryPlan, HundredVmsAreAllowedHundredAndOneAreNot) {
  EXPECT_TRUE(plan_of(4, 25).validate().is_ok());
  RecoveryPlan over = plan_of(4, 25);
  over.groups[3].vms.push_back("vm-extra");
  Status s = over.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "plan 'plan-web': 101 VMs exceed the limit of 100 per recovery plan; "
            "split it into several plans");
  EXPECT_EQ(over.vm_count(), 101u);
}

TEST(RecoveryPlan, StructureIsValidated) {
  struct Case {
    const char* what;
    void (*mutate)(RecoveryPlan&);
    const char* says;
  };
  const Case cases[] = {
      {"no name", [](RecoveryPlan& p) { p.name.clear(); }, "plan.name: must not be empty"},
      {"no groups", [](RecoveryPlan& p) { p.groups.clear(); }, "no groups; add at least one"},
      {"empty group", [](RecoveryPlan& p) { p.groups[1].vms.clear(); },
       "plan 'plan-shop': group 2: no VMs; every group fails over at least one VM"},
      {"VM twice", [](RecoveryPlan& p) { p.groups[2].vms.push_back("db-2"); },
       "plan 'plan-shop': group 3: 'db-2' is already in group 1; a VM appears once per plan"},
      {"empty VM name", [](RecoveryPlan& p) { p.groups[0].vms.push_back(""); },
       "a VM name is empty"},
      {"unnamed script", [](RecoveryPlan& p) { p.groups[0].after[0].text.clear(); },
       "group 1: a script has no name"},
      {"silent manual action", [](RecoveryPlan& p) { p.groups[0].before[1].text.clear(); },
       "group 1: a manual action has no instruction"},
  };
  EXPECT_TRUE(three_tier().validate().is_ok());
  for (const Case& c : cases) {
    RecoveryPlan p = three_tier();
    c.mutate(p);
    Status s = p.validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.what << ": " << s.message();
    EXPECT_FALSE(RecoveryPlanRun::start(p, FailoverKind::kTest, kT0).is_ok()) << c.what;
  }
}

TEST(RecoveryPlan, VaultCheckKeepsConsistencyGroupsWholeInOnePlanGroup) {
  SiteRecoveryVault vault;
  const ReplicationTarget westus{TargetKind::kAzureRegion, "westus"};
  auto spec = [](const char* name) {
    return ProtectedItemSpec{.name = name, .location = "eastus", .os_disk = {"os", 100, 10}};
  };
  ASSERT_TRUE(vault.protect_group("grp-db", {spec("db-1"), spec("db-2")}, westus, {}, kT0).is_ok());
  for (const char* vm : {"app", "web-1", "web-2"}) {
    ASSERT_TRUE(vault.protect_vm(spec(vm), westus, {}, kT0).is_ok());
  }
  EXPECT_TRUE(check_recovery_plan(three_tier(), vault).is_ok());

  RecoveryPlan split = three_tier();
  split.groups[0].vms = {"db-1"};
  split.groups[1].vms.push_back("db-2");
  Status s = check_recovery_plan(split, vault);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("'db-2' is in group 2 but consistency group 'grp-db' is in group 1"),
            std::string::npos)
      << s.message();

  RecoveryPlan partial = three_tier();
  partial.groups[0].vms = {"db-1"};
  EXPECT_NE(check_recovery_plan(partial, vault).message().find("db-2 is missing from group 1"),
            std::string::npos);

  RecoveryPlan unknown = three_tier();
  unknown.groups[1].vms.push_back("ghost");
  EXPECT_EQ(check_recovery_plan(unknown, vault).code(), StatusCode::kNotFound);
}

// --- Execution ---

TEST(RecoveryPlanRun, GroupsRunInOrderWithHooksAroundParallelFailovers) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kUnplanned, kT0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(run(*r), (std::vector<std::string>{
                         "group 1: run script 'stop-writes' before the VMs",
                         "group 1: pause for manual action 'confirm the DBA is on call' before "
                         "the VMs",
                         "group 1: unplanned failover of [db-1, db-2] in parallel",
                         "group 1: run script 'check-replicas' after the VMs",
                         "group 2: unplanned failover of [app] in parallel",
                         "group 3: run script 'warm-cache' before the VMs",
                         "group 3: unplanned failover of [web-1, web-2] in parallel",
                     }));
  EXPECT_EQ(r->state(), PlanRunState::kSucceeded);
  EXPECT_EQ(r->ended_at(), kT0 + 7min);
  EXPECT_EQ(r->finished().size(), 7u);
  EXPECT_TRUE(r->error().empty());
  EXPECT_TRUE(r->take_ready(kT0 + 8min).empty());
}

TEST(RecoveryPlanRun, EveryActionCarriesTheFailoverKind) {
  for (FailoverKind kind :
       {FailoverKind::kTest, FailoverKind::kPlanned, FailoverKind::kUnplanned}) {
    auto r = RecoveryPlanRun::start(plan_of(1, 2), kind, kT0);
    ASSERT_TRUE(r.is_ok());
    auto ready = r->take_ready(kT0);
    ASSERT_EQ(ready.size(), 1u);
    EXPECT_EQ(ready[0].kind, PlanActionKind::kFailover);
    EXPECT_EQ(ready[0].failover, kind);
    EXPECT_EQ(ready[0].vms, (std::vector<std::string>{"vm-0-0", "vm-0-1"}));
    EXPECT_EQ(plan_action_text(ready[0]), std::string("group 1: ") + failover_kind_name(kind) +
                                              " of [vm-0-0, vm-0-1] in parallel");
  }
}

TEST(RecoveryPlanRun, NothingNewStartsWhileAStepIsOutstanding) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kTest, kT0);
  ASSERT_TRUE(r.is_ok());
  auto first = r->take_ready(kT0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(r->take_ready(kT0 + 1s).empty());
  ASSERT_TRUE(r->outstanding().has_value());
  EXPECT_EQ(r->outstanding()->id, first[0].id);
  ASSERT_TRUE(r->on_action_finished(first[0].id, ActionOutcome::kSucceeded, "", kT0 + 2s).is_ok());
  auto manual = r->take_ready(kT0 + 2s);
  ASSERT_EQ(manual.size(), 1u);
  EXPECT_EQ(manual[0].kind, PlanActionKind::kManualAction);
  EXPECT_TRUE(r->waiting_for_operator());
  EXPECT_TRUE(r->take_ready(kT0 + 1h).empty()) << "the pause holds the plan";
  ASSERT_TRUE(r->on_action_finished(manual[0].id, ActionOutcome::kSucceeded, "", kT0 + 1h).is_ok());
  EXPECT_FALSE(r->waiting_for_operator());
  EXPECT_FALSE(r->outstanding().has_value());
  EXPECT_EQ(r->finished()[1].started_at, kT0 + 2s);
  EXPECT_EQ(r->finished()[1].finished_at, kT0 + 1h);
}

TEST(RecoveryPlanRun, FailedGroupStopsTheRestOfThePlan) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kUnplanned, kT0);
  ASSERT_TRUE(r.is_ok());
  auto order = run(*r, "group 2: unplanned failover of [app] in parallel");
  EXPECT_EQ(order.size(), 5u);
  EXPECT_EQ(order.back(), "group 2: unplanned failover of [app] in parallel");
  EXPECT_EQ(r->state(), PlanRunState::kFailed);
  EXPECT_EQ(r->error(), "group 2: unplanned failover of [app] in parallel failed: VM did not boot");
  EXPECT_EQ(r->ended_at(), kT0 + 5min);
  EXPECT_EQ(r->finished().back().outcome, ActionOutcome::kFailed);
  EXPECT_TRUE(r->take_ready(kT0 + 1h).empty());
}

TEST(RecoveryPlanRun, FailedPreHookMeansTheGroupNeverFailsOver) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kPlanned, kT0);
  ASSERT_TRUE(r.is_ok());
  auto order = run(*r, "group 1: run script 'stop-writes' before the VMs");
  EXPECT_EQ(order, (std::vector<std::string>{"group 1: run script 'stop-writes' before the VMs"}));
  EXPECT_EQ(r->state(), PlanRunState::kFailed);
}

TEST(RecoveryPlanRun, OperatorCanFailAManualAction) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kTest, kT0);
  ASSERT_TRUE(r.is_ok());
  auto order = run(*r,
                   "group 1: pause for manual action 'confirm the DBA is on call' before the "
                   "VMs");
  EXPECT_EQ(order.size(), 2u);
  EXPECT_EQ(r->state(), PlanRunState::kFailed);
}

TEST(RecoveryPlanRun, ResultsForActionsNotOutstandingAreRefused) {
  auto r = RecoveryPlanRun::start(three_tier(), FailoverKind::kTest, kT0);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->on_action_finished(PlanActionId(1), ActionOutcome::kSucceeded, "", kT0).code(),
            StatusCode::kFailedPrecondition)
      << "not started yet";
  auto a = r->take_ready(kT0);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(r->on_action_finished(a[0].id, ActionOutcome::kFailed, "", kT0).code(),
            StatusCode::kInvalidArgument)
      << "a failure needs an error";
  ASSERT_TRUE(r->on_action_finished(a[0].id, ActionOutcome::kSucceeded, "", kT0).is_ok());
  EXPECT_EQ(r->on_action_finished(a[0].id, ActionOutcome::kSucceeded, "", kT0).code(),
            StatusCode::kFailedPrecondition)
      << "already finished";
  EXPECT_EQ(r->state(), PlanRunState::kRunning);
}

}  // namespace
}  // namespace drsim::model
