// `drsim` verbs, second family: Site Recovery (protect, items, points, commit, jobs,
// change-point), recovery plans, re-protect, failback, check, drill and certs
// (cli/main_verbs.h).
#include <string>
#include <vector>

#include "cli/main_verbs.h"

namespace drsim::cli {

// Site Recovery, recovery plans, re-protect, failback and check, in the order `drsim --help`
// lists them.
void CliVerbs::add_recovery_verbs(CLI::App& app) {
  add_protect_verb(app);
  add_item_verbs(app);
  add_change_point_verb(app);
  add_plan_verbs(app);
  add_reprotect_verbs(app);
}

// protect: Site Recovery replication of one workload or a consistency group.
void CliVerbs::add_protect_verb(CLI::App& app) {
  c_protect = app.add_subcommand(
      "protect", "Enable Site Recovery replication of a workload (a simulated VM) to the "
                 "standby region, with its replication policy; waits for initial replication");
  add_home(c_protect);
  c_protect
      ->add_option("--item", protect_items,
                   "Workload to protect (repeat it with --group: 2 to 16 workloads)")
      ->required();
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
}

// items / points / commit / jobs.
void CliVerbs::add_item_verbs(CLI::App& app) {
  c_items = app.add_subcommand("items", "Protected items: state, health, points");
  add_home(c_items);
  c_items->add_flag("--json", sr_json, "Machine-readable output");
  c_points = app.add_subcommand("points", "Recovery points: time (drsim clock), seq, type");
  add_home(c_points);
  c_points->add_option("--item", points_item, "Only this item");
  c_points->add_flag("--json", sr_json, "Machine-readable output");
  c_commit = app.add_subcommand(
      "commit", "Commit an unplanned failover to its recovery point (drops the other points); "
                "re-protect follows");
  add_home(c_commit);
  c_commit->add_option("--item", commit_items,
                       "Item(s) to commit (default: every failed-over one)");
  c_commit->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");
  c_jobs = app.add_subcommand("jobs", "Site Recovery jobs of both regions' vaults");
  add_home(c_jobs);
  c_jobs->add_flag("--json", sr_json, "Machine-readable output");
}

// change-point: after an unplanned failover, before commit.
void CliVerbs::add_change_point_verb(CLI::App& app) {
  c_change_point = app.add_subcommand(
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
}

// plan create / list / show / run / resume.
void CliVerbs::add_plan_verbs(CLI::App& app) {
  c_plan = app.add_subcommand(
      "plan",
      "Recovery plans: up to 7 ordered groups of protected items (a group fails over in "
      "parallel, groups in order), scripts and manual actions before/after a group");
  c_plan->require_subcommand(1);
  add_home(c_plan);  // `drsim plan --home H run ...` as well as `drsim plan run ... --home H`
  add_plan_create_verb();
  c_plan_list = c_plan->add_subcommand("list", "Plans in the vault and their last run");
  add_home(c_plan_list);
  c_plan_list->add_flag("--json", plan_json, "Machine-readable output");
  c_plan_show =
      c_plan->add_subcommand("show", "A plan's groups and hooks, and its last run's actions");
  add_home(c_plan_show);
  c_plan_show->add_option("name", plan_name, "Plan name")->required();
  c_plan_show->add_flag("--json", plan_json, "Machine-readable output");
  add_plan_run_verb();
  c_plan_resume = c_plan->add_subcommand(
      "resume",
      "Continue a run Suspended on a manual action (or, after a failed run, start the "
      "items it left not started)");
  add_home(c_plan_resume);
  c_plan_resume->add_option("name", plan_name, "Plan name")->required();
  c_plan_resume->add_option("--wait", resume_wait_s, "Seconds to wait for the run to settle")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  c_plan_resume->add_flag("--json", verb_json, "Machine-readable output (docs/cli.md, JSON)");
}

// plan create.
void CliVerbs::add_plan_create_verb() {
  c_plan_create = c_plan->add_subcommand(
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
  c_plan_create->add_flag("--json", plan_create_json,
                          "Machine-readable output (docs/cli.md, JSON)");
}

// plan run.
void CliVerbs::add_plan_run_verb() {
  c_plan_run = c_plan->add_subcommand(
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
}

// reprotect / failback / check.
void CliVerbs::add_reprotect_verbs(CLI::App& app) {
  c_reprotect = app.add_subcommand(
      "reprotect",
      "Reverse replication after a failover: the active region replicates to the other one. A "
      "delta from the last common (epoch, seq) when the other region kept its state (its "
      "unreplicated writes are rolled back), else a full copy. Prints bytes and time");
  add_home(c_reprotect);
  c_reprotect->add_option("--region", region, "The active region (default: whichever is active)");
  c_reprotect->add_option("--reason", reprotect_reason, "Recorded with the re-protect");
  c_reprotect->add_flag("--json", action_json, "Machine-readable output (docs/cli.md, JSON)");
  c_failback = app.add_subcommand(
      "failback",
      "Return to the primary region: planned failover to the primary (zero loss), then "
      "re-protect so the secondary protects it again. Needs the pair re-protected first");
  add_home(c_failback);
  c_failback->add_option("--reason", failback_reason, "Recorded with the failback");
  c_failback->add_flag("--json", action_json, "Machine-readable output (docs/cli.md, JSON)");
  c_failback->add_option("--drain-timeout", drain_timeout_s,
                         "Seconds to wait for replication to drain")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 600.0));
  c_check = app.add_subcommand("check", "Check a recorded history against the final state "
                                              "of the active region");
  add_home(c_check);
  c_check->add_option("--history", history, "One history file (default: every run recorded in "
                                            "the home, checked together)");
  c_check->add_flag("--json", check_json, "Machine-readable output");
}

// drill run / validate / export.
void CliVerbs::add_drill_verbs(CLI::App& app) {
  c_drill = app.add_subcommand("drill", "Drills as code: YAML files with topology, "
                                              "workload, timed steps and expectations "
                                              "(docs/drills.md)");
  c_drill->require_subcommand(1);
  c_drill_run = c_drill->add_subcommand(
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
  c_drill_run->add_option("--placement", drill_placement,
                          "Run the drill's topology with this placement instead of its own: "
                          "loopback or netns (root; docs/deploy.md)")
      ->check(CLI::IsMember({"loopback", "netns"}));
  c_drill_run->add_option("--subnet", drill_subnet,
                          "With --placement netns: the namespaces' subnet (default the drill's, "
                          "else 10.213.0.0/24)");
  c_drill_validate = c_drill->add_subcommand("validate", "Check a drill file without "
                                                               "running it");
  c_drill_validate->add_option("file", drill_file, "Drill file (YAML)")->required();
  c_drill_validate->add_flag("--json", validate_json,
                             "One JSON document: the drill's name and steps, or why it is bad");
  add_drill_export_verb();
}

// drill export.
void CliVerbs::add_drill_export_verb() {
  c_drill_export = c_drill->add_subcommand(
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
}

// certs make.
void CliVerbs::add_certs_verbs(CLI::App& app) {
  c_certs = app.add_subcommand("certs", "Certificates for daemons that `drsim up` does not "
                                              "start (systemd, Kubernetes)");
  c_certs->require_subcommand(1);
  c_certs_make = c_certs->add_subcommand(
      "make", "Make (or re-use) a topology CA and one certificate per identity in --out, as "
              "`drsim up` does under <home>/tls");
  c_certs_make->add_option("--out", certs_out, "Directory (made with mode 0700)")->required();
  c_certs_make->add_option("--names", certs_names,
                           "Identities (default: primary secondary trafficmgr faultproxy "
                           "operator test-failover)")
      ->delimiter(',')
      ->take_all();
  add_certs_rotate(c_certs);
}

void CliVerbs::add_certs_rotate(CLI::App* certs) {
  c_certs_rotate = certs->add_subcommand(
      "rotate", "Re-issue certificates from the same CA (new keys and serials); the running "
                "daemons of --home present them to new connections within 1 s, no restart");
  add_home(c_certs_rotate);
  c_certs_rotate->add_option("--dir", certs_rotate_dir,
                             "A `drsim certs make` directory instead of --home's (no daemon is "
                             "checked)");
  c_certs_rotate->add_option("--names", certs_rotate_names,
                             "Identities (default: every <identity>.crt in the directory)")
      ->delimiter(',')
      ->take_all();
  c_certs_rotate->add_option("--wait", certs_rotate_wait,
                             "How long the running daemons get to present the new certificates")
      ->capture_default_str();
}

void CliVerbs::add(CLI::App& app) {
  add_topology_verbs(app);
  add_failover_verbs(app);
  add_recovery_verbs(app);
  add_drill_verbs(app);
  add_certs_verbs(app);
  backup = std::make_unique<BackupCommands>(app, home);
  sim = std::make_unique<SimCommand>(app);
}

}  // namespace drsim::cli
