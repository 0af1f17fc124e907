// `drsim` verbs, first family: demo, up / down / attach / status, load, inject, heal,
// failover and cleanup (cli/main_verbs.h).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli/main_verbs.h"

namespace drsim::cli {

// demo, up / down / attach / status and load, in the order `drsim --help` lists them.
void CliVerbs::add_topology_verbs(CLI::App& app) {
  add_demo_verb(app);
  add_up_down_verbs(app);
  add_load_verb(app);
}

// demo: the default drill.
void CliVerbs::add_demo_verb(CLI::App& app) {
  c_demo = app.add_subcommand(
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
}

// up / down / attach / status.
void CliVerbs::add_up_down_verbs(CLI::App& app) {
  c_up = app.add_subcommand("up", "Start secondary, primary and Traffic Manager on "
                                        "loopback and wait until healthy");
  add_home(c_up);
  c_up->add_option("--config", up_config, "Topology YAML (default: the embedded one, see "
                                          "docs/cli.md)");
  c_up->add_flag("--json", up_json, "One JSON document: the daemons started, their addresses");
  c_down = app.add_subcommand("down", "Stop every process `up` started (or detach what "
                                            "`attach` attached)");
  add_home(c_down);
  c_down->add_flag("--json", down_json, "One JSON document: what was stopped or detached");
  c_attach = app.add_subcommand(
      "attach", "Drive daemons already running elsewhere (systemd, Kubernetes): status, load, "
                "failover, inject outage and the rest over RPC; starts nothing");
  add_home(c_attach);
  c_attach->add_option("--config", attach_config,
                       "Attach file: a topology file with an attach: section (addresses, "
                       "tls_dir); docs/deploy.md")
      ->required();
  c_attach->add_flag("--json", attach_json, "One JSON document: the daemons attached");
  c_status = app.add_subcommand("status", "Regions, roles, epochs, health, routing and "
                                                "replication lag");
  add_home(c_status);
  c_status->add_flag("--json", status_json, "Machine-readable output");

}

// load: the TTL-honouring clients' options, the stale clients', then how all resolve.
void CliVerbs::add_load_verb(CLI::App& app) {
  c_load = app.add_subcommand("load", "Drive client traffic through the Traffic Manager "
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
  c_load->add_option("--deadline-ms", load_deadline_ms,
                     "Deadline of each call of the TTL-honouring clients")
      ->capture_default_str();
  c_load->add_option("--in-flight", load.options.in_flight,
                     "Calls each TTL-honouring client keeps in flight")
      ->capture_default_str();
  add_stale_client_options();
  c_load->add_option("--resolve", load_resolve,
                     "How clients find their region: grpc (the Traffic Manager's Resolve RPC) "
                     "or dns (a UDP query to its DNS server, cached for the answer's TTL)")
      ->check(CLI::IsMember({"grpc", "dns"}))
      ->capture_default_str();
}

// load --stale-*.
void CliVerbs::add_stale_client_options() {
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
}

// inject / heal / failover / cleanup.
void CliVerbs::add_failover_verbs(CLI::App& app) {
  add_inject_verb(app);
  c_heal = app.add_subcommand(
      "heal", "End faults: resume paused daemons, end outages, reset clock offsets and drift, "
              "clear link faults (all, or one daemon / region / link)");
  add_home(c_heal);
  c_heal->add_option("--region", region, "Only this daemon or region (and its links)");
  c_heal->add_option("--link", heal_link, "Only this link or link group");
  c_heal->add_flag("--json", heal_json, "One JSON document: what was healed");
  add_failover_verb(app);
  c_cleanup = app.add_subcommand("cleanup", "Same as `drsim failover --test-cleanup`");
  add_home(c_cleanup);
  // One --json for the Site Recovery action verbs (cleanup, protect --group, commit,
  // change-point, plan run / resume): one document, docs/cli.md "JSON".
  c_cleanup->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");
}

// inject: a fault on a daemon, or on links.
void CliVerbs::add_inject_verb(CLI::App& app) {
  c_inject = app.add_subcommand(
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
  c_inject->add_flag("--json", inject_json, "One JSON document: what was injected");
}

// failover: unplanned (default) or --planned; then the recovery-point and test options.
void CliVerbs::add_failover_verb(CLI::App& app) {
  c_failover = app.add_subcommand(
      "failover",
      "Promote the standby region. Unplanned (default): promote now, with what the standby "
      "holds (bumps the epoch; the old active region is fenced). --planned: the active region "
      "stops writes, replication drains, then the standby is promoted with nothing lost");
  add_home(c_failover);
  c_failover->add_option("--region", region, "Region to promote (default: the standby)");
  c_failover->add_option("--reason", reason, "Recorded with the failover");
  c_failover->add_flag("--force-without-witness", force_without_witness,
                       "The lease witness (Traffic Manager) is unreachable: promote anyway after "
                       "waiting a full lease from now (without it such a failover is refused)");
  c_failover->add_flag("--force", force_healthy,
                       "Unplanned failover even though the active region is healthy and "
                       "replicating (without it that is refused: it fences a working region and "
                       "loses its unreplicated async writes; --planned loses nothing)");
  c_failover->add_flag("--json", failover_json,
                       "Machine-readable output (docs/cli.md, JSON)");
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
  add_failover_point_options();
}

// failover --unplanned / --test and their options.
void CliVerbs::add_failover_point_options() {
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
  c_failover->add_flag("--test", test_failover,
                       "Test failover of one protected item (--item, --point): an isolated copy "
                       "of the point serves on loopback; production replication continues");
  c_failover->add_flag("--test-cleanup", test_cleanup,
                       "End the test failover: stop the copy and delete it");
}

}  // namespace drsim::cli
