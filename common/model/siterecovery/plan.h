// Recovery plans (facts.md, Site Recovery): up to 100 VMs in up to 7 ordered groups. Groups run
// in order, the VMs of a group fail over in parallel, and scripts and manual-action pauses may
// run before or after a group. RecoveryPlanRun is the pure executor of one plan run: it yields
// the actions to start, takes their outcomes and ends Succeeded or Failed; the driver runs the
// scripts, shows manual actions to the operator and fails the VMs over.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/core/ids.h"
#include "common/core/status.h"
#include "common/core/time.h"

namespace drsim::model {

class SiteRecoveryVault;

inline constexpr size_t kMaxRecoveryPlanGroups = 7;
inline constexpr size_t kMaxRecoveryPlanVms = 100;

enum class PlanHookKind { kScript, kManualAction };

struct PlanHook {
  PlanHookKind kind = PlanHookKind::kScript;
  std::string text;  // the script to run, or the instruction shown to the operator
};

struct RecoveryPlanGroup {
  std::vector<std::string> vms;  // fail over in parallel
  std::vector<PlanHook> before;  // run one after the other, before the VMs
  std::vector<PlanHook> after;   // run one after the other, after every VM succeeded
};

struct RecoveryPlan {
  std::string name;
  std::vector<RecoveryPlanGroup> groups;  // group 1 first

  size_t vm_count() const;
  // INVALID_ARGUMENT "plan '<name>' …": 1..7 groups, each with at least one VM, 100 VMs at
  // most, every VM once, every hook with a text.
  Status validate() const;
};

// Against a vault: every VM is protected there, and the VMs of a consistency group are all in
// the same plan group (they fail over together). INVALID_ARGUMENT / NOT_FOUND.
Status check_recovery_plan(const RecoveryPlan& plan, const SiteRecoveryVault& vault);

enum class FailoverKind { kTest, kPlanned, kUnplanned };
const char* failover_kind_name(FailoverKind kind);  // "test failover", ...

using PlanActionId = StrongId<struct PlanActionIdTag>;
enum class PlanActionKind { kRunScript, kManualAction, kFailover };
enum class PlanHookPhase { kBeforeGroup, kAfterGroup, kGroupVms };

struct PlanAction {
  PlanActionId id = {};
  PlanActionKind kind = PlanActionKind::kFailover;
  size_t group = 0;  // 1-based, as the portal numbers plan groups
  PlanHookPhase phase = PlanHookPhase::kGroupVms;
  std::string text = {};              // script or manual-action instruction
  std::vector<std::string> vms = {};  // kFailover: the VMs to fail over in parallel
  FailoverKind failover = FailoverKind::kTest;
};
// "group 2: run script 'stop-app' before the VMs", "group 1: test failover of [vm-a, vm-b]".
std::string plan_action_text(const PlanAction& action);

enum class ActionOutcome { kSucceeded, kFailed };
enum class PlanRunState { kRunning, kSucceeded, kFailed };
const char* plan_run_state_name(PlanRunState s);

struct FinishedPlanAction {
  PlanAction action;
  ActionOutcome outcome = ActionOutcome::kSucceeded;
  std::string error;
  Time started_at = kTimeZero;
  Time finished_at = kTimeZero;
};

class RecoveryPlanRun {
 public:
  // Refuses an invalid plan (RecoveryPlan::validate).
  static Result<RecoveryPlanRun> start(RecoveryPlan plan, FailoverKind kind, Time now);

  // The actions to start now, each returned once: the next step (one hook, or one failover of
  // a whole group's VMs) when the previous one has finished, else nothing. Empty once the run
  // ended.
  std::vector<PlanAction> take_ready(Time now);
  // The outstanding action finished. A failure ends the run Failed at once: nothing after it
  // starts (no later hook, no later group). A manual action the operator resumes is
  // kSucceeded. FAILED_PRECONDITION for an action that is not outstanding; INVALID_ARGUMENT for
  // a failure without an error.
  Status on_action_finished(PlanActionId id, ActionOutcome outcome, std::string error, Time now);

  PlanRunState state() const { return state_; }
  bool waiting_for_operator() const;  // a manual action is outstanding (job Suspended)
  const std::string& error() const { return error_; }  // why it failed
  const std::optional<PlanAction>& outstanding() const { return outstanding_; }
  const std::vector<FinishedPlanAction>& finished() const { return finished_; }
  const RecoveryPlan& plan() const { return plan_; }
  FailoverKind kind() const { return kind_; }
  Time started_at() const { return started_at_; }
  std::optional<Time> ended_at() const { return ended_at_; }

 private:
  RecoveryPlanRun(RecoveryPlan plan, FailoverKind kind, Time now);

  RecoveryPlan plan_;
  FailoverKind kind_;
  std::vector<PlanAction> steps_;  // every step in run order (ids assigned when taken)
  size_t next_step_ = 0;
  PlanActionId last_id_{0};
  // Steps run one at a time, so at most one action is outstanding.
  std::optional<PlanAction> outstanding_;
  Time outstanding_since_ = kTimeZero;
  std::vector<FinishedPlanAction> finished_;
  PlanRunState state_ = PlanRunState::kRunning;
  std::string error_;
  Time started_at_;
  std::optional<Time> ended_at_;
};

}  // namespace drsim::model
