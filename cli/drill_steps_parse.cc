// The drill file's steps (cli/drill_parse.h): each step kind's keys and the plan steps. The
// field readers every section shares (durations, numbers, choices, stale clients):
// cli/drill_fields_parse.cc.
#include "cli/drill_parse.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "cli/backup_commands.h"
#include "cli/price_file.h"
#include "cli/yaml_fields.h"
#include "common/core/names.h"

namespace drsim::cli::drill_parse {

namespace {

// A resource name (common/core/names.h): these reach the vault's directories and keys.
Result<std::string> parse_name(const ConfigError& err, const std::string& field,
                               const YAML::Node& node) {
  if (!node || !node.IsScalar()) return err.at(field, node, "must be a name");
  if (Status s = validate_name(field, node.Scalar()); !s.is_ok()) {
    return err.at(field, node, s.message().substr(field.size() + 2));
  }
  return node.Scalar();
}

}  // namespace

namespace {

// Appends each name of the list `node` to `out`.
Status parse_names(const ConfigError& err, const std::string& field, const YAML::Node& node,
                   std::vector<std::string>* out) {
  if (!node || !node.IsSequence()) return err.at(field, node, "must be a list of names");
  for (size_t i = 0; i < node.size(); ++i) {
    auto name = parse_name(err, field + "[" + std::to_string(i) + "]", node[i]);
    if (!name.is_ok()) return name.status();
    out->push_back(*name);
  }
  return Status::ok();
}

}  // namespace

namespace {

Status parse_drain_timeout(const ConfigError& err, const std::string& field,
                           const YAML::Node& node, DrillStep* step) {
  if (!node) return Status::ok();
  auto t = parse_seconds(err, field, node);
  if (!t.is_ok()) return t.status();
  if (*t < 0.001 || *t > 600) return err.at(field, node, "must be between 1ms and 600s");
  step->drain_timeout_s = *t;
  return Status::ok();
}

}  // namespace

namespace {

// `point: NAME` and `point_id: N` of `body` into `out`, checked together (parse_point_choice).
template <typename PointOptions>
Status parse_point_fields(const ConfigError& err, const std::string& f, const YAML::Node& body,
                          PointOptions* out) {
  if (body["point"]) out->point = body["point"].Scalar();
  if (Status s = read_uint(err, f + ".point_id", body["point_id"], 1, UINT64_MAX, &out->point_id);
      !s.is_ok())
    return s;
  if (auto c = parse_point_choice(out->point, out->point_id); !c.is_ok()) {
    return err.at(f + ".point", body, c.status().message());
  }
  return Status::ok();
}

// One group of a plan's `create`: {items: [..], before: [{script: CMD}], after: [{manual: TEXT}]},
// the `g`th (from 0).
Status parse_plan_group(const ConfigError& err, const std::string& gf, const YAML::Node& group,
                        size_t g, PlanCreateOptions* o) {
  if (Status s = check_keys(err, gf, group, {"items", "before", "after"}); !s.is_ok()) return s;
  const YAML::Node items = group["items"];
  if (!items || !items.IsSequence()) return err.at(gf + ".items", group, "is required");
  std::vector<std::string> names;
  if (Status s = parse_names(err, gf + ".items", items, &names); !s.is_ok()) return s;
  std::string joined;
  for (const auto& i : names) joined += (joined.empty() ? "" : ",") + i;
  o->groups.push_back(joined);
  for (const char* phase : {"before", "after"}) {
    const YAML::Node hooks = group[phase];
    if (!hooks) continue;
    if (!hooks.IsSequence()) return err.at(gf + "." + phase, hooks, "must be a list");
    for (size_t h = 0; h < hooks.size(); ++h) {
      const std::string hf = gf + "." + phase + "[" + std::to_string(h) + "]";
      if (Status s = check_keys(err, hf, hooks[h], {"script", "manual"}); !s.is_ok()) return s;
      const char* kind = hooks[h]["script"] ? "script" : "manual";
      if (!hooks[h][kind] || !hooks[h][kind].IsScalar()) {
        return err.at(hf, hooks[h], "needs script: COMMAND or manual: INSTRUCTION");
      }
      std::string text = std::to_string(g + 1) + ":" + kind + ":" + hooks[h][kind].Scalar();
      (std::string(phase) == "before" ? o->before : o->after).push_back(text);
    }
  }
  return Status::ok();
}

// plan: {create: NAME, groups: [...], script_timeout: 30s}.
Status parse_plan_create(const ConfigError& err, const std::string& f, const YAML::Node& body,
                         DrillStep* step) {
  step->plan_verb = "create";
  if (Status s = check_keys(err, f, body, {"create", "groups", "script_timeout"}); !s.is_ok()) {
    return s;
  }
  PlanCreateOptions o;
  auto name = parse_name(err, f + ".create", body["create"]);
  if (!name.is_ok()) return name.status();
  o.name = *name;
  const YAML::Node groups = body["groups"];
  if (!groups || !groups.IsSequence()) return err.at(f + ".groups", body, "is required");
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::string gf = f + ".groups[" + std::to_string(g) + "]";
    if (Status s = parse_plan_group(err, gf, groups[g], g, &o); !s.is_ok()) return s;
  }
  if (body["script_timeout"]) o.script_timeout = body["script_timeout"].Scalar();
  auto spec = build_plan_spec(o);
  if (!spec.is_ok()) return err.at(f, body, spec.status().message());
  step->plan = *spec;
  return Status::ok();
}

// plan: {run: NAME, kind: test|planned|unplanned, point: ..., point_id: N, expect: Suspended} |
// {resume: NAME, expect: Succeeded}.
Status parse_plan_run(const ConfigError& err, const std::string& f, const YAML::Node& body,
                      DrillStep* step) {
  if (Status s = check_keys(err, f, body,
                            {"run", "resume", "kind", "point", "point_id", "expect", "wait"});
      !s.is_ok()) {
    return s;
  }
  auto& r = step->plan_run;
  if (body["expect"]) {
    auto e = parse_choice(err, f + ".expect", body["expect"], {"Succeeded", "Suspended", "Failed"});
    if (!e.is_ok()) return e.status();
    step->expect_state = *e;
  }
  if (body["wait"]) {
    auto t = parse_seconds(err, f + ".wait", body["wait"]);
    if (!t.is_ok()) return t.status();
    r.wait_s = *t;
  }
  if (body["resume"]) {
    step->plan_verb = "resume";
    auto name = parse_name(err, f + ".resume", body["resume"]);
    if (!name.is_ok()) return name.status();
    r.name = *name;
    if (body["kind"] || body["point"] || body["point_id"]) {
      return err.at(f, body, "resume takes only expect and wait");
    }
    return Status::ok();
  }
  step->plan_verb = "run";
  auto name = parse_name(err, f + ".run", body["run"]);
  if (!name.is_ok()) return name.status();
  r.name = *name;
  auto kind = parse_choice(err, f + ".kind", body["kind"], {"test", "planned", "unplanned"});
  if (!kind.is_ok()) return kind.status();
  r.kind = *kind;
  return parse_point_fields(err, f, body, &r);
}

// plan: a create, run or resume step (parse_plan_create, parse_plan_run).
Status parse_plan_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                       DrillStep* step) {
  if (!body.IsMap()) return err.at(f, body, "must be a mapping like {run: NAME, kind: unplanned}");
  int verbs = int(bool(body["create"])) + int(bool(body["run"])) + int(bool(body["resume"]));
  if (verbs != 1) return err.at(f, body, "needs exactly one of create, run, resume");
  step->expect_state = "Succeeded";
  if (body["create"]) return parse_plan_create(err, f, body, step);
  return parse_plan_run(err, f, body, step);
}

// ---- One parser per step kind: `f` is the step's field ("steps[3].inject"), `body` its value.

// wait: 2s, at: 10s.
Status parse_seconds_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                          DrillStep* step) {
  auto s = parse_seconds(err, f, body);
  if (!s.is_ok()) return s.status();
  step->seconds = *s;
  return Status::ok();
}

// inject: {fault: kill, region: primary, ...}: every other key is the fault's parameter.
Status parse_inject_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                         DrillStep* step) {
  if (!body.IsMap())
    return err.at(f, body, "must be a mapping like {fault: kill, region: primary}");
  if (!body["fault"] || !body["fault"].IsScalar()) return err.at(f + ".fault", body, "is required");
  std::map<std::string, FaultParam> params;
  for (const auto& param : body) {
    if (!param.first.IsScalar()) {
      return err.at(f, param.first, "a key must be a plain name, not a list or a mapping");
    }
    const std::string& key = param.first.Scalar();
    if (key == "fault") continue;
    if (!param.second.IsScalar()) {
      return err.at(f + "." + key, param.second, "must be a single value");
    }
    params[key] = {param.second.Scalar(), err.locate(f + "." + key, param.first)};
  }
  auto fault = make_fault(body["fault"].Scalar(), params, err.locate(f + ".fault", body["fault"]),
                          ParamStyle::kDrillKey);
  if (!fault.is_ok()) return fault.status();
  step->fault = *fault;
  return Status::ok();
}

// heal: all | {region: R} | {link: L}.
Status parse_heal_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                       DrillStep* step) {
  if (body.IsScalar() && body.Scalar() == "all") {
    step->region = "";
    return Status::ok();
  }
  if (Status s = check_keys(err, f, body, {"region", "link"}); !s.is_ok()) return s;
  if (body["region"] && body["link"]) return err.at(f, body, "give region or link, not both");
  if (body["region"]) {
    auto region =
        parse_choice(err, f + ".region", body["region"], {"primary", "secondary", "trafficmgr"});
    if (!region.is_ok()) return region.status();
    step->region = *region;
  } else if (body["link"] && body["link"].IsScalar() && !body["link"].Scalar().empty()) {
    // Checked against the running topology's links when the step runs.
    step->region = body["link"].Scalar();
  } else {
    return err.at(f, body, "needs region or link (or write `heal: all`)");
  }
  return Status::ok();
}

// failover: {unplanned: true | test: true, point, point_id, items}: to a recovery point.
Status parse_point_failover(const ConfigError& err, const std::string& f, const YAML::Node& body,
                            DrillStep* step) {
  if (body["planned"] || body["region"] || body["drain_timeout"] || body["reprotect"]) {
    return err.at(f, body,
                  "a failover to a recovery point runs in the vault's region; planned, "
                  "region, drain_timeout and reprotect do not apply");
  }
  if (Status s = parse_point_fields(err, f, body, &step->point); !s.is_ok()) return s;
  if (auto items = body["items"]) {
    if (Status s = parse_names(err, f + ".items", items, &step->point.items); !s.is_ok()) {
      return s;
    }
    if (step->test && step->point.items.size() > 1) {
      return err.at(f + ".items", items, "a test failover takes one item");
    }
  }
  return Status::ok();
}

// failover: {region, planned, drain_timeout, reprotect}: the standby promoted.
Status parse_promotion(const ConfigError& err, const std::string& f, const YAML::Node& body,
                       DrillStep* step) {
  if (body["region"]) {
    auto region = parse_choice(err, f + ".region", body["region"], {"primary", "secondary"});
    if (!region.is_ok()) return region.status();
    step->region = *region;
  }
  if (Status s = read_bool(err, f + ".planned", body["planned"], &step->planned); !s.is_ok())
    return s;
  if (Status s = read_bool(err, f + ".reprotect", body["reprotect"], &step->reprotect); !s.is_ok())
    return s;
  if (!step->planned && (body["drain_timeout"] || body["reprotect"])) {
    return err.at(f, body, "drain_timeout and reprotect need planned: true");
  }
  return parse_drain_timeout(err, f + ".drain_timeout", body["drain_timeout"], step);
}

// failover: (empty) | a promotion | to a recovery point.
Status parse_failover_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                           DrillStep* step) {
  if (body.IsNull()) return Status::ok();
  if (Status s = check_keys(err, f, body,
                            {"region", "planned", "drain_timeout", "reprotect", "unplanned", "test",
                             "point", "point_id", "items"});
      !s.is_ok())
    return s;
  if (Status s = read_bool(err, f + ".unplanned", body["unplanned"], &step->to_point); !s.is_ok())
    return s;
  if (Status s = read_bool(err, f + ".test", body["test"], &step->test); !s.is_ok()) return s;
  if (step->test && step->to_point) {
    return err.at(f, body, "give unplanned: true or test: true, not both");
  }
  if (!step->to_point && !step->test && (body["point"] || body["point_id"] || body["items"])) {
    return err.at(f, body, "point, point_id and items need unplanned: true or test: true");
  }
  if (step->to_point || step->test) return parse_point_failover(err, f, body, step);
  return parse_promotion(err, f, body, step);
}

// protect: {item: VM, ...} or a multi-VM consistency group {group: app, items: [vm-a, vm-b], ...}.
Status parse_protected_items(const ConfigError& err, const std::string& f, const YAML::Node& body,
                             DrillStep* step) {
  auto& o = step->protect;
  if (body["group"]) {
    auto group = parse_name(err, f + ".group", body["group"]);
    if (!group.is_ok()) return group.status();
    step->protect_group = *group;
    if (!body["items"] || !body["items"].IsSequence()) {
      return err.at(f + ".items", body, "a group needs its items: [vm-a, vm-b]");
    }
    if (Status s = parse_names(err, f + ".items", body["items"], &step->protect_items);
        !s.is_ok()) {
      return s;
    }
    if (step->protect_items.size() < 2 || step->protect_items.size() > 16) {
      return err.at(f + ".items", body["items"], "a consistency group holds 2 to 16 items");
    }
    o.item = step->protect_items.front();
    return Status::ok();
  }
  if (body["items"]) return err.at(f + ".items", body, "needs group: NAME");
  if (!body["item"] || !body["item"].IsScalar()) {
    return err.at(f + ".item", body, "is required");
  }
  auto item = parse_name(err, f + ".item", body["item"]);
  if (!item.is_ok()) return item.status();
  o.item = *item;
  return Status::ok();
}

// protect: the items, then source, target_kind, retention, ... as build_protect_request takes them.
Status parse_protect_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                          DrillStep* step) {
  if (Status s = check_keys(err, f, body,
                            {"item", "group", "items", "source", "target_kind", "retention",
                             "app_consistent", "rpo_threshold", "os_disk", "wait"});
      !s.is_ok())
    return s;
  if (Status s = parse_protected_items(err, f, body, step); !s.is_ok()) return s;
  auto& o = step->protect;
  const std::pair<const char*, std::string*> texts[] = {{"source", &o.source},
                                                        {"target_kind", &o.target_kind},
                                                        {"retention", &o.retention},
                                                        {"app_consistent", &o.app_consistent},
                                                        {"rpo_threshold", &o.rpo_threshold},
                                                        {"os_disk", &o.os_disk}};
  for (const auto& [key, out] : texts) {
    if (body[key]) *out = body[key].Scalar();
  }
  if (body["wait"]) {
    auto t = parse_seconds(err, f + ".wait", body["wait"]);
    if (!t.is_ok()) return t.status();
    o.wait_s = *t;
  }
  if (auto req = build_protect_request(o); !req.is_ok()) {
    return err.at(f, body, req.status().message());
  }
  return Status::ok();
}

// change_point: {point, point_id, items}.
Status parse_change_point_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                               DrillStep* step) {
  if (Status s = check_keys(err, f, body, {"point", "point_id", "items"}); !s.is_ok()) return s;
  auto& c = step->change_point;
  if (Status s = parse_point_fields(err, f, body, &c); !s.is_ok()) return s;
  if (body["items"]) {
    for (const auto& i : body["items"]) c.items.push_back(i.Scalar());
  }
  return Status::ok();
}

// vm_delete: {vm: NAME, region: primary, expect: gone | restorable}.
Status parse_vm_delete_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                            DrillStep* step) {
  if (Status s = check_keys(err, f, body, {"vm", "region", "expect"}); !s.is_ok()) return s;
  if (!body["vm"] || !body["vm"].IsScalar()) return err.at(f + ".vm", body, "is required");
  auto vm = parse_name(err, f + ".vm", body["vm"]);
  if (!vm.is_ok()) return vm.status();
  step->vm = *vm;
  step->region = "primary";
  if (body["region"]) {
    auto region = parse_choice(err, f + ".region", body["region"], {"primary", "secondary"});
    if (!region.is_ok()) return region.status();
    step->region = *region;
  }
  if (body["expect"]) {
    auto expect = parse_choice(err, f + ".expect", body["expect"], {"gone", "restorable"});
    if (!expect.is_ok()) return expect.status();
    step->expect_vm = *expect;
  }
  return Status::ok();
}

Status parse_cleanup_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                          DrillStep*) {
  if (!body.IsNull()) return err.at(f, body, "takes no fields (`- cleanup:`)");
  return Status::ok();
}

Status parse_commit_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                         DrillStep*) {
  if (!body.IsNull()) return err.at(f, body, "takes no fields (`- commit:`)");
  return Status::ok();
}

// reprotect: (empty) | {region: R}.
Status parse_reprotect_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                            DrillStep* step) {
  if (body.IsNull()) return Status::ok();
  if (Status s = check_keys(err, f, body, {"region"}); !s.is_ok()) return s;
  auto region = parse_choice(err, f + ".region", body["region"], {"primary", "secondary"});
  if (!region.is_ok()) return region.status();
  step->region = *region;
  return Status::ok();
}

// failback: (empty) | {drain_timeout: 10s}.
Status parse_failback_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                           DrillStep* step) {
  if (body.IsNull()) return Status::ok();
  if (Status s = check_keys(err, f, body, {"drain_timeout"}); !s.is_ok()) return s;
  return parse_drain_timeout(err, f + ".drain_timeout", body["drain_timeout"], step);
}

// wait_until: {condition, target, timeout, writes (lag_above / lag_below only)}.
Status parse_wait_until_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                             DrillStep* step) {
  if (Status s = check_keys(err, f, body, {"condition", "target", "timeout", "writes"});
      !s.is_ok()) {
    return s;
  }
  auto cond = parse_choice(
      err, f + ".condition", body["condition"],
      {"degraded", "online", "routed_to", "acked_by", "lag_above", "lag_below", "items_protected"});
  if (!cond.is_ok()) return cond.status();
  step->condition = *cond;
  bool lag = step->condition == "lag_above" || step->condition == "lag_below";
  if (lag && !body["writes"]) return err.at(f + ".writes", body, "is required for " + *cond);
  if (!lag && body["writes"]) {
    return err.at(f + ".writes", body["writes"], "only applies to lag_above and lag_below");
  }
  if (Status s = read_uint(err, f + ".writes", body["writes"], 0, 1'000'000'000, &step->writes);
      !s.is_ok())
    return s;
  auto target = parse_choice(err, f + ".target", body["target"], {"primary", "secondary"});
  if (!target.is_ok()) return target.status();
  step->target = *target;
  if (body["timeout"]) {
    auto t = parse_seconds(err, f + ".timeout", body["timeout"]);
    if (!t.is_ok()) return t.status();
    step->timeout_s = *t;
  }
  return Status::ok();
}

// pause: {for: 30s, message: TEXT}.
Status parse_pause_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                        DrillStep* step) {
  if (Status s = check_keys(err, f, body, {"for", "message"}); !s.is_ok()) return s;
  auto t = parse_seconds(err, f + ".for", body["for"]);
  if (!t.is_ok()) return t.status();
  step->seconds = *t;
  step->message = body["message"] ? body["message"].Scalar() : "manual action";
  return Status::ok();
}

// A Backup verb as a step: `drsim: backup now rsv vm-db`, or
// `drsim: {command: "...", expect_error: UserErrorGuestAgentStatusUnavailable}`.
Status parse_drsim_step(const ConfigError& err, const std::string& f, const YAML::Node& body,
                        DrillStep* step) {
  if (body.IsMap()) {
    if (Status s = check_keys(err, f, body, {"command", "expect_error"}); !s.is_ok()) return s;
    if (body["expect_error"]) step->expect_error = body["expect_error"].Scalar();
  }
  // (A YAML::Node assigned to rebinds nothing: it overwrites the node it refers to.)
  const YAML::Node command = body.IsMap() ? body["command"] : body;
  if (!command || !command.IsScalar() || command.Scalar().empty()) {
    return err.at(f, body, "needs a command like \"backup now rsv vm-db\"");
  }
  auto args = parse_backup_verb(command.Scalar());
  if (!args.is_ok()) return err.at(f, command, args.status().message());
  step->args = *args;
  // `cost --prices FILE`: a relative file is next to the drill, and is checked now.
  for (size_t a = 0; a + 1 < step->args.size(); ++a) {
    if (step->args[a] != "--prices") continue;
    std::filesystem::path file(step->args[a + 1]);
    if (file.is_relative()) file = std::filesystem::path(err.source()).parent_path() / file;
    step->args[a + 1] = file.string();
    if (auto prices = load_price_file(file.string()); !prices.is_ok()) {
      return err.at(f, command, prices.status().message());
    }
  }
  return Status::ok();
}

using StepParser = Status (*)(const ConfigError& err, const std::string& f, const YAML::Node& body,
                              DrillStep* step);

// Each step verb (with its spelling variants), its kind and its parser.
struct StepVerb {
  const char* verb;
  DrillStep::Kind kind;
  StepParser parse;
};
constexpr StepVerb kStepVerbs[] = {
    {"wait", DrillStep::Kind::kWait, parse_seconds_step},
    {"at", DrillStep::Kind::kAt, parse_seconds_step},
    {"inject", DrillStep::Kind::kInject, parse_inject_step},
    {"heal", DrillStep::Kind::kHeal, parse_heal_step},
    {"failover", DrillStep::Kind::kFailover, parse_failover_step},
    {"protect", DrillStep::Kind::kProtect, parse_protect_step},
    {"plan", DrillStep::Kind::kPlan, parse_plan_step},
    {"change_point", DrillStep::Kind::kChangePoint, parse_change_point_step},
    {"vm_delete", DrillStep::Kind::kVmDelete, parse_vm_delete_step},
    {"vm-delete", DrillStep::Kind::kVmDelete, parse_vm_delete_step},
    {"cleanup", DrillStep::Kind::kTestCleanup, parse_cleanup_step},
    {"commit", DrillStep::Kind::kCommit, parse_commit_step},
    {"reprotect", DrillStep::Kind::kReprotect, parse_reprotect_step},
    {"re-protect", DrillStep::Kind::kReprotect, parse_reprotect_step},
    {"failback", DrillStep::Kind::kFailback, parse_failback_step},
    {"wait_until", DrillStep::Kind::kWaitUntil, parse_wait_until_step},
    {"pause", DrillStep::Kind::kPause, parse_pause_step},
    {"drsim", DrillStep::Kind::kDrsim, parse_drsim_step},
};

}  // namespace

Result<DrillStep> parse_step(const ConfigError& err, const std::string& field,
                             const YAML::Node& node) {
  if (!node.IsMap() || node.size() != 1) {
    return err.at(field, node,
                  "a step is one of: wait, at, inject, heal, protect, failover, cleanup, "
                  "commit, reprotect, failback, wait_until, pause, drsim");
  }
  auto kv = *node.begin();
  std::string verb = kv.first.Scalar();
  const YAML::Node& body = kv.second;
  DrillStep step;
  step.line = node.Mark().line + 1;
  const auto* known = std::find_if(std::begin(kStepVerbs), std::end(kStepVerbs),
                                   [&](const StepVerb& v) { return verb == v.verb; });
  if (known == std::end(kStepVerbs)) {
    return err.at(field, node,
                  "unknown step '" + verb +
                      "' (one of: wait, at, inject, heal, protect, failover, cleanup, commit, "
                      "reprotect, failback, wait_until, pause, drsim, plan, change_point, vm_delete)");
  }
  step.kind = known->kind;
  if (Status s = known->parse(err, field + "." + verb, body, &step); !s.is_ok()) return s;
  return step;
}

}  // namespace drsim::cli::drill_parse
