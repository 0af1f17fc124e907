// Recovery plans of one vault: glues model::RecoveryPlanRun (the pure executor: ordered groups,
// hooks, manual actions) to the vault's failovers, a shell for scripts and the region's client
// API. A plan run is a job of the vault; it is Suspended while a manual action waits for
// `ResumePlan`.
//
// drsim promotes a region as a whole, so a planned or unplanned plan run promotes the region
// (every item of the plan, to its chosen point) when group 1's failover action runs, and holds
// the workloads of later groups: the new active region refuses client ops on them (UNAVAILABLE
// naming the group they wait for) until their group's failover action runs. A test run makes
// the isolated copies group by group. Scripts run in this daemon (the vault's region, as Azure
// runs plan scripts in the target) under /bin/sh -c with a timeout; their exit code decides.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/core/scheduler.h"
#include "common/model/siterecovery/job.h"
#include "common/model/siterecovery/plan.h"
#include "drsim/v1/siterecovery.pb.h"

namespace drsim::region {

class SiteRecoveryDriver;

inline constexpr std::chrono::milliseconds kDefaultScriptTimeout{60'000};
// Under the vault's points directory: the scripts' logs and working directory.
inline constexpr char kPlanRunsDir[] = "plan-runs";
inline constexpr std::chrono::milliseconds kMaxScriptTimeout{3'600'000};

class RecoveryPlanDriver {
 public:
  // `runs_dir` receives each script's output (<plan>-job<id>-action<id>.log). `scheduler` is
  // the process's; plan times come from the vault's clocks.
  RecoveryPlanDriver(SiteRecoveryDriver& vault, Scheduler& scheduler, std::string runs_dir);
  ~RecoveryPlanDriver();

  Status load();  // the plans recorded in the region's store
  void stop();    // kills running scripts

  Result<drsim::v1::PlanInfo> create(const drsim::v1::CreatePlanRequest& req);
  drsim::v1::ListPlansResponse list() const;
  Result<drsim::v1::PlanInfo> get(const std::string& plan) const;
  // Starts a run and answers at once (the run goes on; poll GetPlan).
  Result<drsim::v1::PlanInfo> run(const drsim::v1::RunPlanRequest& req);
  Result<drsim::v1::PlanInfo> resume(const std::string& plan);

 private:
  struct Script;
  struct Run {
    model::RecoveryPlanRun executor;
    model::JobId job;
    drsim::v1::RunPlanRequest request;
    drsim::v1::PlanRunInfo info;              // actions logged as they go
    std::map<uint64_t, int> action_index;     // action id → info.actions index
    std::map<std::string, std::string> held;  // workload → plan group text
  };
  struct Plan {
    drsim::v1::RecoveryPlanSpec spec;
    model::RecoveryPlan model;
    std::optional<Run> run;
  };

  // The model plan of `spec`: consistency groups named in a plan group become their VMs.
  Result<model::RecoveryPlan> to_model(const drsim::v1::RecoveryPlanSpec& spec) const;
  drsim::v1::PlanInfo info(const Plan& plan) const;
  void advance(const std::string& plan);
  void start_action(const std::string& plan, const model::PlanAction& action);
  void finish_action(const std::string& plan, model::PlanActionId id, model::ActionOutcome outcome,
                     std::string error);
  void start_script(const std::string& plan, const model::PlanAction& action);
  void poll_script(uint64_t key);
  void start_failover(const std::string& plan, const model::PlanAction& action);
  // Group 1's region failover answered (`failover`: an unplanned one's report).
  void group_one_done(const std::string& plan, model::PlanActionId id, const Status& result,
                      const drsim::v1::UnplannedFailoverResponse* failover);
  // Protection scopes (single VMs or consistency groups) of `vms`, each once.
  std::vector<std::string> scopes_of(const std::vector<std::string>& vms) const;
  std::vector<std::string> members_of(const std::string& scope) const;

  SiteRecoveryDriver& vault_;
  const std::string runs_dir_;
  Scheduler& scheduler_;
  std::map<std::string, Plan> plans_;
  std::map<uint64_t, std::unique_ptr<Script>> scripts_;  // running, by key
  uint64_t next_script_ = 1;
  bool stopped_ = false;
};

}  // namespace drsim::region
