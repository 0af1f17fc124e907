// Recovery plans, multi-VM consistency groups and change recovery point with real processes:
// a plan run's groups in order (scripts append timestamped lines to a file), a manual action
// suspending the job until resume, a failing script failing the run with later groups not
// started (their workloads refused by the new active region), consistency-group points holding
// every member from one checkpoint, and a change of recovery point whose data equals the second
// point's and whose lost writes (history checker) match the report.
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/final_state.h"
#include "cli/plan_commands.h"
#include "cli/protection.h"
#include "cli/recovery_commands.h"
#include "cli/rpc_clients.h"
#include "cli/site_recovery.h"
#include "common/model/drill/history_checker.h"
#include "common/net/grpc_util.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

// time_scale 30: a crash-consistent point every 10 s of real time. No fault proxy: an injected
// outage leaves the primary's admin API reachable.
constexpr char kThreeVms[] = R"(
workloads:
  - { name: vm-a, mode: async }
  - { name: vm-b, mode: async }
  - { name: vm-c, mode: async }
site_recovery: { time_scale: 30 }
fault_proxy: { enabled: false }
)";

constexpr char kOneVm[] = R"(
workloads:
  - { name: vm-web, mode: async }
site_recovery: { time_scale: 30 }
fault_proxy: { enabled: false }
)";

grpc::Status put(drsim::v1::Workload::Stub& stub, const std::string& workload,
                 const std::string& key, std::vector<model::OpRecord>* history = nullptr) {
  return recorded_put(stub, workload, key, "value-of-" + key, history);
}

void put_keys(drsim::v1::Workload::Stub& stub, const std::string& workload,
              const std::string& prefix, int first, int n,
              std::vector<model::OpRecord>* history = nullptr) {
  for (int k = first; k < first + n; ++k) {
    grpc::Status s = put(stub, workload, prefix + std::to_string(k), history);
    ASSERT_TRUE(s.ok()) << workload << ": " << s.error_message();
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string job_state(const std::string& vault, uint64_t id) {
  auto jobs = cli::sr_jobs(vault);
  if (!jobs.is_ok()) return "";
  for (const auto& j : jobs->jobs()) {
    if (j.id() == id) return j.state();
  }
  return "";
}

// "GROUP PHASE KIND NANOS" appended to `file` by a plan script.
std::string stamp_script(const std::string& file, const std::string& tag) {
  return "echo \"" + tag + " $DRSIM_GROUP $DRSIM_PHASE $DRSIM_FAILOVER_KIND $DRSIM_PLAN $(date " +
         "+%s%N)\" >> " + file;
}

// Runs plan `name` as `kind` and waits until it settles, printing what the CLI prints.
Result<drsim::v1::PlanInfo> run_plan(TestTopology& topo, const std::string& name,
                                     const std::string& kind) {
  cli::PlanRunOptions run;
  run.name = name;
  run.kind = kind;
  run.wait_s = 60;
  std::vector<std::string> lines;
  auto r = cli::run_plan(topo.state(), run, &lines);
  for (const auto& l : lines) std::cout << "[plan " << name << "] " << l << "\n";
  return r;
}

TEST(RecoveryPlan, UnplannedRunGoesGroupByGroupAndAManualActionSuspendsUntilResume) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"})
    ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, vm));
  auto primary = topo.workload_stub("primary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"}) put_keys(*primary, vm, "k", 0, 10);

  const std::string file = topo.home() + "/plan-order.txt";
  cli::PlanCreateOptions o;
  o.name = "web-app";
  o.groups = {"vm-a", "vm-b,vm-c"};
  o.before = {"1:script:" + stamp_script(file, "db-before"),
              "2:script:" + stamp_script(file, "app-before")};
  o.after = {"1:manual:check the database answers", "2:script:" + stamp_script(file, "app-after")};
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));

  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-c") == 10; }, 10s));
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());
  auto suspended = run_plan(topo, "web-app", "unplanned");
  ASSERT_TRUE(suspended.is_ok()) << suspended.status().message();
  ASSERT_EQ(suspended->run().state(), "Suspended");
  EXPECT_EQ(suspended->run().waiting_for(), "check the database answers");
  EXPECT_EQ(job_state(vault, suspended->run().job_id()), "Suspended");
  // Group 1 ran; the region was promoted with it, group 2's workloads are not started yet.
  EXPECT_EQ(read_lines(file).size(), 1u);
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);
  auto secondary = topo.workload_stub("secondary");
  EXPECT_TRUE(put(*secondary, "vm-a", "after-group-1").ok());
  grpc::Status held = put(*secondary, "vm-b", "too-early");
  std::cout << "[held] " << held.error_message() << "\n";
  EXPECT_EQ(held.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(held.error_message().find("group 2"), std::string::npos) << held.error_message();
  EXPECT_EQ(suspended->run().not_started_size(), 2);
  // Still suspended a while later: nothing moves without the operator.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(read_lines(file).size(), 1u);

  std::vector<std::string> resume_lines;
  auto done = cli::run_plan_resume(topo.state(), "web-app", 60, &resume_lines);
  for (const auto& l : resume_lines) std::cout << "[resume] " << l << "\n";
  ASSERT_TRUE(done.is_ok()) << done.status().message();
  EXPECT_EQ(done->run().state(), "Succeeded");
  EXPECT_EQ(job_state(vault, done->run().job_id()), "Succeeded");
  EXPECT_EQ(done->run().not_started_size(), 0);
  EXPECT_TRUE(put(*secondary, "vm-b", "after-group-2").ok());

  // The scripts ran in plan order, each with its place in the plan in its environment.
  auto order = read_lines(file);
  ASSERT_EQ(order.size(), 3u);
  std::vector<std::string> tags;
  std::vector<uint64_t> stamps;
  for (const auto& l : order) {
    std::istringstream in(l);
    std::string tag, group, phase, kind, plan;
    uint64_t nanos = 0;
    in >> tag >> group >> phase >> kind >> plan >> nanos;
    tags.push_back(tag + " " + group + " " + phase + " " + kind + " " + plan);
    stamps.push_back(nanos);
  }
  EXPECT_EQ(tags, (std::vector<std::string>{"db-before 1 before unplanned web-app",
                                            "app-before 2 before unplanned web-app",
                                            "app-after 2 after unplanned web-app"}));
  EXPECT_LT(stamps[0], stamps[1]);
  EXPECT_LT(stamps[1], stamps[2]);
  // Every action is logged with its times, in run order.
  const auto& actions = done->run().actions();
  ASSERT_EQ(actions.size(), 6);
  for (int i = 0; i < actions.size(); ++i) {
    EXPECT_EQ(actions[i].state(), "Succeeded") << actions[i].text();
    EXPECT_GE(actions[i].finished_unix_nanos(), actions[i].started_unix_nanos());
    if (i > 0) {
      EXPECT_GE(actions[i].started_unix_nanos(), actions[i - 1].finished_unix_nanos());
    }
  }
  // The manual action lasted as long as the operator took.
  EXPECT_GE(actions[2].finished_unix_nanos() - actions[2].started_unix_nanos(), 300'000'000);
  EXPECT_EQ(sr_item_state(vault, "vm-b"), "FailedOver");
}

TEST(RecoveryPlan, AFailingScriptFailsTheRunAndLaterGroupsDoNotStart) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"})
    ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, vm));
  const std::string file = topo.home() + "/plan-order.txt";
  cli::PlanCreateOptions o;
  o.name = "breaks";
  o.groups = {"vm-a", "vm-b,vm-c"};
  o.after = {"1:script:echo checking the database; exit 3"};
  o.before = {"2:script:" + stamp_script(file, "app-before")};
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());

  auto failed = run_plan(topo, "breaks", "unplanned");
  ASSERT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("exited with code 3"), std::string::npos)
      << failed.status().message();
  auto plan = cli::sr_get_plan(vault, "breaks");
  ASSERT_TRUE(plan.is_ok());
  EXPECT_EQ(plan->run().state(), "Failed");
  EXPECT_EQ(job_state(vault, plan->run().job_id()), "Failed");
  ASSERT_EQ(plan->run().actions_size(), 2) << "nothing after the failing script starts";
  EXPECT_NE(plan->run().actions(1).output().find("checking the database"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(file)) << "group 2's script ran after a failure";
  auto secondary = topo.workload_stub("secondary");
  EXPECT_TRUE(put(*secondary, "vm-a", "group-1-runs").ok());
  EXPECT_EQ(put(*secondary, "vm-c", "never-started").error_code(), grpc::StatusCode::UNAVAILABLE);

  // A second run while the region is already failed over is refused with the reason.
  auto again = run_plan(topo, "breaks", "unplanned");
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);

  // The operator fixed what failed and starts the rest by hand.
  std::vector<std::string> resume_lines;
  auto resumed = cli::run_plan_resume(topo.state(), "breaks", 10, &resume_lines);
  ASSERT_TRUE(resumed.is_ok()) << resumed.status().message();
  EXPECT_TRUE(put(*secondary, "vm-c", "started-by-hand").ok());
}

TEST(RecoveryPlan, TestRunBringsUpIsolatedCopiesGroupByGroupAndAScriptPastItsTimeoutIsKilled) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"})
    ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, vm));
  cli::PlanCreateOptions o;
  o.name = "drill";
  o.groups = {"vm-a", "vm-b,vm-c"};
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));
  auto r = run_plan(topo, "drill", "test");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->run().copies_size(), 3);
  EXPECT_EQ(r->run().copies(0).item(), "vm-a");
  EXPECT_EQ(r->run().copies(0).group(), 1u);
  EXPECT_EQ(r->run().copies(1).group(), 2u);
  for (const char* vm : {"vm-a", "vm-b", "vm-c"}) {
    EXPECT_EQ(sr_item_state(vault, vm), "TestFailoverCleanupPending") << vm;
    std::string process = std::string(cli::kTestFailoverProcess) + "-" + vm;
    ASSERT_EQ(topo.state().processes.count(process), 1u) << process;
    EXPECT_TRUE(cli::process_alive(topo.state().at(process).pid));
  }
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
  std::vector<std::string> cleanup;
  ASSERT_TRUE(cli::run_test_cleanup(topo.state(), &cleanup).is_ok());
  for (const char* vm : {"vm-a", "vm-b", "vm-c"}) EXPECT_EQ(sr_item_state(vault, vm), "Protected");

  // A script past its timeout is killed and fails the run.
  cli::PlanCreateOptions slow;
  slow.name = "slow";
  slow.groups = {"vm-a,vm-b,vm-c"};
  slow.before = {"1:script:sleep 30"};
  slow.script_timeout = "300ms";
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, slow));
  auto start = std::chrono::steady_clock::now();
  auto timed_out = run_plan(topo, "slow", "test");
  ASSERT_FALSE(timed_out.is_ok());
  EXPECT_NE(timed_out.status().message().find("timed out after 300 ms"), std::string::npos)
      << timed_out.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(sr_item_state(vault, "vm-a"), "Protected") << "no group failed over";
}

TEST(RecoveryPlan, PlansAreRefusedWithReasons) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-a"));
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-b"));
  std::vector<std::string> lines;
  auto make = [&](cli::PlanCreateOptions o) {
    auto spec = cli::build_plan_spec(o);
    if (!spec.is_ok()) return spec.status();
    return cli::run_plan_create(topo.state(), *spec, &lines).status();
  };
  cli::PlanCreateOptions unknown;
  unknown.name = "unknown";
  unknown.groups = {"vm-a", "vm-nope"};
  EXPECT_EQ(make(unknown).code(), StatusCode::kNotFound);
  cli::PlanCreateOptions eight;
  eight.name = "eight";
  eight.groups = {"vm-a", "vm-b", "vm-a", "vm-b", "vm-a", "vm-b", "vm-a", "vm-b"};
  EXPECT_EQ(make(eight).code(), StatusCode::kInvalidArgument);
  cli::PlanCreateOptions hook;
  hook.name = "hook";
  hook.groups = {"vm-a"};
  hook.before = {"2:script:true"};
  EXPECT_EQ(make(hook).code(), StatusCode::kInvalidArgument);
  // vm-c is protected after the plan was made: an unplanned run would move it too. The plan is
  // made as a user makes it, `drsim plan create --json`: one JSON document, created or refused.
  const std::vector<std::string> create_partial = {"plan",    "create", "partial", "--group",
                                                   "vm-a",    "--group", "vm-b",   "--json",
                                                   "--home", topo.home()};
  auto created = run_binary("drsim", create_partial, 30s);
  ASSERT_EQ(created.exit_code, 0) << created.output;
  auto j = parse_json_output(created);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["response"]["plan"]["name"], "partial") << created.output;
  ASSERT_EQ(j["response"]["plan"]["groups"].size(), 2u) << created.output;
  EXPECT_EQ(j["response"]["plan"]["groups"][1]["items"][0], "vm-b") << created.output;
  auto again = run_binary("drsim", create_partial, 30s);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  j = parse_json_output(again);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["code"], "ALREADY_EXISTS") << again.output;
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-c"));
  cli::PlanRunOptions run;
  run.name = "partial";
  run.kind = "unplanned";
  auto refused = cli::run_plan(topo.state(), run, &lines);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("vm-c"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
  run.kind = "planned";
  EXPECT_EQ(cli::run_plan(topo.state(), run, &lines).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(RecoveryPlan, PlannedRunDrainsReplicationFirstAndLosesNothing) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"})
    ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, vm));
  std::vector<model::OpRecord> history;
  auto primary = topo.workload_stub("primary");
  for (const char* vm : {"vm-a", "vm-b", "vm-c"}) put_keys(*primary, vm, "k", 0, 40, &history);
  cli::PlanCreateOptions o;
  o.name = "move";
  o.groups = {"vm-a", "vm-b,vm-c"};
  o.before = {"2:script:test \"$DRSIM_FAILOVER_KIND\" = planned"};
  ASSERT_NO_FATAL_FAILURE(create_recovery_plan(topo, o));
  auto r = run_plan(topo, "move", "planned");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->run().state(), "Succeeded");
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);
  for (const char* vm : {"vm-a", "vm-b", "vm-c"}) EXPECT_EQ(sr_item_state(vault, vm), "FailedOver");
  // Zero loss: every write the primary acknowledged is in the new active region.
  auto final_state = cli::read_final_state(vault, {"vm-a", "vm-b", "vm-c"});
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  EXPECT_EQ(model::check_history(history, *final_state).lost_count, 0u);
  EXPECT_EQ(final_state->size(), 120u);
  std::vector<std::string> commit_lines;
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &commit_lines).is_ok());
}

TEST(ConsistencyGroup, PointsHoldEveryMemberFromOneCheckpointAndMembersMoveOnlyTogether) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  std::vector<std::string> lines;
  cli::ProtectOptions spec;
  auto one = cli::run_protect_group(topo.state(), "app", {"vm-a"}, spec, &lines);
  EXPECT_EQ(one.status().code(), StatusCode::kInvalidArgument);
  auto group = cli::run_protect_group(topo.state(), "app", {"vm-a", "vm-b"}, spec, &lines);
  ASSERT_TRUE(group.is_ok()) << group.status().message();
  ASSERT_TRUE(wait_until([&] { return sr_item_state(vault, "app") == "Protected"; }, 30s));
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-c"));
  // vm-a is taken by the group.
  cli::ProtectOptions again;
  again.item = "vm-a";
  EXPECT_FALSE(cli::sr_protect(vault, *cli::build_protect_request(again)).is_ok());

  auto primary = topo.workload_stub("primary");
  put_keys(*primary, "vm-a", "a", 0, 70);
  put_keys(*primary, "vm-b", "b", 0, 30);
  // A point of the group holding both members' writes.
  drsim::v1::ReplicationPointInfo point;
  ASSERT_TRUE(wait_until(
      [&] {
        auto pts = cli::sr_points(vault, "app");
        if (!pts.is_ok() || pts->items_size() != 1) return false;
        for (const auto& p : pts->items(0).points()) {
          if (p.seqs().count("vm-a") && p.seqs().at("vm-a") == 70 && p.seqs().count("vm-b") &&
              p.seqs().at("vm-b") == 30) {
            point = p;
            return true;
          }
        }
        return false;
      },
      30s))
      << "no group point holding vm-a at 70 and vm-b at 30";
  EXPECT_EQ(point.seqs().size(), 2u) << "the group's point lists its members only";
  EXPECT_GT(point.data_bytes(), 0u);

  // A member alone cannot fail over, nor take a custom point as a group.
  cli::TestFailoverOptions member;
  member.item = "vm-a";
  auto single = cli::run_test_failover(topo.state(), member, &lines);
  ASSERT_FALSE(single.is_ok());
  EXPECT_EQ(single.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(single.status().message().find("app"), std::string::npos) << single.status().message();
  cli::PointFailoverOptions unplanned_member;
  unplanned_member.items = {"vm-a", "vm-c"};
  EXPECT_EQ(cli::run_point_failover(topo.state(), unplanned_member, &lines).status().code(),
            StatusCode::kFailedPrecondition);

  // The group's test failover copy holds both members at the point's seqs (one checkpoint).
  put_keys(*primary, "vm-a", "a", 70, 5);  // past the point: not in the copy
  cli::TestFailoverOptions whole;
  whole.item = "app";
  whole.point = "custom";
  whole.point_id = point.id();
  auto custom = cli::run_test_failover(topo.state(), whole, &lines);
  EXPECT_EQ(custom.status().code(), StatusCode::kFailedPrecondition)
      << "a custom point is for single VMs";
  whole.point = "latest-multi-vm-processed";
  whole.point_id = 0;
  auto test = cli::run_test_failover(topo.state(), whole, &lines);
  ASSERT_TRUE(test.is_ok()) << test.status().message();
  const auto& tp = test->point();
  auto copy =
      cli::read_final_state(topo.state().at(cli::kTestFailoverProcess).address, {"vm-a", "vm-b"});
  ASSERT_TRUE(copy.is_ok()) << copy.status().message();
  size_t a = 0, b = 0;
  for (const auto& [key, value] : *copy) (key.first == "vm-a" ? a : b)++;
  EXPECT_EQ(a, tp.seqs().at("vm-a"));
  EXPECT_EQ(b, tp.seqs().at("vm-b"));
  ASSERT_TRUE(cli::run_test_cleanup(topo.state(), &lines).is_ok());

  // Both move together with the multi-VM choice.
  cli::PointFailoverOptions fo;
  fo.point = "latest-multi-vm-processed";
  fo.items = {"app", "vm-c"};
  auto vm_choice = cli::run_point_failover(topo.state(), fo, &lines);
  EXPECT_EQ(vm_choice.status().code(), StatusCode::kFailedPrecondition)
      << "vm-c replicates alone: no multi-VM point";
}

// The group's points listed by `vault` (empty when it lists none).
std::vector<drsim::v1::ReplicationPointInfo> group_points(const std::string& vault,
                                                          const std::string& group) {
  auto pts = cli::sr_points(vault, group);
  if (!pts.is_ok() || pts->items_size() != 1) return {};
  return {pts->items(0).points().begin(), pts->items(0).points().end()};
}

// The group's newest point holding exactly `seqs`, if `vault` lists one.
std::optional<drsim::v1::ReplicationPointInfo> group_point_at(
    const std::string& vault, const std::string& group,
    const std::map<std::string, uint64_t>& seqs) {
  std::optional<drsim::v1::ReplicationPointInfo> found;
  for (const auto& p : group_points(vault, group)) {
    if (std::map<std::string, uint64_t>(p.seqs().begin(), p.seqs().end()) == seqs) found = p;
  }
  return found;
}

// Protects vm-a and vm-b as the consistency group "app" and waits until it is Protected.
void protect_app_group(TestTopology& topo) {
  std::vector<std::string> lines;
  auto group = cli::run_protect_group(topo.state(), "app", {"vm-a", "vm-b"}, {}, &lines);
  ASSERT_TRUE(group.is_ok()) << group.status().message();
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("secondary"), "app") == "Protected"; }, 30s))
      << "the group did not finish initial replication";
}

TEST(ConsistencyGroup, PointsAndStateSurviveASigkillAndAPreRestartPointFailsOverEveryMember) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_app_group(topo));
  auto primary = topo.workload_stub("primary");
  put_keys(*primary, "vm-a", "a", 0, 40);
  put_keys(*primary, "vm-b", "b", 0, 25);
  const std::map<std::string, uint64_t> written{{"vm-a", 40}, {"vm-b", 25}};
  ASSERT_TRUE(wait_until([&] { return group_point_at(vault, "app", written).has_value(); }, 30s))
      << "no group point holding vm-a at 40 and vm-b at 25";
  // The primary goes down: once a point interval (10 s) passes with no new point, nothing
  // reaches the standby any more and every point it will have is cut before the restart.
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());
  auto before = group_points(vault, "app");
  auto settled = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until(
      [&] {
        auto now_points = group_points(vault, "app");
        if (now_points.size() != before.size() || now_points.back().id() != before.back().id()) {
          before = now_points;
          settled = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - settled > 11s;
      },
      45s))
      << "the standby kept cutting points with the primary down";
  ASSERT_GE(before.size(), 2u);

  topo.kill("secondary");
  if (Status s = topo.restart("secondary"); !s.is_ok()) FAIL() << s.message();
  EXPECT_EQ(sr_item_state(vault, "app"), "Protected");
  auto after = group_points(vault, "app");
  ASSERT_EQ(after.size(), before.size()) << "the group's points did not survive the restart";
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id(), before[i].id());
    EXPECT_EQ(after[i].type(), before[i].type());
    EXPECT_EQ(after[i].time_unix_nanos(), before[i].time_unix_nanos());
    EXPECT_EQ(after[i].seqs().size(), before[i].seqs().size());
    for (const auto& [w, seq] : before[i].seqs()) EXPECT_EQ(after[i].seqs().at(w), seq) << w;
  }
  auto jobs = cli::sr_jobs(vault);
  ASSERT_TRUE(jobs.is_ok());
  ASSERT_GE(jobs->jobs_size(), 1);
  EXPECT_EQ(jobs->jobs(0).target(), "app");
  EXPECT_EQ(jobs->jobs(0).state(), "Succeeded");

  // Unplanned failover of the group to its latest multi-VM point: one cut before the restart,
  // and each member's data is exactly that point's seqs (one checkpoint holds both).
  std::vector<std::string> lines;
  cli::PointFailoverOptions fo;
  fo.point = "latest-multi-vm-processed";
  fo.items = {"app"};
  auto failed_over = cli::run_point_failover(topo.state(), fo, &lines);
  for (const auto& l : lines) std::cout << "[failover] " << l << "\n";
  ASSERT_TRUE(failed_over.is_ok()) << failed_over.status().message();
  ASSERT_EQ(failed_over->items_size(), 1);
  const auto& point = failed_over->items(0).point();
  EXPECT_EQ(point.id(), before.back().id()) << "not the newest point cut before the restart";
  ASSERT_EQ(point.seqs().size(), 2u);
  auto data = cli::read_final_state(vault, {"vm-a", "vm-b"});
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  std::map<std::string, uint64_t> keys;
  for (const auto& [key, value] : *data) keys[key.first]++;
  EXPECT_EQ(keys["vm-a"], point.seqs().at("vm-a"));
  EXPECT_EQ(keys["vm-b"], point.seqs().at("vm-b"));
  EXPECT_EQ(keys["vm-a"], 40u);
  EXPECT_EQ(keys["vm-b"], 25u);

  // FailedOver survives a restart of the now active region, where protect is refused; commit
  // then keeps the point failed over to.
  ASSERT_NO_FATAL_FAILURE(restart_secondary_then_commit(topo, "app"));
  auto kept = group_points(vault, "app");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].id(), point.id());
}

TEST(ConsistencyGroup, ReprotectHandsTheGroupToTheFormerPrimaryAndFailbackHandsItBack) {
  TestTopology topo(kThreeVms);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  const std::string reversed_vault = topo.address("primary");
  ASSERT_NO_FATAL_FAILURE(protect_app_group(topo));
  put_keys(*topo.workload_stub("primary"), "vm-a", "a", 0, 30);
  put_keys(*topo.workload_stub("primary"), "vm-b", "b", 0, 20);
  ASSERT_TRUE(wait_until(
      [&] {
        return group_point_at(vault, "app", {{"vm-a", 30}, {"vm-b", 20}}).has_value();
      },
      30s))
      << "no group point holding vm-a at 30 and vm-b at 20";

  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());
  std::vector<std::string> lines;
  cli::PointFailoverOptions fo;
  fo.point = "latest-multi-vm-processed";
  fo.items = {"app"};
  ASSERT_TRUE(cli::run_point_failover(topo.state(), fo, &lines).is_ok());
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &lines).is_ok());
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), false).is_ok());
  ASSERT_TRUE(wait_until(
      [&] {
        auto st = cli::region_status(reversed_vault);
        return st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY;
      },
      10s));
  auto rp = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();

  // The group moves to the former primary's vault, which cuts its points from its own store.
  ASSERT_TRUE(wait_until([&] { return sr_item_state(reversed_vault, "app") == "Protected"; }, 20s))
      << "the former primary did not take the group over";
  EXPECT_EQ(sr_item_state(vault, "app"), "") << "the secondary's vault still holds the group";
  EXPECT_EQ(sr_item_state(reversed_vault, "vm-a"), "")
      << "a member is listed on its own, not inside the group";
  auto secondary = topo.workload_stub("secondary");
  put_keys(*secondary, "vm-a", "a2-", 0, 12);
  put_keys(*secondary, "vm-b", "b2-", 0, 7);
  const std::map<std::string, uint64_t> reversed{{"vm-a", topo.applied_seq("secondary", "vm-a")},
                                                 {"vm-b", topo.applied_seq("secondary", "vm-b")}};
  ASSERT_TRUE(
      wait_until([&] { return group_point_at(reversed_vault, "app", reversed).has_value(); }, 30s))
      << "the former primary cut no group point holding vm-a at " << reversed.at("vm-a")
      << " and vm-b at " << reversed.at("vm-b");

  // Failback: the group fails over (planned), commits and re-protects in the original
  // direction; the secondary's vault holds it again and cuts its points.
  std::vector<std::string> failback_lines;
  ASSERT_NO_FATAL_FAILURE(fail_back_reversed_item(topo, "app", &failback_lines));
  // The group's line names every member's drained seq (a group's point lists its members).
  const std::string drained_seqs =
      "(seq vm-a=" + std::to_string(topo.applied_seq("primary", "vm-a")) +
      " vm-b=" + std::to_string(topo.applied_seq("primary", "vm-b")) + ")";
  bool listed = false;
  for (const auto& l : failback_lines) {
    listed = listed || (l.find("app") != std::string::npos &&
                        l.find("FailedOver to recovery point") != std::string::npos &&
                        l.find(drained_seqs) != std::string::npos);
  }
  EXPECT_TRUE(listed) << "no line shows the group failing over at " << drained_seqs;
  EXPECT_EQ(sr_item_state(reversed_vault, "app"), "");
  put_keys(*topo.workload_stub("primary"), "vm-a", "a3-", 0, 4);
  put_keys(*topo.workload_stub("primary"), "vm-b", "b3-", 0, 3);
  const std::map<std::string, uint64_t> back{{"vm-a", topo.applied_seq("primary", "vm-a")},
                                             {"vm-b", topo.applied_seq("primary", "vm-b")}};
  ASSERT_TRUE(wait_until([&] { return group_point_at(vault, "app", back).has_value(); }, 30s))
      << "no group point in the secondary after failback";
}

TEST(ChangeRecoveryPoint, DataAfterChangingEqualsTheSecondPointAndLostWritesMatchTheReport) {
  TestTopology topo(kOneVm);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_and_wait(topo, "vm-web"));
  std::vector<model::OpRecord> history;
  auto primary = topo.workload_stub("primary");
  auto point_at = [&](uint64_t seq) -> uint64_t {
    auto pts = cli::sr_points(vault, "vm-web");
    if (!pts.is_ok() || pts->items_size() == 0) return 0;
    for (const auto& p : pts->items(0).points()) {
      if (p.seqs().count("vm-web") && p.seqs().at("vm-web") == seq) return p.id();
    }
    return 0;
  };
  put_keys(*primary, "vm-web", "key-", 0, 100, &history);
  ASSERT_TRUE(wait_until([&] { return point_at(100) != 0; }, 30s)) << "no point at seq 100";
  put_keys(*primary, "vm-web", "key-", 100, 100, &history);
  ASSERT_TRUE(wait_until([&] { return point_at(200) != 0; }, 30s)) << "no point at seq 200";
  const uint64_t first = point_at(100), second = point_at(200);
  put_keys(*primary, "vm-web", "key-", 200, 30, &history);  // in no point
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") == 230; }, 10s));
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());

  std::vector<std::string> lines;
  // Refused before any failover.
  cli::ChangePointOptions change;
  change.point = "custom";
  change.point_id = second;
  EXPECT_EQ(cli::run_change_point(topo.state(), change, &lines).status().code(),
            StatusCode::kFailedPrecondition);

  cli::PointFailoverOptions fo;
  fo.point = "custom";
  fo.point_id = first;
  auto failed_over = cli::run_point_failover(topo.state(), fo, &lines);
  ASSERT_TRUE(failed_over.is_ok()) << failed_over.status().message();
  EXPECT_EQ(failed_over->items(0).given_up(0).writes_vs_source(), 130u);
  // Clients write to the new active region from the first point on.
  auto secondary = topo.workload_stub("secondary");
  put_keys(*secondary, "vm-web", "new-", 0, 20, &history);

  change.dry_run = true;
  auto preview = cli::run_change_point(topo.state(), change, &lines);
  ASSERT_TRUE(preview.is_ok()) << preview.status().message();
  ASSERT_EQ(preview->items(0).workloads_size(), 1);
  const auto& w = preview->items(0).workloads(0);
  EXPECT_EQ(w.from_point_seq(), 100u);
  EXPECT_EQ(w.to_point_seq(), 200u);
  EXPECT_EQ(w.current_seq(), 120u);
  EXPECT_EQ(w.writes_discarded(), 20u);
  EXPECT_EQ(w.writes_regained(), 100u);
  change.dry_run = false;
  auto changed = cli::run_change_point(topo.state(), change, &lines);
  for (const auto& l : lines) std::cout << "[change] " << l << "\n";
  ASSERT_TRUE(changed.is_ok()) << changed.status().message();

  // The data equals the second point's checkpoint: keys 0..199, nothing written since.
  auto final_state = cli::read_final_state(vault, {"vm-web"});
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  EXPECT_EQ(final_state->size(), 200u);
  EXPECT_EQ(final_state->count({"vm-web", "key-199"}), 1u);
  EXPECT_EQ(final_state->count({"vm-web", "key-200"}), 0u);
  EXPECT_EQ(final_state->count({"vm-web", "new-0"}), 0u);
  EXPECT_EQ(topo.applied_seq("secondary", "vm-web"), 200u);
  // Lost = what the first report gave up, less what the change regained, plus what it discarded.
  auto check = model::check_history(history, *final_state);
  EXPECT_EQ(check.lost_count, failed_over->items(0).given_up(0).writes_vs_source() -
                                  w.writes_regained() + w.writes_discarded());
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "FailedOver");
  // Writes continue after the new point.
  put_keys(*secondary, "vm-web", "after-", 0, 1);
  EXPECT_EQ(topo.applied_seq("secondary", "vm-web"), 201u);

  std::vector<std::string> commit_lines;
  auto commit = cli::run_commit(topo.state(), {}, &commit_lines);
  ASSERT_TRUE(commit.is_ok()) << commit.status().message();
  EXPECT_EQ(commit->items(0).failover_point_id(), second) << "commit keeps the changed point";
  change.items = {"vm-web"};
  auto after_commit = cli::run_change_point(topo.state(), change, &lines);
  ASSERT_FALSE(after_commit.is_ok());
  EXPECT_EQ(after_commit.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(after_commit.status().message().find("Committed"), std::string::npos)
      << after_commit.status().message();
}

}  // namespace
}  // namespace drsim::testing
