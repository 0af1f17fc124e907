// `drsim drill run FILE --attached --home H`: a drill against daemons drsim did not start (here a
// TestTopology's, standing for daemons systemd or Kubernetes run). The drill is judged by the
// timings the daemons run (read at attach, not the drill file's), its report goes under
// H/drills/, what it injected is healed at the end and nothing is stopped; steps that need a
// local process or link, workloads the daemons do not host and a pair not in its starting roles
// are refused before any load, naming the step or field.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "tests/support/test_topology.h"

namespace drsim::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Timings unlike the drill file's below, so the report shows whose it judged by.
constexpr const char* kTopology = R"(
workloads:
  - { name: vm-web, mode: sync }
  - { name: vm-db,  mode: sync }
traffic_manager: { probe_interval_ms: 200, probe_timeout_ms: 100, tolerated_failures: 2, ttl_ms: 300 }
)";

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// An attach file for the daemons of `topo`; `extra` is appended (top-level keys).
std::string attach_file(TestTopology& topo, const std::string& dir, const std::string& extra = "") {
  const auto& s = topo.state();
  return write_file(dir + "/attach.yaml",
                    "attach:\n  primary: { address: " + s.at("primary").address +
                        " }\n  secondary: { address: " + s.at("secondary").address +
                        " }\n  trafficmgr: { address: " + s.at("trafficmgr").address +
                        " }\n  tls_dir: " + topo.home() + "/tls\n  timeout_ms: 2000\n" + extra);
}

// A drill whose steps work over RPC only: an injected outage of the primary, an unplanned
// failover once the Traffic Manager sees it, clients following the route.
std::string outage_drill(const std::string& dir, const std::string& name,
                         const std::string& extra_step = "",
                         const std::string& workloads = "[{ name: vm-web, mode: sync }]") {
  return write_file(dir + "/" + name + ".yaml", "name: " + name + R"(
topology:
  workloads: )" + workloads + R"(
  traffic_manager: { probe_interval_ms: 100, probe_timeout_ms: 50, tolerated_failures: 2, ttl_ms: 500 }
workload: { rate: 200, clients: 4, keys: 200, value_bytes: 64 }
steps:
  - wait: 1s
)" + extra_step + R"(  - inject: { fault: outage, region: primary }
  - wait_until: { condition: degraded, target: primary, timeout: 15s }
  - failover: { region: secondary }
  - wait_until: { condition: routed_to, target: secondary, timeout: 15s }
  - wait_until: { condition: acked_by, target: secondary, timeout: 15s }
  - wait: 500ms
expect:
  max_lost_writes: 0
  final_routing: secondary
)");
}

TEST(AttachDrill, RunsOverRpcJudgedByTheDaemonsTimingsHealsAndStopsNothing) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string dir = make_temp_dir("drsim-attach-drill");
  const std::string home = dir + "/attached";
  auto attach = run_binary("drsim", {"attach", "--config", attach_file(topo, dir), "--home", home},
                           30s);
  ASSERT_EQ(attach.exit_code, 0) << attach.output;
  // The timings are the Traffic Manager's and the regions', not the attach file's defaults.
  EXPECT_NE(attach.output.find("probe every 200 ms (timeout 100 ms, tolerated failures 2), TTL "
                               "300 ms; lease 1000 ms renewed every 250 ms"),
            std::string::npos)
      << attach.output;

  const std::string drill = outage_drill(dir, "attached-outage");
  auto run = run_binary("drsim", {"drill", "run", drill, "--attached", "--home", home}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("drsim starts and stops none"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("attached daemons keep running: primary standby at epoch 2, "
                            "secondary active at epoch 2"),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("drsim failback --home " + home), std::string::npos) << run.output;

  // The report is the attached daemons' and under drills/, judged by their timings:
  // TTL 300 + max(2 × 200, lease wait 1050) = 1350 ms (the drill file's would give 1550).
  std::vector<fs::path> reports;
  for (const auto& e : fs::directory_iterator(home + "/drills")) {
    if (fs::exists(e.path() / "report.json")) reports.push_back(e.path() / "report.json");
  }
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].parent_path().filename().string().rfind("attached-outage-", 0), 0u);
  auto j = nlohmann::json::parse(std::ifstream(reports[0]));
  EXPECT_EQ(j["passed"], true) << j.dump(2);
  EXPECT_EQ(j["failover_estimate_ms"]["documented"], 1350) << j["failover_estimate_ms"].dump();
  EXPECT_EQ(j["config"]["probe_interval_ms"], 200);
  EXPECT_TRUE(fs::exists(reports[0].parent_path() / "history.jsonl"));

  // Nothing stopped; the outage the drill injected is healed; the failover stays.
  for (const char* name : {"primary", "secondary", "trafficmgr"}) {
    EXPECT_TRUE(cli::process_alive(topo.pid(name))) << name << " was stopped by the drill";
  }
  EXPECT_FALSE(topo.status("primary").outage());
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);

  // The next drill starts from the primary active: refused, saying how to get there.
  auto again = run_binary("drsim", {"drill", "run", drill, "--attached", "--home", home}, 60s);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("a drill starts from the primary active and the secondary its "
                              "standby; primary is the standby at epoch 2"),
            std::string::npos)
      << again.output;
  EXPECT_EQ(topo.status("secondary").role(), drsim::v1::ROLE_ACTIVE);
}

TEST(AttachDrill, WhatTheAttachedDaemonsCannotTakeIsExitTwoBeforeAnyLoad) {
  TestTopology topo(kTopology);
  ASSERT_TRUE(topo.ok());
  const std::string dir = make_temp_dir("drsim-attach-drill-bad");
  const std::string home = dir + "/attached";

  // A timing the file states and the Traffic Manager does not run.
  auto stated = run_binary("drsim",
                           {"attach", "--config",
                            attach_file(topo, dir, "traffic_manager: { probe_interval_ms: 100 }\n"),
                            "--home", home},
                           30s);
  EXPECT_EQ(stated.exit_code, 2) << stated.output;
  EXPECT_NE(stated.output.find("attach.yaml: traffic_manager.probe_interval_ms: the file says "
                               "100, the daemon at " +
                               topo.state().at("trafficmgr").address + " runs 200"),
            std::string::npos)
      << stated.output;
  EXPECT_FALSE(fs::exists(home));
  ASSERT_EQ(run_binary("drsim", {"attach", "--config", attach_file(topo, dir), "--home", home}, 30s)
                .exit_code,
            0);

  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string want;
  };
  const Case cases[] = {
      {"kill step",
       {"drill", "run",
        outage_drill(dir, "kill-step", "  - inject: { fault: kill, region: secondary }\n"),
        "--attached", "--home", home},
       "kill-step.yaml:8: steps[1].inject: kill on secondary: the daemons of " + home +
           " run elsewhere"},
      {"link fault",
       {"drill", "run",
        outage_drill(dir, "link-step",
                     "  - inject: { fault: partition, link: repl.primary-secondary }\n"),
        "--attached", "--home", home},
       "link-step.yaml:8: steps[1].inject: partition"},
      {"workload not hosted",
       {"drill", "run",
        outage_drill(dir, "other-workload", "", "[{ name: vm-cache, mode: async }]"),
        "--attached", "--home", home},
       "other-workload.yaml: topology.workloads: vm-cache (async) is not a workload of the "
       "daemons attached by " +
           dir + "/attach.yaml (they host vm-web (sync), vm-db (sync))"},
      {"home drsim started",
       {"drill", "run", outage_drill(dir, "own-home"), "--attached", "--home", topo.home()},
       "holds a topology drsim started, not attached daemons"},
      {"no home", {"drill", "run", outage_drill(dir, "no-home"), "--attached"},
       "--attached needs --home"},
      {"keep", {"drill", "run", outage_drill(dir, "keep"), "--attached", "--keep", "--home", home},
       "--keep, --placement and --subnet do not apply"},
  };
  for (const auto& c : cases) {
    auto r = run_binary("drsim", c.args, 60s);
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos) << c.name << ": " << r.output;
    EXPECT_EQ(r.output.find("load:"), std::string::npos) << c.name << ": a load started";
  }
  // Untouched: still the primary active, serving, no outage, nothing written under drills/.
  EXPECT_EQ(topo.status("primary").role(), drsim::v1::ROLE_ACTIVE);
  EXPECT_FALSE(topo.status("primary").outage());
  EXPECT_FALSE(fs::exists(home + "/drills"));
  for (const char* name : {"primary", "secondary", "trafficmgr"}) {
    EXPECT_TRUE(cli::process_alive(topo.pid(name))) << name;
  }
}

}  // namespace
}  // namespace drsim::testing
