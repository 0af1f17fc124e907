// `drsim plan create | list | show | run | resume`: recovery plans in the vault
// (SiteRecovery.CreatePlan ... ResumePlan, common/region/recovery_plan_driver.h). Used by
// main.cc, the drill runner and the integration tests.
#pragma once

#include <string>
#include <vector>

#include "cli/site_recovery.h"

namespace drsim::cli {

struct PlanCreateOptions {
  std::string name;
  std::vector<std::string> groups;  // "vm-a,vm-b", one per group, in order
  std::vector<std::string> before;  // "N:script:CMD" or "N:manual:TEXT", in order
  std::vector<std::string> after;
  std::string script_timeout;  // "30s" ("" = 60 s)
};
Result<drsim::v1::RecoveryPlanSpec> build_plan_spec(const PlanCreateOptions& o);

Result<drsim::v1::PlanInfo> run_plan_create(const TopologyState& state,
                                            const drsim::v1::RecoveryPlanSpec& plan,
                                            std::vector<std::string>* lines);

struct PlanRunOptions {
  std::string name;
  std::string kind;  // test | planned | unplanned
  std::string point = "latest-processed";
  uint64_t point_id = 0;
  std::string reason;
  double wait_s = 300;  // wait until the run ends or suspends (0 = start and return)
};
// Starts the run and waits until it ends or suspends on a manual action. A test run that
// succeeded then starts an isolated copy per item (`test-failover-<item>`).
Result<drsim::v1::PlanInfo> run_plan(TopologyState& state, const PlanRunOptions& o,
                                     std::vector<std::string>* lines);
Result<drsim::v1::PlanInfo> run_plan_resume(TopologyState& state, const std::string& name,
                                            double wait_s, std::vector<std::string>* lines);
// The plan's groups and its last run, as `drsim plan show` prints them.
std::vector<std::string> describe_plan(const drsim::v1::PlanInfo& plan);

int cmd_plan_create(const std::string& home, const PlanCreateOptions& options,
                    bool as_json = false);
int cmd_plan_list(const std::string& home, bool as_json);
int cmd_plan_show(const std::string& home, const std::string& name, bool as_json);
int cmd_plan_run(const std::string& home, const PlanRunOptions& options, bool as_json = false);
int cmd_plan_resume(const std::string& home, const std::string& name, double wait_s,
                    bool as_json = false);

}  // namespace drsim::cli
