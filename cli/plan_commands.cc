#include "cli/plan_commands.h"

#include <thread>

#include <fmt/format.h>

#include "cli/json_output.h"
#include "cli/rpc_clients.h"
#include "cli/units.h"

namespace drsim::cli {

using namespace drsim::v1;
using namespace std::chrono_literals;

namespace {

constexpr auto kPollEvery = 100ms;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

// "N:script:CMD" / "N:manual:TEXT" into group N's hooks.
Status add_hook(const std::string& flag, const std::string& text, RecoveryPlanSpec* spec,
                bool before) {
  auto c1 = text.find(':');
  auto c2 = c1 == std::string::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string::npos) {
    return invalid_argument(flag + ": '" + text +
                            "' must be N:script:COMMAND or N:manual:INSTRUCTION");
  }
  std::string n = text.substr(0, c1);
  std::string kind = text.substr(c1 + 1, c2 - c1 - 1);
  int group = 0;
  for (char c : n) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || group > 100) {
      return invalid_argument(flag + ": '" + n + "' is not a group number");
    }
    group = group * 10 + (c - '0');
  }
  if (n.empty() || group < 1 || group > spec->groups_size()) {
    return invalid_argument(fmt::format("{}: group {} does not exist (the plan has {} group(s))",
                                        flag, n, spec->groups_size()));
  }
  if (kind != "script" && kind != "manual") {
    return invalid_argument(flag + ": '" + kind + "' is not script or manual");
  }
  auto* g = spec->mutable_groups(group - 1);
  auto* h = before ? g->add_before() : g->add_after();
  h->set_kind(kind);
  h->set_text(text.substr(c2 + 1));
  return Status::ok();
}

std::string clock_label(int64_t unix_nanos) {
  std::string full = format_wall(unix_nanos);  // "YYYY-MM-DD HH:MM:SS.mmm"
  return full.size() > 11 ? full.substr(11) : full;
}

std::string action_line(const PlanActionInfo& a) {
  std::string took =
      a.finished_unix_nanos() > 0
          ? fmt::format(" ({})", human_duration_ms(static_cast<uint64_t>(
                                     (a.finished_unix_nanos() - a.started_unix_nanos()) / 1'000'000)))
          : "";
  std::string line =
      fmt::format("  {}  {}: {}{}", clock_label(a.started_unix_nanos()), a.text(), a.state(), took);
  if (!a.error().empty()) line += " — " + a.error();
  return line;
}

bool run_settled(const PlanInfo& p) {
  return p.has_run() && p.run().state() != "InProgress" && p.run().state() != "NotStarted";
}

// Polls the plan until its run settles (ended or Suspended) or `wait_s` passes.
Result<PlanInfo> wait_settled(const std::string& address, const std::string& name, double wait_s) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  while (true) {
    auto p = sr_get_plan(address, name);
    if (!p.is_ok()) return p.status();
    if (run_settled(*p) || std::chrono::steady_clock::now() >= deadline) return p;
    std::this_thread::sleep_for(kPollEvery);
  }
}

// What a settled (or still running) run says, and what to do next.
void report_run(TopologyState& state, const PlanInfo& p, std::vector<std::string>* lines) {
  const auto& r = p.run();
  for (const auto& a : r.actions()) lines->push_back(action_line(a));
  const std::string& name = p.plan().name();
  if (r.state() == "Suspended") {
    lines->push_back(
        fmt::format("job {} Suspended: manual action '{}'; when done: `drsim plan "
                    "resume {}`",
                    r.job_id(), r.waiting_for(), name));
  } else if (r.state() == "InProgress") {
    lines->push_back(fmt::format("job {} still InProgress; follow it with `drsim plan show {}`",
                                 r.job_id(), name));
  } else {
    lines->push_back(fmt::format("job {} {}{}", r.job_id(), r.state(),
                                 r.error().empty() ? "" : ": " + r.error()));
  }
  if (r.not_started_size() > 0) {
    std::string held;
    for (const auto& w : r.not_started()) held += (held.empty() ? "" : ", ") + w;
    lines->push_back(
        fmt::format("  not started yet in the new active region (client ops refused): {}{}", held,
                    r.state() == "Failed" ? fmt::format("; fix what failed, then `drsim plan "
                                                        "resume {}` starts them",
                                                        name)
                                          : ""));
  }
  if (r.state() == "Succeeded" && r.kind() == "test failover") {
    for (const auto& c : r.copies()) {
      std::string process = std::string(kTestFailoverProcess) + "-" + c.item();
      auto started = start_test_copy(state, process, c.item(), c.copy_dir());
      if (!started.is_ok()) {
        lines->push_back(fmt::format("  {}: {}", c.item(), started.status().message()));
        continue;
      }
      lines->push_back(fmt::format(
          "  group {}: isolated copy of {} serving at {} (pid {}); clean up with `drsim "
          "failover --test-cleanup`",
          c.group(), c.item(), started->address, started->pid));
    }
  }
  if (r.state() == "Succeeded" && r.kind() == "unplanned failover") {
    lines->push_back(
        "  commit with `drsim commit`, or change the point first (`drsim "
        "change-point`)");
  }
}

}  // namespace

Result<RecoveryPlanSpec> build_plan_spec(const PlanCreateOptions& o) {
  RecoveryPlanSpec spec;
  if (o.name.empty()) return invalid_argument("NAME: name the plan");
  spec.set_name(o.name);
  if (o.groups.empty()) {
    return invalid_argument("--group: a plan needs at least one group (--group vm-a,vm-b)");
  }
  for (size_t i = 0; i < o.groups.size(); ++i) {
    auto* g = spec.add_groups();
    for (const auto& item : split(o.groups[i], ',')) {
      if (item.empty()) {
        return invalid_argument(
            fmt::format("--group {}: '{}' holds an empty item name", i + 1, o.groups[i]));
      }
      g->add_items(item);
    }
  }
  for (const auto& h : o.before) {
    if (Status s = add_hook("--before-group", h, &spec, true); !s.is_ok()) return s;
  }
  for (const auto& h : o.after) {
    if (Status s = add_hook("--after-group", h, &spec, false); !s.is_ok()) return s;
  }
  if (!o.script_timeout.empty()) {
    auto d = parse_duration_text("--script-timeout", o.script_timeout);
    if (!d.is_ok()) return d.status();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
    if (ms <= 0) return invalid_argument("--script-timeout: must be positive");
    spec.set_script_timeout_ms(static_cast<uint64_t>(ms));
  }
  return spec;
}

std::vector<std::string> describe_plan(const PlanInfo& p) {
  std::vector<std::string> lines;
  const auto& plan = p.plan();
  uint64_t timeout = plan.script_timeout_ms() == 0 ? 60'000 : plan.script_timeout_ms();
  lines.push_back(fmt::format("plan {}: {} group(s), scripts time out after {} ms", plan.name(),
                              plan.groups_size(), timeout));
  for (int g = 0; g < plan.groups_size(); ++g) {
    const auto& group = plan.groups(g);
    for (const auto& h : group.before()) {
      lines.push_back(fmt::format("  group {} before: {} '{}'", g + 1, h.kind(), h.text()));
    }
    std::string items;
    for (const auto& i : group.items()) items += (items.empty() ? "" : ", ") + i;
    lines.push_back(fmt::format("  group {}: [{}] in parallel", g + 1, items));
    for (const auto& h : group.after()) {
      lines.push_back(fmt::format("  group {} after:  {} '{}'", g + 1, h.kind(), h.text()));
    }
  }
  if (p.has_run()) {
    const auto& r = p.run();
    lines.push_back(fmt::format("last run: {} (job {}), {}{}", r.kind(), r.job_id(), r.state(),
                                r.error().empty() ? "" : ": " + r.error()));
    for (const auto& a : r.actions()) lines.push_back(action_line(a));
    if (r.state() == "Suspended") lines.push_back("  waiting for: " + r.waiting_for());
    for (const auto& w : r.not_started()) lines.push_back("  not started yet: " + w);
  } else {
    lines.push_back("never run");
  }
  return lines;
}

Result<PlanInfo> run_plan_create(const TopologyState& state, const RecoveryPlanSpec& plan,
                                 std::vector<std::string>* lines) {
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  auto r = sr_create_plan(state.at(*vault).address, plan);
  if (!r.is_ok()) return r.status();
  lines->push_back(fmt::format("recovery plan {} created in the vault in {}", plan.name(), *vault));
  auto more = describe_plan(*r);
  lines->insert(lines->end(), more.begin() + 1, more.end() - 1);  // groups, not "never run"
  return r;
}

Result<PlanInfo> run_plan(TopologyState& state, const PlanRunOptions& o,
                          std::vector<std::string>* lines) {
  RunPlanRequest req;
  req.set_plan(o.name);
  if (o.kind == "test") {
    req.set_kind(PLAN_FAILOVER_KIND_TEST);
  } else if (o.kind == "planned") {
    req.set_kind(PLAN_FAILOVER_KIND_PLANNED);
  } else if (o.kind == "unplanned") {
    req.set_kind(PLAN_FAILOVER_KIND_UNPLANNED);
  } else {
    return invalid_argument("--test | --planned | --unplanned: choose how the plan fails over");
  }
  auto choice = parse_point_choice(o.point, o.point_id);
  if (!choice.is_ok()) return choice.status();
  req.set_point(*choice);
  req.set_point_id(o.point_id);
  req.set_reason(o.reason);
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  const std::string address = state.at(*vault).address;
  auto started = sr_run_plan(address, req);
  if (!started.is_ok()) return started.status();
  lines->push_back(fmt::format("recovery plan {}: {} started (job {}) in {}", o.name,
                               started->run().kind(), started->run().job_id(), *vault));
  if (o.wait_s <= 0) return started;
  auto p = wait_settled(address, o.name, o.wait_s);
  if (!p.is_ok()) return p.status();
  report_run(state, *p, lines);
  if (p->run().state() == "Failed") {
    return Status(StatusCode::kFailedPrecondition,
                  "recovery plan " + o.name + " failed: " + p->run().error());
  }
  return p;
}

Result<PlanInfo> run_plan_resume(TopologyState& state, const std::string& name, double wait_s,
                                 std::vector<std::string>* lines) {
  auto vault = vault_region(state);
  if (!vault.is_ok()) return vault.status();
  const std::string address = state.at(*vault).address;
  auto before = sr_get_plan(address, name);
  if (!before.is_ok()) return before.status();
  auto r = sr_resume_plan(address, name);
  if (!r.is_ok()) return r.status();
  if (before->run().state() == "Failed") {
    std::string names;
    for (const auto& w : before->run().not_started()) names += (names.empty() ? "" : ", ") + w;
    lines->push_back(
        fmt::format("recovery plan {}: the run failed; started {} by hand", name, names));
    return r;
  }
  lines->push_back(
      fmt::format("recovery plan {}: manual action done, job {} resumed", name, r->run().job_id()));
  auto p = wait_settled(address, name, wait_s);
  if (!p.is_ok()) return p.status();
  report_run(state, *p, lines);
  if (p->run().state() == "Failed") {
    return Status(StatusCode::kFailedPrecondition,
                  "recovery plan " + name + " failed: " + p->run().error());
  }
  return p;
}

int cmd_plan_create(const std::string& home, const PlanCreateOptions& options, bool as_json) {
  auto spec = build_plan_spec(options);
  if (!spec.is_ok()) return print_failure(spec.status(), as_json);
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_plan_create(state, *spec, lines);
      },
      as_json);
}

int cmd_plan_list(const std::string& home, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return report_error(state.status());
  auto vault = vault_region(*state);
  if (!vault.is_ok()) return report_error(vault.status());
  auto r = sr_list_plans(state->at(*vault).address);
  if (!r.is_ok()) return report_error(r.status());
  if (as_json) {
    print_json_document(*r);
    return 0;
  }
  std::printf("%-16s %-7s %-6s %-20s %-6s %s\n", "PLAN", "GROUPS", "ITEMS", "LAST RUN", "JOB",
              "STATE");
  for (const auto& p : r->plans()) {
    int items = 0;
    for (const auto& g : p.plan().groups()) items += g.items_size();
    std::printf("%-16s %-7d %-6d %-20s %-6s %s\n", p.plan().name().c_str(), p.plan().groups_size(),
                items, p.has_run() ? p.run().kind().c_str() : "-",
                p.has_run() ? std::to_string(p.run().job_id()).c_str() : "-",
                p.has_run() ? p.run().state().c_str() : "never run");
  }
  return 0;
}

int cmd_plan_show(const std::string& home, const std::string& name, bool as_json) {
  auto state = load_state(home);
  if (!state.is_ok()) return report_error(state.status());
  auto vault = vault_region(*state);
  if (!vault.is_ok()) return report_error(vault.status());
  auto r = sr_get_plan(state->at(*vault).address, name);
  if (!r.is_ok()) return report_error(r.status());
  if (as_json) {
    print_json_document(*r);
    return 0;
  }
  for (const auto& l : describe_plan(*r)) std::printf("%s\n", l.c_str());
  return 0;
}

int cmd_plan_run(const std::string& home, const PlanRunOptions& options, bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_plan(state, options, lines);
      },
      as_json);
}

int cmd_plan_resume(const std::string& home, const std::string& name, double wait_s,
                    bool as_json) {
  return run_verb(
      home,
      [&](TopologyState& state, std::vector<std::string>* lines) {
        return run_plan_resume(state, name, wait_s, lines);
      },
      as_json);
}

}  // namespace drsim::cli
