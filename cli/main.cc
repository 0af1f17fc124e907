// drsim: the command line people type. Parses the verb and its flags, then
// hands over to cli/commands.cc or cli/demo.cc.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/backup_commands.h"
#include "cli/commands.h"
#include "cli/demo.h"
#include "cli/deploy_commands.h"
#include "cli/drill.h"
#include "cli/interrupt.h"
#include "cli/json_output.h"
#include "cli/junit_report.h"
#include "cli/plan_commands.h"
#include "cli/protection.h"
#include "cli/recovery_commands.h"
#include "cli/sim_command.h"
#include "cli/site_recovery.h"
#include "cli/topology.h"

int main(int argc, char** argv) {
  using namespace drsim::cli;
  // Before any thread exists: Ctrl-C / SIGTERM / SIGHUP stop what this command started.
  install_interrupt_handling();
  CLI::App app{"drsim: disaster-recovery drill simulator. Runs a primary region, a secondary "
               "region and a Traffic Manager on loopback, drives client load, injects outages, "
               "and measures RTO, RPO and acknowledged writes lost.\n"
               "Start with `drsim demo`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("drsim ") + DRSIM_VERSION);
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
  bool up_json = false;
  c_up->add_flag("--json", up_json, "One JSON document: the daemons started, their addresses");
  auto* c_down = app.add_subcommand("down", "Stop every process `up` started (or detach what "
                                            "`attach` attached)");
  add_home(c_down);
  bool down_json = false;
  c_down->add_flag("--json", down_json, "One JSON document: what was stopped or detached");
  std::string attach_config;
  auto* c_attach = app.add_subcommand(
      "attach", "Drive daemons already running elsewhere (systemd, Kubernetes): status, load, "
                "failover, inject outage and the rest over RPC; starts nothing");
  add_home(c_attach);
  c_attach->add_option("--config", attach_config,
                       "Attach file: a topology file with an attach: section (addresses, "
                       "tls_dir); docs/deploy.md")
      ->required();
  bool attach_json = false;
  c_attach->add_flag("--json", attach_json, "One JSON document: the daemons attached");
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
  c_load->add_flag("--json", load.json,
                   "One JSON document at the end (docs/cli.md, JSON); progress goes to stderr");
  c_load->add_option("--history", load.history_path, "History file, written as the load goes "
                                                     "(default <home>/history/load-RUN.jsonl)");
  uint32_t load_deadline_ms = 1000, stale_deadline_ms = 10000;
  std::string stale_reresolve = "3";
  c_load->add_option("--deadline-ms", load_deadline_ms,
                     "Deadline of each call of the TTL-honouring clients")
      ->capture_default_str();
  c_load->add_option("--in-flight", load.options.in_flight,
                     "Calls each TTL-honouring client keeps in flight")
      ->capture_default_str();
  c_load->add_option("--stale-clients", load.options.stale.count,
                     "Stale clients: keep their cached address past a failover, several calls in "
                     "flight each")
      ->capture_default_str();
  c_load->add_option("--stale-in-flight", load.options.stale.in_flight,
                     "Calls each stale client keeps in flight")
      ->capture_default_str();
  c_load->add_option("--stale-deadline-ms", stale_deadline_ms, "Stale clients' call deadline")
      ->capture_default_str();
  c_load->add_option("--stale-rate", load.options.stale.rate,
                     "Operations per second, all stale clients together")
      ->capture_default_str();
  c_load->add_option("--stale-reresolve-after", stale_reresolve,
                     "Stale clients re-resolve after this many consecutive failed calls, or never")
      ->capture_default_str();
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
      "admin API and every link touching it drops); clock-skew --offset-ms N; clock-drift --drift-ppm N "
      "[--beyond-bound true] (refused beyond the lease's drift bound without it). On links "
      "(--link NAME or group): partition [--mode drop|blackhole], latency --latency-ms N "
      "[--jitter-ms N], bandwidth --bytes-per-second N [--burst-bytes N], reset [--keep], stall "
      "--stall-ms N [--interval-ms N], loss --percent N (kernel only); --direction up|down|both "
      "(default both); --mechanism kernel (placement: netns) has the kernel do partition and "
      "loss (nftables), bandwidth and latency (tc) inside drsim's namespaces. "
      "`drsim status` lists the links; docs/faults.md has every fault.");
  add_home(c_inject);
  c_inject->add_option("fault", fault, "One of: kill pause resume restart outage partition "
                                       "latency bandwidth reset stall loss clock-skew clock-drift")
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
      {"--drift-ppm", "clock-drift: rate in ppm, negative = slow (-20000 = 2 % slow)"},
      {"--beyond-bound", "clock-drift: true = inject a drift beyond the lease's bound anyway"},
      {"--percent", "loss: share of packets dropped, 1..100"},
      {"--mechanism", "link faults: proxy (drsim-faultproxy, default) or kernel (nftables / tc "
                      "inside the namespaces of a placement: netns topology)"},
  };
  for (const auto& [flag, help] : inject_flags) {
    c_inject->add_option(flag, inject_params[flag], help);
  }
  c_inject->add_option("--region", region, "The daemon: primary | secondary | trafficmgr");
  bool inject_json = false;
  c_inject->add_flag("--json", inject_json, "One JSON document: what was injected");
  auto* c_heal = app.add_subcommand(
      "heal", "End faults: resume paused daemons, end outages, reset clock offsets and drift, "
              "clear link faults (all, or one daemon / region / link)");
  add_home(c_heal);
  c_heal->add_option("--region", region, "Only this daemon or region (and its links)");
  std::string heal_link;
  c_heal->add_option("--link", heal_link, "Only this link or link group");
  bool heal_json = false;
  c_heal->add_flag("--json", heal_json, "One JSON document: what was healed");
  auto* c_failover = app.add_subcommand(
      "failover",
      "Promote the standby region. Unplanned (default): promote now, with what the standby "
      "holds (bumps the epoch; the old active region is fenced). --planned: the active region "
      "stops writes, replication drains, then the standby is promoted with nothing lost");
  add_home(c_failover);
  c_failover->add_option("--region", region, "Region to promote (default: the standby)");
  c_failover->add_option("--reason", reason, "Recorded with the failover");
  bool force_without_witness = false;
  c_failover->add_flag("--force-without-witness", force_without_witness,
                       "The lease witness (Traffic Manager) is unreachable: promote anyway after "
                       "waiting a full lease from now (without it such a failover is refused)");
  bool force_healthy = false;
  c_failover->add_flag("--force", force_healthy,
                       "Unplanned failover even though the active region is healthy and "
                       "replicating (without it that is refused: it fences a working region and "
                       "loses its unreplicated async writes; --planned loses nothing)");
  bool planned = false, planned_reprotect = false, failover_json = false;
  c_failover->add_flag("--json", failover_json,
                       "Machine-readable output (docs/cli.md, JSON)");
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
  bool unplanned = false;
  PointFailoverOptions point_failover;
  c_failover->add_flag("--unplanned", unplanned,
                       "Unplanned failover of the protected items to a recovery point: reports "
                       "the writes given up, then rolls the items back to the point and promotes");
  c_failover->add_option("--point", point_failover.point,
                         "--unplanned: latest | latest-processed | latest-app-consistent | custom")
      ->capture_default_str();
  c_failover->add_option("--point-id", point_failover.point_id,
                         "--point custom: the point's id (`drsim points`)");
  c_failover->add_option("--item", point_failover.items,
                         "--unplanned: protected item(s) (default: all; a region moves whole)");
  c_failover->add_flag("--dry-run", point_failover.dry_run,
                       "--unplanned: only report what the point gives up");
  bool test_failover = false, test_cleanup = false;
  c_failover->add_flag("--test", test_failover,
                       "Test failover of one protected item (--item, --point): an isolated copy "
                       "of the point serves on loopback; production replication continues");
  c_failover->add_flag("--test-cleanup", test_cleanup,
                       "End the test failover: stop the copy and delete it");
  auto* c_cleanup = app.add_subcommand("cleanup", "Same as `drsim failover --test-cleanup`");
  add_home(c_cleanup);
  // One --json for the Site Recovery action verbs (cleanup, protect --group, commit,
  // change-point, plan run / resume): one document, docs/cli.md "JSON".
  bool verb_json = false;
  c_cleanup->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");

  // Site Recovery: protect / items / points / commit / jobs
  ProtectOptions protect;
  auto* c_protect = app.add_subcommand(
      "protect", "Enable Site Recovery replication of a workload (a simulated VM) to the "
                 "standby region, with its replication policy; waits for initial replication");
  add_home(c_protect);
  std::vector<std::string> protect_items;
  std::string protect_group;
  c_protect
      ->add_option("--item", protect_items,
                   "Workload to protect (repeat it with --group: 2 to 16 workloads)")
      ->required();
  bool protect_json = false;
  c_protect->add_flag("--json", protect_json, "Machine-readable output (docs/cli.md, JSON)");
  c_protect->add_option("--group", protect_group,
                        "Protect the --item workloads as one multi-VM consistency group of this "
                        "name: one recovery point holds every member, and they fail over "
                        "together");
  c_protect->add_option("--source", protect.source,
                        "azure-vm | vmware-vm | hyperv-vm | physical-windows | physical-linux | "
                        "azure-stack-vm | aws-windows")
      ->capture_default_str();
  c_protect->add_flag("--hyperv-vmm", protect.hyperv_vmm, "hyperv-vm: its host is managed by VMM");
  c_protect->add_option("--target-kind", protect.target_kind, "azure-region | secondary-site")
      ->capture_default_str();
  c_protect->add_option("--os-disk", protect.os_disk,
                        "NAME:CAPACITY:USED (default: 128G capacity, used = the workload's data)");
  c_protect->add_option("--data-disk", protect.data_disks, "NAME:CAPACITY:USED, repeatable");
  c_protect->add_flag("--no-vm-agent", protect.no_vm_agent, "The VM agent is not installed");
  c_protect->add_option("--retention", protect.retention, "Recovery point retention (default 1d, "
                                                          "at most 15d)");
  c_protect->add_option("--app-consistent", protect.app_consistent,
                        "App-consistent snapshot frequency: off (default) or 1h or more");
  c_protect->add_option("--rpo-threshold", protect.rpo_threshold,
                        "Health warns above this RPO (default 15m, at least 5m)");
  c_protect->add_option("--wait", protect.wait_s, "Seconds to wait for initial replication")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  bool sr_json = false;
  auto* c_items = app.add_subcommand("items", "Protected items: state, health, points");
  add_home(c_items);
  c_items->add_flag("--json", sr_json, "Machine-readable output");
  std::string points_item;
  auto* c_points = app.add_subcommand("points", "Recovery points: time (drsim clock), seq, type");
  add_home(c_points);
  c_points->add_option("--item", points_item, "Only this item");
  c_points->add_flag("--json", sr_json, "Machine-readable output");
  std::vector<std::string> commit_items;
  auto* c_commit = app.add_subcommand(
      "commit", "Commit an unplanned failover to its recovery point (drops the other points); "
                "re-protect follows");
  add_home(c_commit);
  c_commit->add_option("--item", commit_items,
                       "Item(s) to commit (default: every failed-over one)");
  c_commit->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");
  auto* c_jobs = app.add_subcommand("jobs", "Site Recovery jobs of both regions' vaults");
  add_home(c_jobs);
  c_jobs->add_flag("--json", sr_json, "Machine-readable output");

  // Change recovery point (after an unplanned failover, before commit)
  ChangePointOptions change_point;
  auto* c_change_point = app.add_subcommand(
      "change-point",
      "After an unplanned failover and before commit: move the failed-over items to another "
      "retained recovery point (the workloads roll to that point's checkpoint; writes made "
      "since the failover are discarded). Reports what it discards, regains or gives up first");
  add_home(c_change_point);
  c_change_point
      ->add_option("--point", change_point.point,
                   "latest-processed | latest-app-consistent | custom | "
                   "latest-multi-vm-processed | latest-multi-vm-app-consistent")
      ->capture_default_str();
  c_change_point->add_option("--point-id", change_point.point_id,
                             "--point custom: the point's id (`drsim points`)");
  c_change_point->add_option("--item", change_point.items,
                             "Failed-over item(s) (default: every failed-over one)");
  c_change_point->add_flag("--dry-run", change_point.dry_run,
                           "Only report what the change discards, regains or gives up");
  c_change_point->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");

  // Recovery plans
  auto* c_plan = app.add_subcommand(
      "plan",
      "Recovery plans: up to 7 ordered groups of protected items (a group fails over in "
      "parallel, groups in order), scripts and manual actions before/after a group");
  c_plan->require_subcommand(1);
  add_home(c_plan);  // `drsim plan --home H run ...` as well as `drsim plan run ... --home H`
  PlanCreateOptions plan_create;
  auto* c_plan_create = c_plan->add_subcommand(
      "create",
      "Create a plan: `drsim plan create NAME --group vm-a,vm-b --group vm-c "
      "--before-group 2:script:'curl -f ...' --after-group 1:manual:'check the DB'`");
  add_home(c_plan_create);
  c_plan_create->add_option("name", plan_create.name, "Plan name")->required();
  c_plan_create
      ->add_option("--group", plan_create.groups,
                   "Items of the next group, comma-separated (repeat, in order; a "
                   "consistency group by its name)")
      ->required();
  c_plan_create->add_option("--before-group", plan_create.before,
                            "N:script:COMMAND or N:manual:INSTRUCTION before group N's failover "
                            "(repeatable, runs in order)");
  c_plan_create->add_option("--after-group", plan_create.after,
                            "N:script:COMMAND or N:manual:INSTRUCTION after group N's failover");
  c_plan_create->add_option("--script-timeout", plan_create.script_timeout,
                            "A script running longer is killed and fails the run (default 60s, "
                            "real time)");
  bool plan_create_json = false;
  c_plan_create->add_flag("--json", plan_create_json,
                          "Machine-readable output (docs/cli.md, JSON)");
  bool plan_json = false;
  auto* c_plan_list = c_plan->add_subcommand("list", "Plans in the vault and their last run");
  add_home(c_plan_list);
  c_plan_list->add_flag("--json", plan_json, "Machine-readable output");
  std::string plan_name;
  auto* c_plan_show =
      c_plan->add_subcommand("show", "A plan's groups and hooks, and its last run's actions");
  add_home(c_plan_show);
  c_plan_show->add_option("name", plan_name, "Plan name")->required();
  c_plan_show->add_flag("--json", plan_json, "Machine-readable output");
  PlanRunOptions plan_run;
  bool plan_test = false, plan_planned = false, plan_unplanned = false;
  auto* c_plan_run = c_plan->add_subcommand(
      "run",
      "Run a plan as a test, planned or unplanned failover (a job); waits until it ends "
      "or suspends on a manual action");
  add_home(c_plan_run);
  c_plan_run->add_option("name", plan_run.name, "Plan name")->required();
  c_plan_run->add_flag("--test", plan_test, "Test failover: isolated copies, group by group");
  c_plan_run->add_flag("--planned", plan_planned,
                       "Planned failover: at group 1 the active region stops writes, "
                       "replication drains, the region is promoted with nothing lost");
  c_plan_run->add_flag("--unplanned", plan_unplanned,
                       "Unplanned failover: the region is promoted at group 1; later groups' "
                       "items refuse client ops until their group runs");
  c_plan_run
      ->add_option("--point", plan_run.point,
                   "latest | latest-processed | latest-app-consistent | custom | "
                   "latest-multi-vm-processed | latest-multi-vm-app-consistent")
      ->capture_default_str();
  c_plan_run->add_option("--point-id", plan_run.point_id, "--point custom: the point's id");
  c_plan_run->add_option("--reason", plan_run.reason, "Recorded with the failover");
  c_plan_run
      ->add_option("--wait", plan_run.wait_s,
                   "Seconds to wait for the run to end or suspend (0: do not wait)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  c_plan_run->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");
  double resume_wait_s = 300;
  auto* c_plan_resume = c_plan->add_subcommand(
      "resume",
      "Continue a run Suspended on a manual action (or, after a failed run, start the "
      "items it left not started)");
  add_home(c_plan_resume);
  c_plan_resume->add_option("name", plan_name, "Plan name")->required();
  c_plan_resume->add_option("--wait", resume_wait_s, "Seconds to wait for the run to settle")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  c_plan_resume->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");

  auto* c_reprotect = app.add_subcommand(
      "reprotect",
      "Reverse replication after a failover: the active region replicates to the other one. A "
      "delta from the last common (epoch, seq) when the other region kept its state (its "
      "unreplicated writes are rolled back), else a full copy. Prints bytes and time");
  add_home(c_reprotect);
  std::string reprotect_reason = "operator request via drsim reprotect";
  c_reprotect->add_option("--region", region, "The active region (default: whichever is active)");
  c_reprotect->add_option("--reason", reprotect_reason, "Recorded with the re-protect");
  bool action_json = false;
  c_reprotect->add_flag("--json", action_json, "Machine-readable output (docs/cli.md, JSON)");
  auto* c_failback = app.add_subcommand(
      "failback",
      "Return to the primary region: planned failover to the primary (zero loss), then "
      "re-protect so the secondary protects it again. Needs the pair re-protected first");
  add_home(c_failback);
  std::string failback_reason = "operator request via drsim failback";
  c_failback->add_option("--reason", failback_reason, "Recorded with the failback");
  c_failback->add_flag("--json", action_json, "Machine-readable output (docs/cli.md, JSON)");
  c_failback->add_option("--drain-timeout", drain_timeout_s,
                         "Seconds to wait for replication to drain")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 600.0));
  std::string history;
  bool check_json = false;
  auto* c_check = app.add_subcommand("check", "Check a recorded history against the final state "
                                              "of the active region");
  add_home(c_check);
  c_check->add_option("--history", history, "One history file (default: every run recorded in "
                                            "the home, checked together)");
  c_check->add_flag("--json", check_json, "Machine-readable output");

  // drill run / validate
  std::string drill_file, drill_home, drill_json, drill_junit;
  bool drill_keep = false, drill_attached = false;
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
  c_drill_run->add_option("--junit", drill_junit, "Also write JUnit XML there: one test case per "
                                                  "expectation, for CI test reports");
  c_drill_run->add_flag("--attached", drill_attached,
                        "Drill the daemons attached in --home (drsim attach) instead of starting "
                        "a topology: their timings, the drill's workloads; kill, pause, restart "
                        "and link faults are refused; nothing is stopped (docs/deploy.md)");
  std::string drill_placement, drill_subnet;
  c_drill_run->add_option("--placement", drill_placement,
                          "Run the drill's topology with this placement instead of its own: "
                          "loopback or netns (root; docs/deploy.md)")
      ->check(CLI::IsMember({"loopback", "netns"}));
  c_drill_run->add_option("--subnet", drill_subnet,
                          "With --placement netns: the namespaces' subnet (default the drill's, "
                          "else 10.213.0.0/24)");
  auto* c_drill_validate = c_drill->add_subcommand("validate", "Check a drill file without "
                                                               "running it");
  c_drill_validate->add_option("file", drill_file, "Drill file (YAML)")->required();
  bool validate_json = false;
  c_drill_validate->add_flag("--json", validate_json,
                             "One JSON document: the drill's name and steps, or why it is bad");
  std::string export_out = "-";
  std::vector<std::string> export_namespaces;
  bool export_chaos_mesh = false;
  auto* c_drill_export = c_drill->add_subcommand(
      "export", "Write a drill's faults as objects of another tool, to run them on a cluster "
                "(docs/deploy.md#chaos-mesh)");
  c_drill_export->add_option("file", drill_file, "Drill file (YAML)")->required();
  c_drill_export->add_flag("--chaos-mesh", export_chaos_mesh,
                           "Chaos Mesh objects (PodChaos, NetworkChaos, TimeChaos) whose "
                           "selectors match deploy/k8s's pods; faults with no equivalent are "
                           "listed on stderr and in a comment")
      ->required();
  c_drill_export->add_option("--out", export_out,
                             "- for stdout, or a directory: one file per object and a "
                             "kustomization.yaml (kubectl apply -k DIR)")
      ->capture_default_str();
  c_drill_export->add_option("--namespace", export_namespaces,
                             "NS (every daemon) or DAEMON=NS, repeatable: where the pods run "
                             "(default drsim; the two-namespace overlay: primary=drsim-primary "
                             "trafficmgr=drsim-primary secondary=drsim-secondary)")
      ->allow_extra_args(false);

  // certs make
  std::string certs_out;
  std::vector<std::string> certs_names;
  auto* c_certs = app.add_subcommand("certs", "Certificates for daemons that `drsim up` does not "
                                              "start (systemd, Kubernetes)");
  c_certs->require_subcommand(1);
  auto* c_certs_make = c_certs->add_subcommand(
      "make", "Make (or re-use) a topology CA and one certificate per identity in --out, as "
              "`drsim up` does under <home>/tls");
  c_certs_make->add_option("--out", certs_out, "Directory (made with mode 0700)")->required();
  c_certs_make->add_option("--names", certs_names,
                           "Identities (default: primary secondary trafficmgr faultproxy "
                           "operator test-failover)")
      ->delimiter(',')
      ->take_all();

  BackupCommands backup(app, home);
  SimCommand sim(app);

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
  if (c_certs_make->parsed()) return cmd_certs_make(certs_out, certs_names);
  if (c_drill->parsed()) {
    auto drill = load_drill(drill_file);
    if (!drill.is_ok() && c_drill_validate->parsed() && validate_json) {
      return print_json_error(drill.status());
    }
    if (!drill.is_ok()) {
      std::fprintf(stderr, "drsim: %s\n", drill.status().message().c_str());
      if (c_drill_run->parsed() && !drill_junit.empty()) {
        // CI shows a bad drill file as a failed test, not a missing report.
        (void)write_junit_file(drill_junit,
                               {{"drill", std::filesystem::path(drill_file).stem().string()},
                                {"source", drill_file},
                                {"problems", {"bad drill file: " + drill.status().message()}}});
      }
      return 2;
    }
    if (c_drill_export->parsed()) {
      return cmd_drill_export_chaos_mesh(*drill, export_out, export_namespaces);
    }
    if (c_drill_validate->parsed() && validate_json) {
      JsonObject steps = JsonObject::array();
      for (size_t i = 0; i < drill->steps.size(); ++i) {
        const DrillStep& step = drill->steps[i];
        steps.push_back({{"step", i + 1},
                         {"line", step.line},
                         {"action", step.describe()},
                         {"timeline", step.timeline_label()}});
      }
      print_json_document(json_ok({{"file", drill_file},
                                   {"name", drill->name},
                                   {"description", drill->description},
                                   {"steps", steps}}));
      return 0;
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
    if (drill_attached && (drill_keep || !drill_placement.empty() || !drill_subnet.empty())) {
      std::fprintf(stderr, "drsim: --attached drills daemons that run already: --keep, "
                           "--placement and --subnet do not apply\n");
      return 2;
    }
    if (!drill_placement.empty() || !drill_subnet.empty()) {
      if (drsim::Status s = override_placement(drill->topology, drill_placement, drill_subnet);
          !s.is_ok()) {
        std::fprintf(stderr, "drsim: %s\n", s.message().c_str());
        return 2;
      }
    }
    return run_drill(*drill, {drill_home, drill_json, drill_keep, drill_junit, drill_attached});
  }
  if (backup.parsed()) return backup.run();
  if (sim.parsed()) return sim.run();
  auto output_of = [](bool json) { return json ? Output::kJson : Output::kText; };
  if (c_up->parsed()) return cmd_up(home, up_config, output_of(up_json));
  if (c_down->parsed()) return cmd_down(home, output_of(down_json));
  if (c_attach->parsed()) return cmd_attach(home, attach_config, output_of(attach_json));
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
    load.options.op_timeout = std::chrono::milliseconds(load_deadline_ms);
    load.options.stale.deadline = std::chrono::milliseconds(stale_deadline_ms);
    if (stale_reresolve == "never") {
      load.options.stale.reresolve_after_failures.reset();
    } else {
      char* end = nullptr;
      unsigned long n = std::strtoul(stale_reresolve.c_str(), &end, 10);
      if (stale_reresolve.empty() || *end != '\0' || n < 1 || n > 1000) {
        std::fprintf(stderr, "drsim: --stale-reresolve-after: '%s' is not 1..1000 or never\n",
                     stale_reresolve.c_str());
        return 2;
      }
      load.options.stale.reresolve_after_failures = static_cast<uint32_t>(n);
    }
    return cmd_load(home, load);
  }
  if (c_inject->parsed()) {
    std::map<std::string, std::string> params;
    for (const auto& [flag, value] : inject_params) {
      if (c_inject->count(flag) > 0) params[flag] = value;
    }
    if (c_inject->count("--region") > 0) params["--region"] = region;
    return cmd_inject(home, fault, params, output_of(inject_json));
  }
  if (c_heal->parsed()) {
    if (!region.empty() && !heal_link.empty()) {
      std::fprintf(stderr, "drsim: heal: give --region or --link, not both\n");
      return 2;
    }
    return cmd_heal(home, region.empty() ? heal_link : region, !region.empty(),
                    output_of(heal_json));
  }
  uint32_t drain_ms = static_cast<uint32_t>(drain_timeout_s * 1000.0);
  if (c_failover->parsed()) {
    if (!planned && (c_failover->count("--drain-timeout") > 0 || planned_reprotect)) {
      std::fprintf(stderr, "drsim: failover: --drain-timeout and --reprotect need --planned\n");
      return 2;
    }
    bool point_flags = c_failover->count("--point") > 0 || c_failover->count("--point-id") > 0 ||
                       c_failover->count("--item") > 0 || point_failover.dry_run;
    if (int(planned) + int(unplanned) + int(test_failover) + int(test_cleanup) > 1) {
      std::fprintf(stderr, "drsim: failover: give one of --planned, --unplanned, --test, "
                           "--test-cleanup\n");
      return 2;
    }
    if (test_cleanup) {
      if (point_flags || !region.empty()) {
        std::fprintf(stderr, "drsim: failover: --test-cleanup takes no other flag\n");
        return 2;
      }
      return cmd_test_cleanup(home, failover_json);
    }
    if (test_failover) {
      if (point_failover.dry_run || !region.empty() || point_failover.items.size() > 1) {
        std::fprintf(stderr, "drsim: failover: --test takes one --item and --point/--point-id\n");
        return 2;
      }
      TestFailoverOptions t;
      t.item = point_failover.items.empty() ? "" : point_failover.items[0];
      t.point = point_failover.point;
      t.point_id = point_failover.point_id;
      return cmd_test_failover(home, t, failover_json);
    }
    if (!unplanned && point_flags) {
      std::fprintf(stderr, "drsim: failover: --point, --point-id, --item and --dry-run need "
                           "--unplanned or --test\n");
      return 2;
    }
    if (unplanned) {
      if (!region.empty()) {
        std::fprintf(stderr, "drsim: failover: --unplanned fails over to the region holding the "
                             "protected items; drop --region\n");
        return 2;
      }
      point_failover.reason = reason;
      return cmd_point_failover(home, point_failover, failover_json);
    }
    const Output output = failover_json ? Output::kJson : Output::kText;
    if (planned) {
      return cmd_planned_failover(home, region, reason, drain_ms, planned_reprotect, output);
    }
    return cmd_failover(home, region, reason,
                        force_without_witness ? WitnessCheck::kForceWithout
                                              : WitnessCheck::kRequire,
                        force_healthy ? HealthyActive::kForce : HealthyActive::kRefuse, output);
  }
  if (c_cleanup->parsed()) return cmd_test_cleanup(home, verb_json);
  if (c_protect->parsed()) {
    if (!protect_group.empty()) {
      return cmd_protect_group(home, protect_group, protect_items, protect, protect_json);
    }
    if (protect_items.size() != 1) {
      std::fprintf(stderr, "drsim: protect: give one --item, or --group NAME with 2 to 16\n");
      return 2;
    }
    protect.item = protect_items[0];
    return cmd_protect(home, protect, protect_json);
  }
  if (c_change_point->parsed()) return cmd_change_point(home, change_point, verb_json);
  if (c_plan_create->parsed()) return cmd_plan_create(home, plan_create, plan_create_json);
  if (c_plan_list->parsed()) return cmd_plan_list(home, plan_json);
  if (c_plan_show->parsed()) return cmd_plan_show(home, plan_name, plan_json);
  if (c_plan_run->parsed()) {
    if (int(plan_test) + int(plan_planned) + int(plan_unplanned) != 1) {
      std::fprintf(stderr, "drsim: plan run: give one of --test, --planned, --unplanned\n");
      return 2;
    }
    plan_run.kind = plan_test ? "test" : plan_planned ? "planned" : "unplanned";
    return cmd_plan_run(home, plan_run, verb_json);
  }
  if (c_plan_resume->parsed()) return cmd_plan_resume(home, plan_name, resume_wait_s, verb_json);
  if (c_items->parsed()) return cmd_items(home, sr_json);
  if (c_points->parsed()) return cmd_points(home, points_item, sr_json);
  if (c_commit->parsed()) return cmd_commit(home, commit_items, verb_json);
  if (c_jobs->parsed()) return cmd_jobs(home, sr_json);
  const Output action_output = action_json ? Output::kJson : Output::kText;
  if (c_reprotect->parsed()) return cmd_reprotect(home, region, reprotect_reason, action_output);
  if (c_failback->parsed()) return cmd_failback(home, failback_reason, drain_ms, action_output);
  if (c_check->parsed()) return cmd_check(home, history, check_json);
  return 2;
}
