// The drill report (cli/drill_report.h): the summary people read and report.json, both pure
// functions of a DrillReport built here by hand.
#include <stdio.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/drill_report.h"

namespace drsim::cli {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr int64_t kSecond = 1'000'000'000;

std::string text_of(const DrillReport& r) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  print_drill_report(r, out);
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  return text;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// An outage failed over by the drill, a failback (planned), one acknowledged write lost, one
// expectation met and one not, and a problem.
DrillReport outage_report() {
  DrillReport r;
  r.drill = "outage";
  r.description = "primary killed under load";
  r.source = "deploy/drills/outage.yaml";
  r.config.documented_failover_ms = 800;
  r.config.strict_failover_ms = 950;
  r.config.lease_wait_ms = 330;
  r.fault_region = "primary";
  r.fault_kind = "kill";
  r.load_start_ns = 10 * kSecond;
  r.fault_ns = 12 * kSecond;
  r.end_ns = 20 * kSecond;
  r.faults = {{"kill primary", 11 * kSecond, 0, "primary"}};
  r.automated_failover = true;
  r.failed_over = true;
  r.new_active = "secondary";
  r.failover_epoch = 2;
  r.promoted_ns = 13 * kSecond;
  r.lease_wait_ms = 300;
  r.planned_failovers = {
      {"secondary", "primary", 3, 17 * kSecond, 12.5, 40, {{"vm-web", 120}}, {}}};
  r.final_active = "primary";
  r.writes = {100, 90, 6, 4};
  r.reads = {50, 48, 2, 0};
  r.acknowledged_by_region = {{"primary", 60}, {"secondary", 30}};
  r.availability = 0.92;
  r.has_rto = true;
  r.rto.total = 1234ms;
  r.rto.detection = 300ms;
  r.clients_moved = {8, 8, 700ms, 1100ms};
  r.lost_count = 1;
  model::LostOp lost;
  lost.id = 77;
  lost.workload = "vm-db";
  lost.key = "k7";
  lost.region = "primary";
  lost.seq = 42;
  r.lost = {lost};
  r.rpo.total_writes = 1;
  r.rpo.max_time = 40ms;
  r.rpo.workloads = {{"vm-db", 10, 9, 1, 40ms}};
  r.expectations = {{"RTO", "<= 1950 ms", "1234 ms", true},
                    {"acknowledged writes lost", "0", "1", false}};
  r.problems = {"cannot read the final state of primary: unavailable"};
  r.passed = false;
  return r;
}

TEST(DrillReport, TextNamesTheRtoTheFailoversTheLossAndEachVerdict) {
  const std::string text = text_of(outage_report());
  for (const char* line : {
           "== drsim drill report: outage ==",
           "fault              primary region kill",
           "  injected         kill primary                                        +1.00 s .. end",
           "failover           automated by the drill; secondary active at epoch 2",
           "planned failover   secondary -> primary at epoch 3: writes paused 12.5 ms, drained 1 "
           "workload(s)",
           "  acknowledged by primary    60",
           "availability       92.0 % of operations ok",
           "RTO                1234 ms  (fault -> first write acknowledged by secondary)",
           "  detection        300 ms  (fault -> Traffic Manager marks primary Degraded)",
           "  routing          n/a  (promoted -> Traffic Manager answers secondary)",
           "clients moved      8 of 8; first 700 ms, all 1100 ms after the fault",
           "acked writes lost  1  (every acknowledged write checked against the final state of "
           "primary)",
           "RPO                1 writes, 40 ms",
           "  LOST vm-db/k7 acked by primary seq 42",
           "  [PASS] RTO                                      want <= 1950 ms   got 1234 ms",
           "  [FAIL] acknowledged writes lost                 want 0            got 1",
           "  [FAIL] cannot read the final state of primary: unavailable",
       }) {
    EXPECT_TRUE(has_line(text, line)) << "missing line: " << line << "\n" << text;
  }
  EXPECT_EQ(text.find("(none)"), std::string::npos) << text;
}

TEST(DrillReport, JsonCarriesTheSameFacts) {
  const json j = drill_report_json(outage_report());
  EXPECT_EQ(j["drill"], "outage");
  EXPECT_EQ(j["rto_ms"], 1234.0);
  EXPECT_EQ(j["rto_parts_ms"]["detection"], 300.0);
  EXPECT_TRUE(j["rto_parts_ms"]["routing"].is_null());
  EXPECT_EQ(j["acknowledged_writes_lost"], 1u);
  EXPECT_EQ(j["lost"][0]["key"], "k7");
  EXPECT_EQ(j["lost"][0]["seq"], 42u);
  EXPECT_EQ(j["writes"]["acknowledged"], 90u);
  EXPECT_EQ(j["reads"]["ok"], 48u);
  EXPECT_EQ(j["acknowledged_by_region"]["secondary"], 30u);
  EXPECT_EQ(j["failover"]["new_epoch"], 2u);
  EXPECT_EQ(j["faults"][0]["end_unix_nanos"], 20 * kSecond);  // until the end of the drill
  EXPECT_EQ(j["planned_failovers"][0]["drained"]["vm-web"], 120u);
  EXPECT_EQ(j["planned_failovers"][0]["acked_beyond_drain"], json::array());
  EXPECT_EQ(j["clients_moved"]["all_ms"], 1100.0);
  EXPECT_EQ(j["rpo"]["writes"], 1u);
  EXPECT_EQ(j["rpo"]["workloads"][0]["ms"], 40.0);
  EXPECT_EQ(j["failover_estimate_ms"]["strict"], 950u);
  ASSERT_EQ(j["expectations"].size(), 2u);
  EXPECT_EQ(j["expectations"][0]["pass"], true);
  EXPECT_EQ(j["expectations"][1]["pass"], false);
  EXPECT_EQ(j["expectations"][1]["got"], "1");
  EXPECT_EQ(j["problems"][0], "cannot read the final state of primary: unavailable");
  EXPECT_EQ(j["passed"], false);
}

TEST(DrillReport, WithoutAFailoverNoRtoNoRpoAndNoExpectationsSayNone) {
  DrillReport r;
  r.drill = "steady";
  r.final_active = "primary";
  r.passed = true;
  const std::string text = text_of(r);
  EXPECT_EQ(text.find("RTO "), std::string::npos) << text;
  EXPECT_EQ(text.find("RPO "), std::string::npos) << text;
  EXPECT_EQ(text.find("failover           automated"), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, "  (none)")) << text;
  const json j = drill_report_json(r);
  EXPECT_TRUE(j["rto_ms"].is_null());
  EXPECT_TRUE(j["clients_moved"]["first_ms"].is_null());
  EXPECT_EQ(j["config"]["stale_clients"], json::object());
  EXPECT_EQ(j["passed"], true);
}

}  // namespace
}  // namespace drsim::cli
