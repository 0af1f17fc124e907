// The drill's expectations judge (model::judge_drill), shared by the drill runner and the
// simulator.
#include "common/model/drill/expectations.h"

#include <gtest/gtest.h>

#include <map>

namespace drsim::model {
namespace {

using namespace std::chrono_literals;

const Expectation* find(const std::vector<Expectation>& all, const std::string& name) {
  for (const auto& e : all) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

TEST(JudgeDrill, NothingExpectedNothingJudgedButAPlannedFailoversDrain) {
  DrillMeasures m;
  EXPECT_TRUE(judge_drill({}, m).empty());
  m.planned = true;
  m.planned_given_up = 2;
  auto out = judge_drill({}, m);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "writes lost by planned failover (drain)");
  EXPECT_EQ(out[0].want, "0");
  EXPECT_EQ(out[0].got, "2");
  EXPECT_FALSE(out[0].pass);
}

TEST(JudgeDrill, BoundsHoldAtTheirEdgeAndFailPastIt) {
  DrillExpectations ex;
  ex.max_rto_ms = 1500;
  ex.max_lost_sync_writes = 0;
  ex.max_stale_reads = 1;
  ex.min_availability = 0.95;
  DrillMeasures m;
  m.rto = 1500ms;
  m.lost_sync_writes = 0;
  m.stale_reads = 1;
  m.availability = 0.95;
  auto out = judge_drill(ex, m);
  ASSERT_EQ(out.size(), 4u);
  for (const auto& e : out) EXPECT_TRUE(e.pass) << e.name;
  EXPECT_EQ(find(out, "RTO")->want, "<= 1500 ms");
  EXPECT_EQ(find(out, "RTO")->got, "1500 ms");
  EXPECT_EQ(find(out, "availability (ok / all operations)")->want, ">= 0.950");

  m.rto = 1501ms;
  m.lost_sync_writes = 1;
  m.stale_reads = 2;
  m.availability = 0.949;
  out = judge_drill(ex, m);
  for (const auto& e : out) EXPECT_FALSE(e.pass) << e.name;
  EXPECT_EQ(find(out, "acknowledged sync writes lost")->got, "1");
}

TEST(JudgeDrill, AnRtoNeverMeasuredFailsItsBound) {
  DrillExpectations ex;
  ex.max_rto_ms = 10'000;
  const auto out = judge_drill(ex, DrillMeasures{});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].got, "n/a");
  EXPECT_FALSE(out[0].pass);
}

TEST(JudgeDrill, FinalRoutingComparesTheRegionAndSaysUnknownWithoutAnAnswer) {
  DrillExpectations ex;
  ex.final_routing = "secondary";
  DrillMeasures m;
  EXPECT_EQ(judge_drill(ex, m)[0].got, "unknown");
  EXPECT_FALSE(judge_drill(ex, m)[0].pass);
  m.final_route = "secondary";
  EXPECT_TRUE(judge_drill(ex, m)[0].pass);
}

TEST(JudgeDrill, RpoExpectationsNeedAFailover) {
  DrillExpectations ex;
  ex.max_rpo_writes = 5;
  ex.lost_within_rpo = true;
  DrillMeasures m;  // no failover: no RPO to judge by
  auto out = judge_drill(ex, m);
  EXPECT_EQ(find(out, "RPO (writes given up)")->got, "n/a (no failover)");
  EXPECT_FALSE(find(out, "RPO (writes given up)")->pass);
  EXPECT_FALSE(find(out, "lost writes within the RPO")->pass);
  m.failed_over = true;
  m.rpo_writes = 4;
  m.lost_writes = 4;
  out = judge_drill(ex, m);
  EXPECT_TRUE(find(out, "RPO (writes given up)")->pass);
  EXPECT_EQ(find(out, "lost writes within the RPO")->got, "4 <= 4");
  EXPECT_TRUE(find(out, "lost writes within the RPO")->pass);
}

TEST(JudgeDrill, ClientsMovedSaysHowManyMovedWhenNotAllDid) {
  DrillExpectations ex;
  ex.max_all_clients_moved_ms = 3000;
  ex.max_all_clients_moved_after_routing_ms = 1000;
  DrillMeasures m;
  m.moved_text = "3 of 4 clients moved";
  m.routed = true;
  auto out = judge_drill(ex, m);
  EXPECT_EQ(find(out, "all clients moved")->got, "3 of 4 clients moved");
  EXPECT_EQ(find(out, "all clients moved after the route change")->got, "3 of 4 clients moved");
  m.routed = false;
  EXPECT_EQ(judge_drill(ex, m)[1].got, "n/a (no route change)");
  m.all_clients_moved = 2500ms;
  m.all_clients_moved_after_routing = 900ms;
  m.routed = true;
  out = judge_drill(ex, m);
  EXPECT_TRUE(find(out, "all clients moved")->pass);
  EXPECT_EQ(find(out, "all clients moved after the route change")->got, "900 ms");
  EXPECT_TRUE(find(out, "all clients moved after the route change")->pass);
}

TEST(JudgeDrill, EachCountedExpectationNamesItsMeasure) {
  DrillExpectations ex;
  ex.max_lost_writes = 0;
  ex.max_lost_sync_writes = 0;
  ex.max_stale_reads = 0;
  ex.final_routing = "secondary";
  ex.max_rto_ms = 1000;
  DrillMeasures m;
  m.final_route = "secondary";
  std::map<std::string, Measure> got;
  for (const auto& e : judge_drill(ex, m)) got[e.name] = e.measure;
  EXPECT_EQ(got.at("acknowledged writes lost"), Measure::kLostWrites);
  EXPECT_EQ(got.at("acknowledged sync writes lost"), Measure::kLostSyncWrites);
  EXPECT_EQ(got.at("stale reads"), Measure::kStaleReads);
  EXPECT_EQ(got.at("final routing"), Measure::kFinalRoute);
  EXPECT_EQ(got.at("RTO"), Measure::kOther);
}

TEST(BugProblems, ADaemonThatCountedABugFailsTheDrillNamingIt) {
  EXPECT_TRUE(bug_problems({}).empty());
  EXPECT_TRUE(bug_problems({{"primary", 0}, {"secondary", 0}}).empty());
  auto p = bug_problems({{"primary", 0}, {"secondary", 1}, {"trafficmgr", 3}});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "secondary counted 1 DRSIM_BUG report: a drsim bug (its log names where)");
  EXPECT_EQ(p[1], "trafficmgr counted 3 DRSIM_BUG reports: a drsim bug (its log names where)");
}

}  // namespace
}  // namespace drsim::model
