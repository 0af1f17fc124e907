#include "common/model/siterecovery/plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include "common/model/siterecovery/vault.h"

namespace drsim::model {

size_t RecoveryPlan::vm_count() const {
  size_t n = 0;
  for (const auto& g : groups) n += g.vms.size();
  return n;
}

Status RecoveryPlan::validate() const {
  if (name.empty()) return invalid_argument("plan.name: must not be empty");
  const std::string where = "plan '" + name + "': ";
  if (groups.empty()) return invalid_argument(where + "no groups; add at least one");
  if (groups.size() > kMaxRecoveryPlanGroups) {
    return invalid_argument(where + std::to_string(groups.size()) +
                            " groups exceed the limit of 7; merge groups (the VMs of one group "
                            "fail over in parallel)");
  }
  if (vm_count() > kMaxRecoveryPlanVms) {
    return invalid_argument(where + std::to_string(vm_count()) +
                            " VMs exceed the limit of 100 per recovery plan; split it into "
                            "several plans");
  }
  std::map<std::string, size_t> seen;  // VM → group number
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string group = where + "group " + std::to_string(g + 1) + ": ";
    if (groups[g].vms.empty()) {
      return invalid_argument(group + "no VMs; every group fails over at least one VM");
    }
    for (const std::string& vm : groups[g].vms) {
      if (vm.empty()) return invalid_argument(group + "a VM name is empty");
      auto [it, inserted] = seen.emplace(vm, g + 1);
      if (!inserted) {
        return invalid_argument(group + "'" + vm + "' is already in group " +
                                std::to_string(it->second) + "; a VM appears once per plan");
      }
    }
    for (const auto* hooks : {&groups[g].before, &groups[g].after}) {
      for (const PlanHook& h : *hooks) {
        if (h.text.empty()) {
          return invalid_argument(group + (h.kind == PlanHookKind::kScript
                                               ? "a script has no name"
                                               : "a manual action has no instruction"));
        }
      }
    }
  }
  return Status::ok();
}

Status check_recovery_plan(const RecoveryPlan& plan, const SiteRecoveryVault& vault) {
  if (Status s = plan.validate(); !s.is_ok()) return s;
  const std::string where = "plan '" + plan.name + "': ";
  std::map<std::string, size_t> plan_group_of;  // consistency group → plan group
  for (size_t g = 0; g < plan.groups.size(); ++g) {
    for (const std::string& vm : plan.groups[g].vms) {
      if (vault.vm(vm) == nullptr) {
        return not_found(where + "VM '" + vm + "' is not protected in the vault");
      }
      auto cg = vault.group_of(vm);
      if (!cg) continue;
      auto [it, inserted] = plan_group_of.emplace(*cg, g + 1);
      if (!inserted && it->second != g + 1) {
        return invalid_argument(where + "'" + vm + "' is in group " + std::to_string(g + 1) +
                                " but consistency group '" + *cg + "' is in group " +
                                std::to_string(it->second) +
                                "; its VMs fail over together, so put them in one group");
      }
    }
  }
  for (const auto& [cg, g] : plan_group_of) {
    for (const std::string& member : vault.find(cg)->members()) {
      const auto& vms = plan.groups[g - 1].vms;
      if (std::find(vms.begin(), vms.end(), member) == vms.end()) {
        return invalid_argument(where + "consistency group '" + cg + "' fails over whole, but " +
                                member + " is missing from group " + std::to_string(g));
      }
    }
  }
  return Status::ok();
}

const char* failover_kind_name(FailoverKind kind) {
  switch (kind) {
    case FailoverKind::kTest:
      return "test failover";
    case FailoverKind::kPlanned:
      return "planned failover";
    case FailoverKind::kUnplanned:
      return "unplanned failover";
  }
  return "failover";
}

std::string plan_action_text(const PlanAction& a) {
  std::string out = "group " + std::to_string(a.group) + ": ";
  const char* when = a.phase == PlanHookPhase::kBeforeGroup ? " before the VMs" : " after the VMs";
  switch (a.kind) {
    case PlanActionKind::kRunScript:
      return out + "run script '" + a.text + "'" + when;
    case PlanActionKind::kManualAction:
      return out + "pause for manual action '" + a.text + "'" + when;
    case PlanActionKind::kFailover: {
      out += std::string(failover_kind_name(a.failover)) + " of [";
      for (size_t i = 0; i < a.vms.size(); ++i) out += (i ? ", " : "") + a.vms[i];
      return out + "] in parallel";
    }
  }
  return out;
}

const char* plan_run_state_name(PlanRunState s) {
  switch (s) {
    case PlanRunState::kRunning:
      return "Running";
    case PlanRunState::kSucceeded:
      return "Succeeded";
    case PlanRunState::kFailed:
      return "Failed";
  }
  return "Unknown";
}

Result<RecoveryPlanRun> RecoveryPlanRun::start(RecoveryPlan plan, FailoverKind kind, Time now) {
  if (Status s = plan.validate(); !s.is_ok()) return s;
  return RecoveryPlanRun(std::move(plan), kind, now);
}

RecoveryPlanRun::RecoveryPlanRun(RecoveryPlan plan, FailoverKind kind, Time now)
    : plan_(std::move(plan)), kind_(kind), started_at_(now) {
  auto hook_steps = [&](size_t group, const std::vector<PlanHook>& hooks, PlanHookPhase phase) {
    for (const PlanHook& h : hooks) {
      steps_.push_back(PlanAction{.kind = h.kind == PlanHookKind::kScript
                                              ? PlanActionKind::kRunScript
                                              : PlanActionKind::kManualAction,
                                  .group = group,
                                  .phase = phase,
                                  .text = h.text,
                                  .failover = kind_});
    }
  };
  for (size_t g = 0; g < plan_.groups.size(); ++g) {
    const RecoveryPlanGroup& group = plan_.groups[g];
    hook_steps(g + 1, group.before, PlanHookPhase::kBeforeGroup);
    steps_.push_back(PlanAction{.kind = PlanActionKind::kFailover,
                                .group = g + 1,
                                .phase = PlanHookPhase::kGroupVms,
                                .vms = group.vms,
                                .failover = kind_});
    hook_steps(g + 1, group.after, PlanHookPhase::kAfterGroup);
  }
}

std::vector<PlanAction> RecoveryPlanRun::take_ready(Time now) {
  if (state_ != PlanRunState::kRunning || outstanding_ || next_step_ == steps_.size()) return {};
  PlanAction action = steps_[next_step_++];
  last_id_ = last_id_.next();
  action.id = last_id_;
  outstanding_ = action;
  outstanding_since_ = now;
  return {action};
}

Status RecoveryPlanRun::on_action_finished(PlanActionId id, ActionOutcome outcome,
                                           std::string error, Time now) {
  if (!outstanding_ || outstanding_->id != id) {
    return failed_precondition("plan '" + plan_.name + "': action " + std::to_string(id.value()) +
                               " is not outstanding (never started, or already finished)");
  }
  if (outcome == ActionOutcome::kFailed && error.empty()) {
    return invalid_argument("plan '" + plan_.name + "': a failed action needs an error");
  }
  if (outcome == ActionOutcome::kFailed) {
    error_ = plan_action_text(*outstanding_) + " failed: " + error;
    state_ = PlanRunState::kFailed;
  } else if (next_step_ == steps_.size()) {
    state_ = PlanRunState::kSucceeded;
  }
  if (state_ != PlanRunState::kRunning) ended_at_ = now;
  finished_.push_back(FinishedPlanAction{.action = std::move(*outstanding_),
                                         .outcome = outcome,
                                         .error = std::move(error),
                                         .started_at = outstanding_since_,
                                         .finished_at = now});
  outstanding_.reset();
  return Status::ok();
}

bool RecoveryPlanRun::waiting_for_operator() const {
  return outstanding_ && outstanding_->kind == PlanActionKind::kManualAction;
}

}  // namespace drsim::model
