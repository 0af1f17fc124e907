// `drsim`: running the verb that was parsed (cli/main_verbs.h).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "cli/main_verbs.h"
#include "cli/units.h"

namespace drsim::cli {

int CliVerbs::run_certs_rotate() {
  auto wait = parse_duration_text("--wait", certs_rotate_wait);
  if (!wait.is_ok()) {
    std::fprintf(stderr, "drsim: %s\n", wait.status().message().c_str());
    return 2;
  }
  if (!certs_rotate_dir.empty() && c_certs_rotate->count("--home") > 0) {
    std::fprintf(stderr, "drsim: certs rotate: --home and --dir: give one\n");
    return 2;
  }
  CertsRotateCommand cmd;
  cmd.home = home;
  cmd.dir = certs_rotate_dir;
  cmd.names = certs_rotate_names;
  cmd.wait = std::chrono::duration_cast<std::chrono::milliseconds>(*wait);
  return cmd_certs_rotate(cmd);
}

int CliVerbs::run() {
  if (c_demo->parsed()) return run_demo_verb();
  if (c_certs_make->parsed()) return cmd_certs_make(certs_out, certs_names);
  if (c_certs_rotate->parsed()) return run_certs_rotate();
  if (c_drill->parsed()) return run_drill_verb();
  if (backup->parsed()) return backup->run();
  if (sim->parsed()) return sim->run();
  if (std::optional<int> rc = run_topology_verb()) return *rc;
  if (std::optional<int> rc = run_recovery_verb()) return *rc;
  return 2;
}

// drsim demo: its --config and --fault.
int CliVerbs::run_demo_verb() {
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

// The verbs of main_verbs_topology.cc but demo.
std::optional<int> CliVerbs::run_topology_verb() {
  auto output_of = [](bool json) { return json ? Output::kJson : Output::kText; };
  if (c_up->parsed()) return cmd_up(home, up_config, output_of(up_json));
  if (c_down->parsed()) return cmd_down(home, output_of(down_json));
  if (c_attach->parsed()) return cmd_attach(home, attach_config, output_of(attach_json));
  if (c_status->parsed()) return cmd_status(home, status_json);
  if (c_load->parsed()) return run_load_verb();
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
  if (c_failover->parsed()) return run_failover_verb();
  if (c_cleanup->parsed()) return cmd_test_cleanup(home, verb_json);
  return std::nullopt;
}

// The verbs of main_verbs_recovery.cc but drill and certs.
std::optional<int> CliVerbs::run_recovery_verb() {
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
  if (c_failback->parsed()) return cmd_failback(home, failback_reason, drain_ms(), action_output);
  if (c_check->parsed()) return cmd_check(home, history, check_json);
  return std::nullopt;
}

// drsim drill run | validate | export.
int CliVerbs::run_drill_verb() {
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

// drsim load: the flags that need more than CLI11's parsing.
int CliVerbs::run_load_verb() {
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

// drsim failover: unplanned (default), --planned, --unplanned to a recovery point, --test,
// --test-cleanup; which flags go with which.
int CliVerbs::run_failover_verb() {
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
    return cmd_planned_failover(home, region, reason, drain_ms(), planned_reprotect, output);
  }
  return cmd_failover(home, region, reason,
                      force_without_witness ? WitnessCheck::kForceWithout
                                            : WitnessCheck::kRequire,
                      force_healthy ? HealthyActive::kForce : HealthyActive::kRefuse, output);
}

}  // namespace drsim::cli
