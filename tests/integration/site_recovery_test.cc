// Site Recovery with real processes: protect an item in the standby's vault, recovery points as
// store checkpoints on drsim's scaled clock, an unplanned failover to "latest processed" that
// gives up exactly the writes its report names (judged by the history checker), the commit
// guard rail before re-protect, and the refusals.
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/final_state.h"
#include "cli/operator_transport.h"
#include "cli/protection.h"
#include "cli/rpc_clients.h"
#include "cli/site_recovery.h"
#include "common/model/drill/history_checker.h"
#include "common/net/grpc_util.h"
#include "drsim/v1/workload.grpc.pb.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;

// time_scale 30: a 5-minute crash-consistent point every 10 s of real time, so the test can
// write past the newest point and fail over before the next one is cut. No fault proxy: an
// injected outage then leaves the primary's admin API reachable, so the report knows what it
// wrote.
constexpr char kTopology[] = R"(
workloads:
  - { name: vm-web, mode: async }
site_recovery: { time_scale: 30 }
fault_proxy: { enabled: false }
)";

// The newest point's seq of `workload`, 0 when there is none.
uint64_t newest_point_seq(const std::string& vault, const std::string& item) {
  auto points = cli::sr_points(vault, item);
  if (!points.is_ok() || points->items_size() == 0 || points->items(0).points_size() == 0) {
    return 0;
  }
  const auto& p = points->items(0).points(points->items(0).points_size() - 1);
  auto it = p.seqs().find(item);
  return it == p.seqs().end() ? 0 : it->second;
}

// Puts keys [first, first + n) one batch each, recording each acknowledged put as the
// history checker expects it.
void put_keys(drsim::v1::Workload::Stub& stub, int first, int n,
              std::vector<model::OpRecord>* history) {
  for (int k = first; k < first + n; ++k) {
    grpc::Status s = recorded_put(stub, "vm-web", "key-" + std::to_string(k),
                                  "value-" + std::to_string(k), history);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
}

// The old primary, its outage over, has learned the new epoch and is the standby (within 10 s):
// a re-protect needs it so.
bool primary_stepped_down(TestTopology& topo) {
  return wait_until(
      [&] {
        auto st = cli::region_status(topo.address("primary"));
        return st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY;
      },
      10s);
}

drsim::v1::ProtectItemRequest protect_request(const std::string& item) {
  cli::ProtectOptions o;
  o.item = item;
  auto req = cli::build_protect_request(o);
  EXPECT_TRUE(req.is_ok());
  return *req;
}

// Protects vm-web in the secondary's vault and waits for initial replication.
void protect_web(TestTopology& topo) {
  auto protect = cli::sr_protect(topo.address("secondary"), protect_request("vm-web"));
  ASSERT_TRUE(protect.is_ok()) << protect.status().message();
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("secondary"), "vm-web") == "Protected"; }, 20s))
      << "vm-web did not finish initial replication";
}

// Writes keys [0, in_point), waits for a recovery point holding exactly them, then writes
// `past` more keys the standby applies but no point holds yet.
void write_past_a_point(TestTopology& topo, int in_point, int past,
                        std::vector<model::OpRecord>* history) {
  auto primary = topo.workload_stub("primary");
  put_keys(*primary, 0, in_point, history);
  ASSERT_TRUE(wait_until(
      [&] {
        return newest_point_seq(topo.address("secondary"), "vm-web") ==
               static_cast<uint64_t>(in_point);
      },
      30s))
      << "no recovery point holding seq " << in_point << " was cut";
  put_keys(*primary, in_point, past, history);
  ASSERT_TRUE(wait_until(
      [&] {
        return topo.applied_seq("secondary", "vm-web") == static_cast<uint64_t>(in_point + past);
      },
      10s));
}

TEST(SiteRecovery, ProtectIsRefusedForBadTargetsAndOnTheActiveRegion) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  auto req = protect_request("vm-web");
  auto active = cli::sr_protect(topo.address("primary"), req);
  ASSERT_FALSE(active.is_ok());
  EXPECT_EQ(active.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(active.status().message().find("standby"), std::string::npos)
      << active.status().message();

  req.set_target_kind(drsim::v1::TARGET_KIND_SECONDARY_SITE);  // an Azure VM cannot go there
  auto site = cli::sr_protect(topo.address("secondary"), req);
  ASSERT_FALSE(site.is_ok());
  EXPECT_EQ(site.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(site.status().message().find("secondary site"), std::string::npos)
      << site.status().message();

  auto unknown = cli::sr_protect(topo.address("secondary"), protect_request("vm-nope"));
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);

  auto policy = protect_request("vm-web");
  policy.mutable_policy()->set_app_consistent_interval_ms(30 * 60 * 1000);  // under 1 h
  auto bad_policy = cli::sr_protect(topo.address("secondary"), policy);
  ASSERT_FALSE(bad_policy.is_ok());
  EXPECT_NE(bad_policy.status().message().find("app_consistent_interval"), std::string::npos)
      << bad_policy.status().message();
  // A refused enable is still a job, failed with the reason.
  auto jobs = cli::sr_jobs(topo.address("secondary"));
  ASSERT_TRUE(jobs.is_ok());
  ASSERT_GE(jobs->jobs_size(), 1);
  EXPECT_EQ(jobs->jobs(jobs->jobs_size() - 1).state(), "Failed");
}

TEST(SiteRecovery, UnplannedFailoverToLatestProcessedLosesExactlyWhatTheReportSaid) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_web(topo));
  std::vector<model::OpRecord> history;
  // Past the newest point: 50 writes the standby applies but no point holds yet.
  ASSERT_NO_FATAL_FAILURE(write_past_a_point(topo, 200, 50, &history));
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());

  std::vector<std::string> lines;
  cli::PointFailoverOptions opts;
  opts.point = "latest-processed";
  auto fo = cli::run_point_failover(topo.state(), opts, &lines);
  for (const auto& l : lines) std::cout << "[failover] " << l << "\n";
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  EXPECT_EQ(fo->new_epoch(), 2u);
  ASSERT_EQ(fo->items_size(), 1);
  ASSERT_EQ(fo->items(0).given_up_size(), 1);
  const auto& given = fo->items(0).given_up(0);
  // The preview reported the same point the failover used (it ran first and is echoed back).
  EXPECT_EQ(given.point_seq(), 200u);
  EXPECT_EQ(given.standby_seq(), 250u);
  EXPECT_EQ(given.writes_vs_standby(), 50u);
  EXPECT_TRUE(given.source_known());  // an outage still answers its admin API
  EXPECT_EQ(given.source_seq(), 250u);
  EXPECT_EQ(given.writes_vs_source(), 50u);

  auto final_state = cli::read_final_state(topo.address("secondary"), {"vm-web"});
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  auto check = model::check_history(history, *final_state);
  EXPECT_EQ(check.lost_count, given.writes_vs_source());
  for (const auto& lost : check.lost) EXPECT_GT(lost.seq, given.point_seq()) << lost.key;
  EXPECT_EQ(final_state->size(), 200u);
  // The promoted region continues after the point.
  EXPECT_EQ(topo.applied_seq("secondary", "vm-web"), 200u);

  // Guard rail: re-protect before commit is refused, saying what to do.
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), false).is_ok());
  auto early = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_FALSE(early.is_ok());
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("drsim commit"), std::string::npos)
      << early.status().message();

  std::vector<std::string> commit_lines;
  auto commit = cli::run_commit(topo.state(), {}, &commit_lines);
  ASSERT_TRUE(commit.is_ok()) << commit.status().message();
  auto points = cli::sr_points(vault, "vm-web");
  ASSERT_TRUE(points.is_ok());
  ASSERT_EQ(points->items(0).points_size(), 1) << "commit keeps only the failover point";
  EXPECT_EQ(points->items(0).points(0).id(), fo->items(0).point().id());

  // Re-protect: the old primary's 50 writes past the point are rolled back (a delta).
  ASSERT_TRUE(primary_stepped_down(topo)) << "the healed primary did not step down within 10 s";
  auto rp = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();
  for (const auto& l : rp->lines) std::cout << "[reprotect] " << l << "\n";
  EXPECT_EQ(rp->response.resync().kind(), drsim::v1::RESYNC_KIND_DELTA);
  EXPECT_EQ(rp->response.resync().rolled_back_entries(), 50u);

  auto jobs = cli::sr_jobs(vault);
  ASSERT_TRUE(jobs.is_ok());
  std::vector<std::string> kinds;
  for (const auto& j : jobs->jobs()) {
    kinds.push_back(j.kind());
    EXPECT_EQ(j.state(), "Succeeded") << j.kind() << ": " << j.error();
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"EnableReplication", "UnplannedFailover", "Commit",
                                             "Reprotect"}));

  // The reversed direction: the item's vault moves to the former primary, now the replication
  // target, which cuts recovery points of its own store for it.
  const std::string reversed_vault = topo.address("primary");
  ASSERT_TRUE(
      wait_until([&] { return sr_item_state(reversed_vault, "vm-web") == "Protected"; }, 20s))
      << "the former primary did not take the item over";
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "") << "the secondary's vault still holds the item";
  put_keys(*topo.workload_stub("secondary"), 1000, 20, &history);
  ASSERT_TRUE(wait_until([&] { return newest_point_seq(reversed_vault, "vm-web") >= 220; }, 30s))
      << "the former primary cut no recovery point holding the writes made after re-protect";

  // Failback follows the lifecycle: FailedOver at the drained seqs, committed, re-protected in
  // the original direction, and the secondary's vault has the item again with new points.
  std::vector<std::string> failback_lines;
  ASSERT_NO_FATAL_FAILURE(fail_back_reversed_item(topo, "vm-web", &failback_lines));
  const uint64_t drained = topo.applied_seq("primary", "vm-web");
  put_keys(*topo.workload_stub("primary"), 2000, 5, &history);
  ASSERT_TRUE(wait_until([&] { return newest_point_seq(vault, "vm-web") >= drained + 5; }, 30s))
      << "no new recovery point in the secondary after failback";
  EXPECT_EQ(sr_item_state(reversed_vault, "vm-web"), "");
}

TEST(SiteRecovery, TestFailoverServesThePointWhileReplicationContinuesAndCleanupRemovesIt) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_web(topo));
  std::vector<model::OpRecord> history;
  ASSERT_NO_FATAL_FAILURE(write_past_a_point(topo, 100, 50, &history));

  std::vector<std::string> lines;
  cli::TestFailoverOptions opts;
  opts.item = "vm-web";
  auto test = cli::run_test_failover(topo.state(), opts, &lines);
  for (const auto& l : lines) std::cout << "[test failover] " << l << "\n";
  ASSERT_TRUE(test.is_ok()) << test.status().message();
  EXPECT_EQ(test->point().seqs().at("vm-web"), 100u);
  const auto copy = topo.state().at(cli::kTestFailoverProcess);
  EXPECT_TRUE(std::filesystem::exists(test->copy_dir()));
  // The isolated copy serves the point's data: the first 100 keys, none written after.
  auto copy_state = cli::read_final_state(copy.address, {"vm-web"});
  ASSERT_TRUE(copy_state.is_ok()) << copy_state.status().message();
  EXPECT_EQ(copy_state->size(), 100u);
  EXPECT_EQ(copy_state->count({"vm-web", "key-99"}), 1u);
  EXPECT_EQ(copy_state->count({"vm-web", "key-100"}), 0u);
  // And a client may read and write it as it would the real VM (an isolated copy needs no
  // lease: reads and writes are fenced by one, and nothing can be promoted over the copy).
  {
    auto stub = drsim::v1::Workload::NewStub(cli::operator_channel(copy.address));
    grpc::ClientContext get_ctx;
    net::set_deadline(get_ctx, 5s);
    drsim::v1::GetRequest get;
    get.set_workload("vm-web");
    get.set_key("key-99");
    drsim::v1::GetResponse got;
    grpc::Status s = stub->Get(&get_ctx, get, &got);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(got.found());
    drsim::v1::PutResponse put_resp;
    s = put_key(*stub, "written-in-the-test", &put_resp, 5s);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "TestFailoverCleanupPending");

  // Production replication goes on meanwhile.
  put_keys(*topo.workload_stub("primary"), 150, 50, &history);
  ASSERT_TRUE(wait_until([&] { return topo.applied_seq("secondary", "vm-web") == 200; }, 10s))
      << "replication stopped during the test failover";

  std::vector<std::string> cleanup_lines;
  ASSERT_TRUE(cli::run_test_cleanup(topo.state(), &cleanup_lines).is_ok());
  EXPECT_FALSE(cli::process_alive(copy.pid));
  EXPECT_FALSE(std::filesystem::exists(test->copy_dir()));
  EXPECT_EQ(topo.state().processes.count(cli::kTestFailoverProcess), 0u);
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "Protected");
  std::vector<std::string> again;
  EXPECT_EQ(cli::run_test_cleanup(topo.state(), &again).code(), StatusCode::kFailedPrecondition);
}

TEST(SiteRecovery, CustomPointMustExistAndDryRunChangesNothing) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_web(topo));

  std::vector<std::string> lines;
  cli::PointFailoverOptions opts;
  opts.point = "custom";
  opts.point_id = 999;
  auto missing = cli::run_point_failover(topo.state(), opts, &lines);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().message();

  opts.point = "latest-app-consistent";  // the policy has app-consistent snapshots off
  opts.point_id = 0;
  auto app = cli::run_point_failover(topo.state(), opts, &lines);
  ASSERT_FALSE(app.is_ok());
  EXPECT_EQ(app.status().code(), StatusCode::kFailedPrecondition) << app.status().message();

  // The dry run as a script runs it: `drsim failover --unplanned --dry-run --json`.
  auto dry = run_binary("drsim",
                        {"failover", "--unplanned", "--point", "latest", "--dry-run", "--json",
                         "--home", topo.home()},
                        30s);
  ASSERT_EQ(dry.exit_code, 0) << dry.output;
  auto j = parse_json_output(dry);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["response"]["new_epoch"], 0) << dry.output;
  EXPECT_EQ(j["response"]["source_region"], "primary") << dry.output;
  ASSERT_EQ(j["response"]["items"].size(), 1u) << dry.output;
  EXPECT_EQ(j["response"]["items"][0]["item"], "vm-web");
  EXPECT_TRUE(j["response"]["items"][0]["point"]["id"].is_number_integer()) << dry.output;
  EXPECT_FALSE(j["messages"].empty()) << dry.output;
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_STANDBY);
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "Protected");
}

// The recovery point `id` of vm-web as listed, if it is.
std::optional<drsim::v1::ReplicationPointInfo> listed_point(const std::string& vault, uint64_t id) {
  auto points = cli::sr_points(vault, "vm-web");
  if (!points.is_ok() || points->items_size() == 0) return std::nullopt;
  for (const auto& p : points->items(0).points()) {
    if (p.id() == id) return p;
  }
  return std::nullopt;
}

TEST(SiteRecoveryRestart, PointsLifecycleAndJobsSurviveASigkillAndAPreRestartPointFailsOver) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_web(topo));
  std::vector<model::OpRecord> history;
  ASSERT_NO_FATAL_FAILURE(write_past_a_point(topo, 120, 30, &history));
  auto before = cli::sr_points(vault, "vm-web");
  ASSERT_TRUE(before.is_ok());
  ASSERT_GE(before->items(0).points_size(), 2);
  const auto first = before->items(0).points(0);
  drsim::v1::ReplicationPointInfo newest;  // the point holding seq 120 (a later one may exist)
  for (const auto& p : before->items(0).points()) {
    auto seq = p.seqs().find("vm-web");  // the first point, cut at seq 0, lists none
    if (seq != p.seqs().end() && seq->second == 120u) newest = p;
  }
  ASSERT_NE(newest.id(), 0u);
  ASSERT_NE(newest.id(), first.id());

  topo.kill("secondary");
  // The first point's checkpoint goes missing while the daemon is down: dropped at start-up.
  const std::string points_dir = topo.state().at("secondary").data_dir + ".points";
  std::filesystem::remove_all(points_dir + "/vm-web/" + std::to_string(first.id()));
  if (Status s = topo.restart("secondary"); !s.is_ok()) FAIL() << s.message();

  EXPECT_EQ(sr_item_state(vault, "vm-web"), "Protected");
  auto kept = listed_point(vault, newest.id());
  ASSERT_TRUE(kept.has_value()) << "point " << newest.id() << " is gone after the restart";
  EXPECT_EQ(kept->seqs().at("vm-web"), 120u);
  EXPECT_EQ(kept->type(), newest.type());
  EXPECT_EQ(kept->time_unix_nanos(), newest.time_unix_nanos());
  EXPECT_FALSE(listed_point(vault, first.id()).has_value())
      << "a point whose checkpoint is missing must be dropped";
  auto jobs = cli::sr_jobs(vault);
  ASSERT_TRUE(jobs.is_ok());
  ASSERT_GE(jobs->jobs_size(), 1);
  EXPECT_EQ(jobs->jobs(0).kind(), "EnableReplication");
  EXPECT_EQ(jobs->jobs(0).state(), "Succeeded");
  // Replication resumes and new points continue the ids after the restart.
  ASSERT_TRUE(wait_until(
      [&] {
        auto p = cli::sr_points(vault, "vm-web");
        return p.is_ok() && p->items(0).points_size() > 0 &&
               p->items(0).points(p->items(0).points_size() - 1).id() > newest.id();
      },
      30s))
      << "no recovery point was cut after the restart";

  // Unplanned failover to the point cut before the restart.
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());
  std::vector<std::string> lines;
  cli::PointFailoverOptions opts;
  opts.point = "custom";
  opts.point_id = newest.id();
  auto fo = cli::run_point_failover(topo.state(), opts, &lines);
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  ASSERT_EQ(fo->items_size(), 1);
  EXPECT_EQ(fo->items(0).point().id(), newest.id());
  auto final_state = cli::read_final_state(vault, {"vm-web"});
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  EXPECT_EQ(final_state->size(), 120u);
  EXPECT_EQ(final_state->count({"vm-web", "key-119"}), 1u);
  EXPECT_EQ(final_state->count({"vm-web", "key-120"}), 0u);

  // FailedOver survives a restart too, and commit then keeps the point failed over to.
  ASSERT_NO_FATAL_FAILURE(restart_secondary_then_commit(topo, "vm-web"));
  auto points = cli::sr_points(vault, "vm-web");
  ASSERT_TRUE(points.is_ok());
  ASSERT_EQ(points->items(0).points_size(), 1);
  EXPECT_EQ(points->items(0).points(0).id(), newest.id());
}

TEST(SiteRecoveryPlanned,
     PlannedFailoverMovesItemsToFailedOverAtTheDrainedSeqsThenReprotectMovesTheVault) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  ASSERT_NO_FATAL_FAILURE(protect_web(topo));
  std::vector<model::OpRecord> history;
  put_keys(*topo.workload_stub("primary"), 0, 60, &history);

  auto fo = cli::run_planned_failover(topo.state(), "", "test planned failover", 10'000, false);
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  for (const auto& l : fo->lines) std::cout << "[planned] " << l << "\n";
  EXPECT_EQ(fo->items_failed_over, 1);
  ASSERT_EQ(fo->response.drained_size(), 1);
  EXPECT_EQ(fo->response.drained(0).seq(), 60u);
  auto items = cli::sr_items(vault);
  ASSERT_TRUE(items.is_ok());
  ASSERT_EQ(items->items_size(), 1);
  EXPECT_EQ(items->items(0).state(), "FailedOver");
  // The point failed over to holds every drained write: nothing given up.
  auto points = cli::sr_points(vault, "vm-web");
  ASSERT_TRUE(points.is_ok());
  bool found = false;
  for (const auto& p : points->items(0).points()) {
    if (p.id() != items->items(0).failover_point_id()) continue;
    found = true;
    EXPECT_GE(p.seqs().at("vm-web"), 60u);
  }
  EXPECT_TRUE(found) << "the failover point is not listed";
  // Re-protect before commit is refused; after commit the item moves to the primary's vault.
  auto early = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_FALSE(early.is_ok());
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  std::vector<std::string> commit_lines;
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &commit_lines).is_ok());
  auto rp = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();
  EXPECT_EQ(rp->response.resync().rolled_back_entries(), 0u);
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("primary"), "vm-web") == "Protected"; }, 20s))
      << "the primary's vault did not take the item over";
  auto final_state = cli::read_final_state(vault, {"vm-web"});
  ASSERT_TRUE(final_state.is_ok()) << final_state.status().message();
  EXPECT_EQ(model::check_history(history, *final_state).lost_count, 0u);
}

// Site Recovery fails physical servers back from Azure to VMware VMs only (facts.md): the
// re-protect after the failover says so, and from then on the item is a VMware VM, in the vault
// it was handed to and after the failback.
TEST(SiteRecoveryPlanned, APhysicalServerIsReprotectedAndFailsBackAsAVmwareVm) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  cli::ProtectOptions o;
  o.item = "vm-web";
  o.source = "physical-windows";
  auto req = cli::build_protect_request(o);
  ASSERT_TRUE(req.is_ok()) << req.status().message();
  auto protect = cli::sr_protect(topo.address("secondary"), *req);
  ASSERT_TRUE(protect.is_ok()) << protect.status().message();
  EXPECT_EQ(protect->item().source(), "physical Windows server");
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("secondary"), "vm-web") == "Protected"; }, 20s));
  put_keys(*topo.workload_stub("primary"), 0, 10, nullptr);

  auto fo = cli::run_planned_failover(topo.state(), "", "to Azure", 10'000, false);
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  std::vector<std::string> commit_lines;
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &commit_lines).is_ok());
  auto rp = cli::run_reprotect(topo.state(), "", "back towards the datacenter");
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();
  std::string lines;
  for (const auto& l : rp->lines) lines += l + "\n";
  EXPECT_NE(lines.find("vm-web (a physical Windows server) fails back as a VMware VM: Site "
                       "Recovery fails physical Windows servers back from Azure to on-premises "
                       "VMware VMs only"),
            std::string::npos)
      << lines;
  // The primary's vault takes the item over as a VMware VM.
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("primary"), "vm-web") == "Protected"; }, 20s))
      << "the primary's vault did not take the item over";
  auto items = cli::sr_items(topo.address("primary"));
  ASSERT_TRUE(items.is_ok());
  ASSERT_EQ(items->items_size(), 1);
  EXPECT_EQ(items->items(0).source(), "VMware VM");

  // Failback and the re-protect after it: still a VMware VM, and nothing more to say.
  auto back = cli::run_planned_failover(topo.state(), "", "failback", 10'000, false);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &commit_lines).is_ok());
  auto again = cli::run_reprotect(topo.state(), "", "to Azure again");
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  for (const auto& l : again->lines) EXPECT_EQ(l.find("fails back as"), std::string::npos) << l;
  ASSERT_TRUE(wait_until(
      [&] { return sr_item_state(topo.address("secondary"), "vm-web") == "Protected"; }, 20s));
  items = cli::sr_items(topo.address("secondary"));
  ASSERT_TRUE(items.is_ok());
  ASSERT_EQ(items->items_size(), 1);
  EXPECT_EQ(items->items(0).source(), "VMware VM");
}

// Recovery point ids are per item: a custom id on a failover of several items would apply one
// item's id to every item (picking unrelated points), so it is refused naming the items.
TEST(SiteRecovery, CustomPointIdIsRefusedWhenSeveralItemsFailOverTogether) {
  TestTopology topo(R"(
workloads:
  - { name: vm-web, mode: async }
  - { name: vm-db, mode: async }
site_recovery: { time_scale: 30 }
fault_proxy: { enabled: false }
)");
  ASSERT_TRUE(topo.ok());
  const std::string vault = topo.address("secondary");
  for (const char* item : {"vm-web", "vm-db"}) {
    auto protect = cli::sr_protect(vault, protect_request(item));
    ASSERT_TRUE(protect.is_ok()) << protect.status().message();
  }
  ASSERT_TRUE(wait_until(
      [&] {
        return sr_item_state(vault, "vm-web") == "Protected" &&
               sr_item_state(vault, "vm-db") == "Protected";
      },
      20s));
  std::vector<std::string> lines;
  cli::PointFailoverOptions opts;
  opts.point = "custom";
  opts.point_id = 1;
  opts.dry_run = true;
  auto refused = cli::run_point_failover(topo.state(), opts, &lines);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition) << refused.status().message();
  EXPECT_NE(refused.status().message().find("recovery point ids are per item, and 2 items fail "
                                            "over together to region secondary (vm-db, vm-web)"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(sr_item_state(vault, "vm-web"), "Protected") << "the refusal changed something";

  // Both fail over to their latest processed point, are committed and re-protected: each item's
  // line names its own Reprotect job (it named the last one's for every item).
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), true).is_ok());
  opts.point = "latest-processed";
  opts.point_id = 0;
  opts.dry_run = false;
  lines.clear();
  auto fo = cli::run_point_failover(topo.state(), opts, &lines);
  ASSERT_TRUE(fo.is_ok()) << fo.status().message();
  ASSERT_TRUE(cli::region_set_outage(topo.address("primary"), false).is_ok());
  std::vector<std::string> commit_lines;
  ASSERT_TRUE(cli::run_commit(topo.state(), {}, &commit_lines).is_ok());
  ASSERT_TRUE(primary_stepped_down(topo)) << "the healed primary did not step down within 10 s";
  auto rp = cli::run_reprotect(topo.state(), "", "test");
  ASSERT_TRUE(rp.is_ok()) << rp.status().message();
  auto jobs = cli::sr_jobs(vault);
  ASSERT_TRUE(jobs.is_ok());
  std::map<std::string, uint64_t> reprotect_job;  // item -> its Reprotect job in this vault
  for (const auto& j : jobs->jobs()) {
    if (j.kind() == "Reprotect") reprotect_job[j.target()] = j.id();
  }
  ASSERT_EQ(reprotect_job.size(), 2u) << jobs->DebugString();
  for (const auto& [item, id] : reprotect_job) {
    bool found = false;
    for (const auto& l : rp->lines) {
      found |= l.find("  " + item + " ") == 0 &&
               l.find("(job " + std::to_string(id) + ")") != std::string::npos;
    }
    EXPECT_TRUE(found) << item << " job " << id << " not on its line:\n"
                       << [&] {
                            std::string all;
                            for (const auto& l : rp->lines) all += l + "\n";
                            return all;
                          }();
  }
}

}  // namespace
}  // namespace drsim::testing
