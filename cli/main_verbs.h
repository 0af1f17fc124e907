// The verbs of `drsim` (cli/main.cc wires them): every subcommand, the variables its options
// parse into, and the dispatch of the parsed one to cli/commands.cc and the other verb files.
// The subcommands are added by family — main_verbs_topology.cc (demo, up, down, attach, status,
// load, inject, heal, failover, cleanup), main_verbs_recovery.cc (Site Recovery, plans,
// re-protect, failback, check, drill, certs) — and main_verbs_run.cc runs the one parsed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/backup_commands.h"
#include "cli/certs_rotate.h"
#include "cli/commands.h"
#include "cli/demo.h"
#include "cli/deploy_commands.h"
#include "cli/drill.h"
#include "cli/json_output.h"
#include "cli/junit_report.h"
#include "cli/plan_commands.h"
#include "cli/protection.h"
#include "cli/recovery_commands.h"
#include "cli/sim_command.h"
#include "cli/site_recovery.h"
#include "cli/topology.h"

namespace drsim::cli {

struct CliVerbs {
  // Adds every verb to `app` (the variables below are bound to their options).
  void add(CLI::App& app);
  // Runs the verb `app.parse` chose; its exit code (2 for bad usage).
  int run();

 private:
  void add_home(CLI::App* cmd) {
    cmd->add_option("--home", home, "Directory of the local topology (state, data, logs)")
        ->capture_default_str();
  }
  // By family, each over one function per verb or small group of verbs.
  void add_topology_verbs(CLI::App& app);
  void add_demo_verb(CLI::App& app);
  void add_up_down_verbs(CLI::App& app);
  void add_load_verb(CLI::App& app);
  void add_stale_client_options();
  void add_failover_verbs(CLI::App& app);
  void add_inject_verb(CLI::App& app);
  void add_failover_verb(CLI::App& app);
  void add_failover_point_options();
  void add_recovery_verbs(CLI::App& app);
  void add_protect_verb(CLI::App& app);
  void add_item_verbs(CLI::App& app);
  void add_change_point_verb(CLI::App& app);
  void add_plan_verbs(CLI::App& app);
  void add_plan_create_verb();
  void add_plan_run_verb();
  void add_reprotect_verbs(CLI::App& app);
  void add_drill_verbs(CLI::App& app);
  void add_drill_export_verb();
  void add_certs_verbs(CLI::App& app);
  int run_demo_verb();
  // The exit code of the parsed verb of that family; nullopt when none of them was parsed.
  std::optional<int> run_topology_verb();
  std::optional<int> run_recovery_verb();
  int run_drill_verb();
  int run_load_verb();
  int run_failover_verb();
  uint32_t drain_ms() const { return static_cast<uint32_t>(drain_timeout_s * 1000.0); }

  std::string home = ".drsim";
  DemoOptions demo;
  std::string demo_config, demo_fault = "kill";
  CLI::App* c_demo = nullptr;
  std::string up_config;
  CLI::App* c_up = nullptr;
  bool up_json = false;
  CLI::App* c_down = nullptr;
  bool down_json = false;
  std::string attach_config;
  CLI::App* c_attach = nullptr;
  bool attach_json = false;
  bool status_json = false;
  CLI::App* c_status = nullptr;
  LoadCommand load;
  std::string load_workloads;
  CLI::App* c_load = nullptr;
  uint32_t load_deadline_ms = 1000, stale_deadline_ms = 10000;
  std::string stale_reresolve = "3";
  std::string load_resolve = "grpc";
  std::string fault, region, reason = "operator request via drsim failover";
  CLI::App* c_inject = nullptr;
  std::map<std::string, std::string> inject_params;
  bool inject_json = false;
  CLI::App* c_heal = nullptr;
  std::string heal_link;
  bool heal_json = false;
  CLI::App* c_failover = nullptr;
  bool force_without_witness = false;
  bool force_healthy = false;
  bool planned = false, planned_reprotect = false, failover_json = false;
  double drain_timeout_s = kDefaultDrainTimeoutMs / 1000.0;
  bool unplanned = false;
  PointFailoverOptions point_failover;
  bool test_failover = false, test_cleanup = false;
  CLI::App* c_cleanup = nullptr;
  bool verb_json = false;
  ProtectOptions protect;
  CLI::App* c_protect = nullptr;
  std::vector<std::string> protect_items;
  std::string protect_group;
  bool protect_json = false;
  bool sr_json = false;
  CLI::App* c_items = nullptr;
  std::string points_item;
  CLI::App* c_points = nullptr;
  std::vector<std::string> commit_items;
  CLI::App* c_commit = nullptr;
  CLI::App* c_jobs = nullptr;
  ChangePointOptions change_point;
  CLI::App* c_change_point = nullptr;
  CLI::App* c_plan = nullptr;
  PlanCreateOptions plan_create;
  CLI::App* c_plan_create = nullptr;
  bool plan_create_json = false;
  bool plan_json = false;
  CLI::App* c_plan_list = nullptr;
  std::string plan_name;
  CLI::App* c_plan_show = nullptr;
  PlanRunOptions plan_run;
  bool plan_test = false, plan_planned = false, plan_unplanned = false;
  CLI::App* c_plan_run = nullptr;
  double resume_wait_s = 300;
  CLI::App* c_plan_resume = nullptr;
  CLI::App* c_reprotect = nullptr;
  std::string reprotect_reason = "operator request via drsim reprotect";
  bool action_json = false;
  CLI::App* c_failback = nullptr;
  std::string failback_reason = "operator request via drsim failback";
  std::string history;
  bool check_json = false;
  CLI::App* c_check = nullptr;
  std::string drill_file, drill_home, drill_json, drill_junit;
  bool drill_keep = false, drill_attached = false;
  CLI::App* c_drill = nullptr;
  CLI::App* c_drill_run = nullptr;
  std::string drill_placement, drill_subnet;
  CLI::App* c_drill_validate = nullptr;
  bool validate_json = false;
  std::string export_out = "-";
  std::vector<std::string> export_namespaces;
  bool export_chaos_mesh = false;
  CLI::App* c_drill_export = nullptr;
  std::string certs_out;
  std::vector<std::string> certs_names;
  CLI::App* c_certs = nullptr;
  CLI::App* c_certs_make = nullptr;
  CLI::App* c_certs_rotate = nullptr;
  std::string certs_rotate_dir;
  std::vector<std::string> certs_rotate_names;
  std::string certs_rotate_wait = "10s";
  void add_certs_rotate(CLI::App* certs);
  int run_certs_rotate();
  std::unique_ptr<BackupCommands> backup;
  std::unique_ptr<SimCommand> sim;
};

}  // namespace drsim::cli
