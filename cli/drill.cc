#include "cli/drill.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/backup_commands.h"
#include "cli/child_process.h"
#include "cli/drill_parse.h"
#include "cli/final_state.h"
#include "cli/html_report.h"
#include "cli/load_generator.h"
#include "cli/price_file.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "cli/yaml_fields.h"
#include "common/core/names.h"
#include "common/core/time.h"
#include "common/model/drill/history_checker.h"
#include "common/model/replication/lease.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

// ---------------------------------------------------------------- parsing

std::string DrillStep::describe() const {
  switch (kind) {
    case Kind::kWait: return fmt::format("wait {:g} s", seconds);
    case Kind::kAt: return fmt::format("at {:g} s after the load started", seconds);
    case Kind::kInject: return "inject " + fault.describe();
    case Kind::kHeal: return region.empty() ? "heal all" : "heal " + region;
    case Kind::kFailover:
      if (test) {
        return "test failover of " + (point.items.empty() ? "the protected item" : point.items[0]) +
               " to recovery point " +
               (point.point == "custom" ? "custom " + std::to_string(point.point_id) : point.point);
      }
      if (to_point) {
        return "unplanned failover of the protected items to recovery point " +
               (point.point == "custom" ? "custom " + std::to_string(point.point_id)
                                        : point.point);
      }
      return std::string(planned ? "planned failover" : "failover") +
             (region.empty() ? " to the standby" : " to " + region) +
             (reprotect ? ", re-protecting at once" : "");
    case Kind::kReprotect:
      return region.empty() ? "re-protect the active region" : "re-protect from " + region;
    case Kind::kFailback: return "failback to primary (planned failover, then re-protect)";
    case Kind::kWaitUntil:
      if (condition == "lag_above" || condition == "lag_below") {
        return fmt::format("wait until {}'s replication lag is {} {} writes (timeout {:g} s)",
                           target, condition == "lag_above" ? "above" : "below", writes,
                           timeout_s);
      }
      return fmt::format("wait until {} {} (timeout {:g} s)", condition, target, timeout_s);
    case Kind::kPause: return fmt::format("pause {:g} s for a manual action: {}", seconds, message);
    case Kind::kDrsim: {
      std::string text = "drsim";
      for (const auto& a : args) text += " " + a;
      return expect_error.empty() ? text : text + " (expect error " + expect_error + ")";
    }
    case Kind::kProtect:
      return protect_group.empty() ? "protect " + protect.item + " (Site Recovery)"
                                   : "protect consistency group " + protect_group;
    case Kind::kPlan:
      return plan_verb == "create" ? "create recovery plan " + plan.name()
             : plan_verb == "run"
                 ? "run recovery plan " + plan_run.name + " (" + plan_run.kind +
                       " failover), expect " + expect_state
                 : "resume recovery plan " + plan_run.name + ", expect " + expect_state;
    case Kind::kChangePoint:
      return "change the recovery point to " +
             (change_point.point == "custom" ? "custom " + std::to_string(change_point.point_id)
                                             : change_point.point);
    case Kind::kCommit: return "commit the failed-over items";
    case Kind::kTestCleanup: return "clean up the test failover";
    case Kind::kVmDelete:
      return "delete VM " + vm + " in " + region + (expect_vm.empty() ? "" : " (expect " + expect_vm + ")");
  }
  return "?";
}

std::string DrillStep::timeline_label() const {
  switch (kind) {
    case Kind::kProtect:
      return protect_group.empty() ? "protect " + protect.item : "protect group " + protect_group;
    case Kind::kFailover:
      if (test) return "test failover " + (point.items.empty() ? "" : point.items[0]);
      if (to_point) return "failover to " + point.point;
      return "";  // the promotion is marked as the epoch change
    case Kind::kCommit: return "commit";
    case Kind::kTestCleanup: return "test failover cleanup";
    case Kind::kReprotect: return "re-protect";
    case Kind::kFailback: return "failback";
    case Kind::kPlan: return plan_verb == "run" ? "recovery plan " + plan_run.name : "";
    case Kind::kChangePoint: return "change recovery point";
    case Kind::kVmDelete: return "delete VM " + vm;
    case Kind::kDrsim: {
      // backup now|restore|stop|undelete|resume VAULT VM ...
      if (!expect_error.empty() || args.size() < 4 || args[0] != "backup") return "";
      const std::string& verb = args[1];
      const std::string& item = args[3];
      const bool delete_data =
          std::find(args.begin(), args.end(), "--delete-data") != args.end();
      if (verb == "now") return "backup " + item;
      if (verb == "restore") return "restore " + item;
      if (verb == "stop") return (delete_data ? "soft delete " : "stop protection ") + item;
      if (verb == "undelete") return "undelete " + item;
      if (verb == "resume") return "resume protection " + item;
      if (verb == "protect") return "backup protect " + item;
      return "";
    }
    default: return "";
  }
}

namespace {

using namespace drill_parse;

Status check_steps_together(const Drill& d, const YAML::Node& steps, const ConfigError& err);

// `node`, when there, as a number in min..max into *out (a double or an optional one).
template <typename Out>
Status read_number(const ConfigError& err, const std::string& field, const YAML::Node& node,
                   double min, double max, Out* out) {
  if (!node) return Status::ok();
  auto v = parse_number(err, field, node, min, max);
  if (!v.is_ok()) return v.status();
  *out = *v;
  return Status::ok();
}

// `node`, when there, as a whole number into *out.
Status read_count(const ConfigError& err, const std::string& field, const YAML::Node& node,
                  std::optional<uint64_t>* out) {
  if (!node) return Status::ok();
  uint64_t n = 0;
  if (Status s = read_uint(err, field, node, 0, UINT64_MAX, &n); !s.is_ok()) return s;
  *out = n;
  return Status::ok();
}

// name, description and topology.
Status parse_drill_header(const YAML::Node& root, const ConfigError& err, Drill* d) {
  if (!root["name"] || !root["name"].IsScalar() || root["name"].Scalar().empty()) {
    return err.at("name", root, "is required");
  }
  d->name = root["name"].Scalar();
  // It names the drill's report directory in an attached home (drills/<name>-<run>).
  if (Status s = validate_name("name", d->name); !s.is_ok()) {
    return err.at("name", root["name"], s.message().substr(std::string("name: ").size()));
  }
  if (root["description"]) d->description = root["description"].Scalar();
  if (root["topology"]) {
    auto topo = parse_topology_node(root["topology"], err.nested("topology"));
    if (!topo.is_ok()) return topo.status();
    d->topology = *topo;
  }
  return Status::ok();
}

// workload: {rate, clients, keys, value_bytes, write_fraction, resolve, seed, deadline_ms,
// in_flight, stale_clients}
Status parse_workload(const ConfigError& err, const YAML::Node& w, DrillWorkload* o) {
  if (Status s = check_keys(err, "workload", w,
                            {"rate", "clients", "keys", "value_bytes", "write_fraction", "seed",
                             "resolve", "deadline_ms", "in_flight", "stale_clients"});
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_number(err, "workload.rate", w["rate"], 1, 100000, &o->rate); !s.is_ok())
    return s;
  if (Status s = read_uint(err, "workload.clients", w["clients"], 1, 256, &o->clients); !s.is_ok())
    return s;
  if (Status s = read_uint(err, "workload.keys", w["keys"], 1, 10'000'000, &o->keys); !s.is_ok())
    return s;
  if (Status s =
          read_uint(err, "workload.value_bytes", w["value_bytes"], 16, 1 << 20, &o->value_bytes);
      !s.is_ok())
    return s;
  if (Status s = read_number(err, "workload.write_fraction", w["write_fraction"], 0, 1,
                             &o->write_fraction);
      !s.is_ok())
    return s;
  if (w["resolve"]) {
    auto r = parse_choice(err, "workload.resolve", w["resolve"], {"grpc", "dns"});
    if (!r.is_ok()) return r.status();
    o->resolve_dns = *r == "dns";
  }
  if (Status s = read_uint(err, "workload.seed", w["seed"], 0, UINT64_MAX, &o->seed); !s.is_ok())
    return s;
  if (Status s =
          read_uint(err, "workload.deadline_ms", w["deadline_ms"], 1, 600'000, &o->deadline_ms);
      !s.is_ok())
    return s;
  if (Status s = read_uint(err, "workload.in_flight", w["in_flight"], 1, 64, &o->in_flight);
      !s.is_ok())
    return s;
  if (!w["stale_clients"]) return Status::ok();
  return parse_stale_clients(err, "workload.stale_clients", w["stale_clients"], &o->stale);
}

// steps: a non-empty list, each step parsed alone, then together (check_steps_together).
Status parse_steps(const YAML::Node& root, const ConfigError& err, Drill* d) {
  auto steps = root["steps"];
  if (!steps || !steps.IsSequence() || steps.size() == 0) {
    return err.at("steps", steps ? steps : root, "must be a non-empty list of steps");
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    auto step = parse_step(err, "steps[" + std::to_string(i) + "]", steps[i]);
    if (!step.is_ok()) return step.status();
    d->steps.push_back(*step);
  }
  return check_steps_together(*d, steps, err);
}

// Each `expect.KEY` of `e` that is there, as a count.
Status read_expect_counts(
    const ConfigError& err, const YAML::Node& e,
    std::initializer_list<std::pair<const char*, std::optional<uint64_t>*>> keys) {
  for (auto [key, out] : keys) {
    if (Status s = read_count(err, std::string("expect.") + key, e[key], out); !s.is_ok()) return s;
  }
  return Status::ok();
}

// Each `expect.KEY` of `e` that is there, as milliseconds (up to a day).
Status read_expect_millis(
    const ConfigError& err, const YAML::Node& e,
    std::initializer_list<std::pair<const char*, std::optional<double>*>> keys) {
  for (auto [key, out] : keys) {
    if (Status s = read_number(err, std::string("expect.") + key, e[key], 0, 86'400'000, out);
        !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

// expect: the bounds on RTO, loss, stale reads, routing, availability, clients moved and RPO
// (read in this order: the first wrong one is reported).
Status parse_expect(const ConfigError& err, const YAML::Node& e, DrillExpectations* x) {
  if (Status s = check_keys(err, "expect", e,
                            {"max_rto_ms", "max_lost_writes", "max_lost_sync_writes",
                             "max_stale_reads", "final_routing", "min_availability",
                             "min_rpo_writes", "max_rpo_writes", "max_all_clients_moved_ms",
                             "min_all_clients_moved_ms", "max_all_clients_moved_after_routing_ms",
                             "max_writes_acked_after_fencing", "lost_within_rpo"});
      !s.is_ok()) {
    return s;
  }
  if (Status s = read_expect_millis(err, e, {{"max_rto_ms", &x->max_rto_ms}}); !s.is_ok()) return s;
  if (Status s = read_expect_counts(
          err, e,
          {{"max_lost_writes", &x->max_lost_writes}, {"max_stale_reads", &x->max_stale_reads}});
      !s.is_ok()) {
    return s;
  }
  if (e["final_routing"]) {
    auto r =
        parse_choice(err, "expect.final_routing", e["final_routing"], {"primary", "secondary"});
    if (!r.is_ok()) return r.status();
    x->final_routing = *r;
  }
  if (Status s = read_number(err, "expect.min_availability", e["min_availability"], 0, 1,
                             &x->min_availability);
      !s.is_ok())
    return s;
  if (Status s = read_expect_millis(
          err, e,
          {{"max_all_clients_moved_ms", &x->max_all_clients_moved_ms},
           {"min_all_clients_moved_ms", &x->min_all_clients_moved_ms},
           {"max_all_clients_moved_after_routing_ms", &x->max_all_clients_moved_after_routing_ms}});
      !s.is_ok()) {
    return s;
  }
  if (Status s =
          read_bool(err, "expect.lost_within_rpo", e["lost_within_rpo"], &x->lost_within_rpo);
      !s.is_ok())
    return s;
  return read_expect_counts(
      err, e,
      {{"max_lost_sync_writes", &x->max_lost_sync_writes},
       {"min_rpo_writes", &x->min_rpo_writes},
       {"max_rpo_writes", &x->max_rpo_writes},
       {"max_writes_acked_after_fencing", &x->max_writes_acked_after_fencing}});
}

// abort: {no_acknowledged_writes_for: 10s, max_failed_operations: N}
Status parse_abort(const ConfigError& err, const YAML::Node& a, DrillAbort* o) {
  if (Status s =
          check_keys(err, "abort", a, {"no_acknowledged_writes_for", "max_failed_operations"});
      !s.is_ok()) {
    return s;
  }
  if (a["no_acknowledged_writes_for"]) {
    auto t =
        parse_seconds(err, "abort.no_acknowledged_writes_for", a["no_acknowledged_writes_for"]);
    if (!t.is_ok()) return t.status();
    o->no_ack_for_s = *t;
  }
  return read_count(err, "abort.max_failed_operations", a["max_failed_operations"],
                    &o->max_failed_operations);
}

Result<Drill> parse_drill_node(const YAML::Node& root, const std::string& source) {
  ConfigError err(source);
  Drill d;
  d.source = source;
  if (!root.IsMap()) return err.at("", root, "a drill file is a mapping with name, steps, expect");
  if (Status s =
          check_keys(err, "", root,
                     {"name", "description", "topology", "workload", "steps", "expect", "abort"});
      !s.is_ok()) {
    return s;
  }
  if (Status s = parse_drill_header(root, err, &d); !s.is_ok()) return s;
  if (auto w = root["workload"]) {
    if (Status s = parse_workload(err, w, &d.workload); !s.is_ok()) return s;
  }
  if (Status s = parse_steps(root, err, &d); !s.is_ok()) return s;
  if (auto e = root["expect"]) {
    if (Status s = parse_expect(err, e, &d.expect); !s.is_ok()) return s;
  }
  if (auto a = root["abort"]) {
    if (Status s = parse_abort(err, a, &d.abort); !s.is_ok()) return s;
  }
  return d;
}

// What no single step can see: `at:` times count from the start of the load, so they never go
// back; an item a step protects or fails over is a workload of the drill's topology (a VM that
// does not exist would only fail mid-drill, after the load started).
Status check_steps_together(const Drill& d, const YAML::Node& steps, const ConfigError& err) {
  std::set<std::string> workloads;
  std::string listed;
  for (const auto& w : d.topology.workloads) {
    workloads.insert(w.name);
    listed += (listed.empty() ? "" : ", ") + w.name;
  }
  std::optional<size_t> last_at;
  // Each region's clock drift as the steps so far left it (a heal resets it); the Traffic
  // Manager's clock is never drifted.
  std::map<std::string, double> drift = {{"primary", 0.0}, {"secondary", 0.0}, {"trafficmgr", 0.0}};
  for (size_t i = 0; i < d.steps.size(); ++i) {
    const DrillStep& step = d.steps[i];
    const std::string f = "steps[" + std::to_string(i) + "]";
    if (step.kind == DrillStep::Kind::kHeal && (step.region.empty() || drift.count(step.region))) {
      for (auto& [region, rate] : drift) {
        if (step.region.empty() || region == step.region) rate = 0.0;
      }
    }
    if (step.kind == DrillStep::Kind::kInject && step.fault.kind == FaultSpec::Kind::kClockDrift) {
      drift[step.fault.target] = step.fault.drift_ppm / 1e6;
      Status bound = model::check_clock_drift(d.topology.lease_times(), drift);
      if (!bound.is_ok() && !step.fault.beyond_bound) {
        return err.at(f + ".inject.drift_ppm", steps[i],
                      bound.message() + " (add beyond_bound: true to inject it anyway)");
      }
    }
    if (step.kind == DrillStep::Kind::kAt) {
      if (last_at && step.seconds < d.steps[*last_at].seconds) {
        return err.at(f + ".at", steps[i],
                      fmt::format("{:g} s is earlier than the at: {:g} s of step {} (line {}); "
                                  "at: times count from the start of the load and cannot go back",
                                  step.seconds, d.steps[*last_at].seconds, *last_at + 1,
                                  d.steps[*last_at].line));
      }
      last_at = i;
    }
    std::vector<std::pair<std::string, std::string>> items;  // field, item
    if (step.kind == DrillStep::Kind::kProtect) {
      if (step.protect_items.empty()) items.push_back({f + ".protect.item", step.protect.item});
      for (const auto& it : step.protect_items) items.push_back({f + ".protect.items", it});
    }
    if (step.kind == DrillStep::Kind::kFailover && (step.to_point || step.test)) {
      for (const auto& it : step.point.items) items.push_back({f + ".failover.items", it});
    }
    if (step.kind == DrillStep::Kind::kChangePoint) {
      for (const auto& it : step.change_point.items) {
        items.push_back({f + ".change_point.items", it});
      }
    }
    for (const auto& [field, item] : items) {
      if (!item.empty() && !workloads.count(item)) {
        return err.at(field, steps[i],
                      "'" + item + "' is not a workload of the drill's topology (" + listed + ")");
      }
    }
  }
  return Status::ok();
}

}  // namespace

Result<Drill> parse_drill(const std::string& text, const std::string& source) {
  auto root = load_yaml(text, source);
  if (!root.is_ok()) return root.status();
  try {
    return parse_drill_node(*root, source);
  } catch (const YAML::Exception& e) {
    return invalid_argument(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<Drill> load_drill(const std::string& path) {
  auto text = read_text_file(path, "drill file");
  if (!text.is_ok()) return text.status();
  return parse_drill(*text, path);
}

}  // namespace drsim::cli
