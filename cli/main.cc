// drsim: the command line people type. Parses the verb and its flags, then
// hands over to cli/commands.cc or cli/demo.cc.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/backup_commands.h"
#include "cli/commands.h"
#include "cli/demo.h"
#include "cli/drill.h"
#include "cli/protection.h"
#include "cli/topology.h"

int main(int argc, char** argv) {
  using namespace drsim::cli;
  CLI::App app{"drsim: disaster-recovery drill simulator. Runs a primary region, a secondary "
               "region and a Traffic Manager on loopback, drives client load, injects outages, "
               "and measures RTO, RPO and acknowledged writes lost.\n"
               "Start with `drsim demo`."};
  app.require_subcommand(1);
  std::string home = ".drsim";
  auto add_home = [&](CLI::App* cmd) {
    cmd->add_option("--home", home, "Directory of the local topology (state, data, logs)")
        ->capture_default_str();
  };

  // demo
  DemoOptions demo;
  std::string demo_config, demo_fault = "kill";
  auto* c_demo = app.add_subcommand(
      "demo", "The default drill, no files needed: up, load, primary outage, failover "
              "(automated by the drill), clients follow routing, report, down");
  c_demo->add_option("--home", demo.home, "Directory to use (default: a new /tmp/drsim-drill-*)");
  c_demo->add_option("--config", demo_config, "Topology YAML instead of the embedded default");
  c_demo->add_option("--fault", demo_fault, "How the primary region fails")
      ->check(CLI::IsMember({"kill", "outage", "pause"}))
      ->capture_default_str();
  c_demo->add_option("--rate", demo.rate, "Client operations per second")->capture_default_str();
  c_demo->add_option("--clients", demo.workers, "Concurrent clients")->capture_default_str();
  c_demo->add_option("--keys", demo.keys, "Keys per workload")->capture_default_str();
  c_demo->add_option("--value-bytes", demo.value_bytes, "Value size")->capture_default_str();
  c_demo->add_option("--warmup", demo.warmup_s, "Seconds of load before the fault")
      ->capture_default_str();
  c_demo->add_option("--after", demo.after_s, "Seconds of load after clients moved")
      ->capture_default_str();
  c_demo->add_option("--seed", demo.seed, "Seed of the client workload")->capture_default_str();
  c_demo->add_option("--json", demo.json_path, "Where to write the JSON report "
                                               "(default <home>/report.json)");
  c_demo->add_flag("--keep", demo.keep, "Leave the topology up afterwards");

  // up / down / status
  std::string up_config;
  auto* c_up = app.add_subcommand("up", "Start secondary, primary and Traffic Manager on "
                                        "loopback and wait until healthy");
  add_home(c_up);
  c_up->add_option("--config", up_config, "Topology YAML (default: the embedded one, see "
                                          "docs/cli.md)");
  auto* c_down = app.add_subcommand("down", "Stop every process `up` started");
  add_home(c_down);
  bool status_json = false;
  auto* c_status = app.add_subcommand("status", "Regions, roles, epochs, health, routing and "
                                                "replication lag");
  add_home(c_status);
  c_status->add_flag("--json", status_json, "Machine-readable output");

  // load
  LoadCommand load;
  std::string load_workloads;
  auto* c_load = app.add_subcommand("load", "Drive client traffic through the Traffic Manager "
                                            "and record every operation");
  add_home(c_load);
  c_load->add_option("--rate", load.options.rate, "Operations per second")->capture_default_str();
  c_load->add_option("--duration", load.duration_s, "Seconds")->capture_default_str();
  c_load->add_option("--clients", load.options.workers, "Concurrent clients")
      ->capture_default_str();
  c_load->add_option("--keys", load.options.keys, "Keys per workload")->capture_default_str();
  c_load->add_option("--value-bytes", load.options.value_bytes, "Value size")
      ->capture_default_str();
  c_load->add_option("--write-fraction", load.options.write_fraction, "Share of writes (0..1)")
      ->capture_default_str();
  c_load->add_option("--seed", load.options.seed, "Seed")->capture_default_str();
  c_load->add_option("--workloads", load_workloads, "Comma-separated (default: all)");
  c_load->add_option("--history", load.history_path, "History file (default "
                                                     "<home>/history.jsonl)");
  std::string load_resolve = "grpc";
  c_load->add_option("--resolve", load_resolve,
                     "How clients find their region: grpc (the Traffic Manager's Resolve RPC) "
                     "or dns (a UDP query to its DNS server, cached for the answer's TTL)")
      ->check(CLI::IsMember({"grpc", "dns"}))
      ->capture_default_str();

  // inject / heal / failover / check
  std::string fault, region, reason = "operator request via drsim failover";
  auto* c_inject = app.add_subcommand(
      "inject",
      "Inject a fault. On a daemon (--region primary|secondary|trafficmgr): kill (SIGKILL), "
      "pause (SIGSTOP), resume (SIGCONT), restart; outage (the region's daemon answers only its "
      "admin API and every link touching it drops); clock-skew --offset-ms N. On links "
      "(--link NAME or group): partition [--mode drop|blackhole], latency --latency-ms N "
      "[--jitter-ms N], bandwidth --bytes-per-second N [--burst-bytes N], reset [--keep], stall "
      "--stall-ms N [--interval-ms N]; --direction up|down|both (default both). "
      "`drsim status` lists the links; docs/faults.md has every fault.");
  add_home(c_inject);
  c_inject->add_option("fault", fault, "One of: kill pause resume restart outage partition "
                                       "latency bandwidth reset stall clock-skew")
      ->required();
  // Link-fault parameters, passed on as given and validated in one place (cli/faults.cc).
  std::map<std::string, std::string> inject_params;
  const std::vector<std::pair<std::string, std::string>> inject_flags = {
      {"--link", "Link name, or clients | probes | replication | primary | secondary | all"},
      {"--direction", "up (towards the server), down (its answers) or both"},
      {"--mode", "partition: drop (reset, discard) or blackhole (hold bytes)"},
      {"--latency-ms", "latency: delay per chunk"},
      {"--jitter-ms", "latency: ± uniform jitter"},
      {"--bytes-per-second", "bandwidth: cap"},
      {"--burst-bytes", "bandwidth: bucket size"},
      {"--keep", "reset: true = keep resetting new connections"},
      {"--stall-ms", "stall: length of each stall"},
      {"--interval-ms", "stall: mean gap between stalls (default 1000)"},
      {"--offset-ms", "clock-skew: offset, negative = behind"},
  };
  for (const auto& [flag, help] : inject_flags) {
    c_inject->add_option(flag, inject_params[flag], help);
  }
  c_inject->add_option("--region", region, "The daemon: primary | secondary | trafficmgr");
  auto* c_heal = app.add_subcommand(
      "heal", "End faults: resume paused daemons, end outages, reset clock offsets, clear link "
              "faults (all, or one daemon / region / link)");
  add_home(c_heal);
  c_heal->add_option("--region", region, "Only this daemon or region (and its links)");
  std::string heal_link;
  c_heal->add_option("--link", heal_link, "Only this link or link group");
  auto* c_failover = app.add_subcommand(
      "failover",
      "Promote the standby region. Unplanned (default): promote now, with what the standby "
      "holds (bumps the epoch; the old active region is fenced). --planned: the active region "
      "stops writes, replication drains, then the standby is promoted with nothing lost");
  add_home(c_failover);
  c_failover->add_option("--region", region, "Region to promote (default: the standby)");
  c_failover->add_option("--reason", reason, "Recorded with the failover");
  bool planned = false, planned_reprotect = false;
  double drain_timeout_s = kDefaultDrainTimeoutMs / 1000.0;
  c_failover->add_flag("--planned", planned, "Planned failover: zero data loss, needs both "
                                             "regions up and replicating");
  c_failover->add_option("--drain-timeout", drain_timeout_s,
                         "--planned: seconds to wait for replication to drain before giving up "
                         "(nothing changes then)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 600.0));
  c_failover->add_flag("--reprotect", planned_reprotect,
                       "--planned: replicate back to the former active region at once (default: "
                       "leave the new active region unprotected until `drsim reprotect`)");
  auto* c_reprotect = app.add_subcommand(
      "reprotect",
      "Reverse replication after a failover: the active region replicates to the other one. A "
      "delta from the last common (epoch, seq) when the other region kept its state (its "
      "unreplicated writes are rolled back), else a full copy. Prints bytes and time");
  add_home(c_reprotect);
  std::string reprotect_reason = "operator request via drsim reprotect";
  c_reprotect->add_option("--region", region, "The active region (default: whichever is active)");
  c_reprotect->add_option("--reason", reprotect_reason, "Recorded with the re-protect");
  auto* c_failback = app.add_subcommand(
      "failback",
      "Return to the primary region: planned failover to the primary (zero loss), then "
      "re-protect so the secondary protects it again. Needs the pair re-protected first");
  add_home(c_failback);
  std::string failback_reason = "operator request via drsim failback";
  c_failback->add_option("--reason", failback_reason, "Recorded with the failback");
  c_failback->add_option("--drain-timeout", drain_timeout_s,
                         "Seconds to wait for replication to drain")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 600.0));
  std::string history;
  bool check_json = false;
  auto* c_check = app.add_subcommand("check", "Check a recorded history against the final state "
                                              "of the active region");
  add_home(c_check);
  c_check->add_option("--history", history, "History file (default <home>/history.jsonl)");
  c_check->add_flag("--json", check_json, "Machine-readable output");

  // drill run / validate
  std::string drill_file, drill_home, drill_json;
  bool drill_keep = false;
  auto* c_drill = app.add_subcommand("drill", "Drills as code: YAML files with topology, "
                                              "workload, timed steps and expectations "
                                              "(docs/drills.md)");
  c_drill->require_subcommand(1);
  auto* c_drill_run = c_drill->add_subcommand(
      "run", "Run a drill end to end; exit 0 when every expectation holds, 1 when one fails, "
             "2 for a bad drill file");
  c_drill_run->add_option("file", drill_file, "Drill file (YAML)")->required();
  c_drill_run->add_option("--home", drill_home, "Directory to use (default: a new "
                                                "/tmp/drsim-drill-*)");
  c_drill_run->add_option("--json", drill_json, "Where to write the JSON report "
                                                "(default <home>/report.json)");
  c_drill_run->add_flag("--keep", drill_keep, "Leave the topology up afterwards");
  auto* c_drill_validate = c_drill->add_subcommand("validate", "Check a drill file without "
                                                               "running it");
  c_drill_validate->add_option("file", drill_file, "Drill file (YAML)")->required();

  BackupCommands backup(app, home);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  if (c_demo->parsed()) {
    if (!demo_config.empty()) {
      auto cfg = load_topology_config(demo_config);
      if (!cfg.is_ok()) {
        std::fprintf(stderr, "drsim: %s\n", cfg.status().message().c_str());
        return 2;
      }
      demo.config = *cfg;
    }
    demo.fault = demo_fault == "kill"     ? FaultKind::kKill
                 : demo_fault == "outage" ? FaultKind::kOutage
                                          : FaultKind::kPause;
    return run_demo(demo);
  }
  if (c_drill->parsed()) {
    auto drill = load_drill(drill_file);
    if (!drill.is_ok()) {
      std::fprintf(stderr, "drsim: %s\n", drill.status().message().c_str());
      return 2;
    }
    if (c_drill_validate->parsed()) {
      std::printf("%s: drill '%s' is valid (%zu steps)\n", drill_file.c_str(),
                  drill->name.c_str(), drill->steps.size());
      for (size_t i = 0; i < drill->steps.size(); ++i) {
        std::printf("  %2zu. line %-3d %s\n", i + 1, drill->steps[i].line,
                    drill->steps[i].describe().c_str());
      }
      return 0;
    }
    return run_drill(*drill, {drill_home, drill_json, drill_keep});
  }
  if (backup.parsed()) return backup.run();
  if (c_up->parsed()) return cmd_up(home, up_config);
  if (c_down->parsed()) return cmd_down(home);
  if (c_status->parsed()) return cmd_status(home, status_json);
  if (c_load->parsed()) {
    if (!load_workloads.empty()) {
      size_t start = 0;
      while (start <= load_workloads.size()) {
        size_t comma = load_workloads.find(',', start);
        if (comma == std::string::npos) comma = load_workloads.size();
        load.options.workloads.push_back(load_workloads.substr(start, comma - start));
        start = comma + 1;
      }
    }
    load.options.resolve = load_resolve == "dns" ? ResolveMode::kDns : ResolveMode::kGrpc;
    return cmd_load(home, load);
  }
  if (c_inject->parsed()) {
    std::map<std::string, std::string> params;
    for (const auto& [flag, value] : inject_params) {
      if (c_inject->count(flag) > 0) params[flag] = value;
    }
    if (c_inject->count("--region") > 0) params["--region"] = region;
    return cmd_inject(home, fault, params);
  }
  if (c_heal->parsed()) {
    if (!region.empty() && !heal_link.empty()) {
      std::fprintf(stderr, "drsim: heal: give --region or --link, not both\n");
      return 2;
    }
    return cmd_heal(home, region.empty() ? heal_link : region);
  }
  uint32_t drain_ms = static_cast<uint32_t>(drain_timeout_s * 1000.0);
  if (c_failover->parsed()) {
    if (!planned && (c_failover->count("--drain-timeout") > 0 || planned_reprotect)) {
      std::fprintf(stderr, "drsim: failover: --drain-timeout and --reprotect need --planned\n");
      return 2;
    }
    if (planned) return cmd_planned_failover(home, region, reason, drain_ms, planned_reprotect);
    return cmd_failover(home, region, reason);
  }
  if (c_reprotect->parsed()) return cmd_reprotect(home, region, reprotect_reason);
  if (c_failback->parsed()) return cmd_failback(home, failback_reason, drain_ms);
  if (c_check->parsed()) return cmd_check(home, history, check_json);
  return 2;
}
