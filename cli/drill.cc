#include "cli/drill.h"

#include <signal.h>
#include <stdlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "cli/child_process.h"
#include "cli/final_state.h"
#include "cli/html_report.h"
#include "cli/load_generator.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "cli/yaml_fields.h"
#include "common/core/time.h"
#include "common/model/history_checker.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

// ---------------------------------------------------------------- parsing

std::string DrillStep::describe() const {
  switch (kind) {
    case Kind::kWait: return fmt::format("wait {:g} s", seconds);
    case Kind::kInject: return fmt::format("inject {} on {}", fault, region);
    case Kind::kHeal: return region.empty() ? "heal all" : "heal " + region;
    case Kind::kFailover:
      return region.empty() ? "failover to the standby" : "failover to " + region;
    case Kind::kWaitUntil:
      return fmt::format("wait until {} {} (timeout {:g} s)", condition, target, timeout_s);
    case Kind::kPause: return fmt::format("pause {:g} s for a manual action: {}", seconds, message);
  }
  return "?";
}

namespace {

bool is_region(const std::string& r) { return r == "primary" || r == "secondary"; }

// "2s", "500ms", "1.5s", "1m", or a bare number of seconds.
Result<double> parse_seconds(const ConfigError& err, const std::string& field,
                             const YAML::Node& node) {
  if (!node || !node.IsScalar()) return err.at(field, node, "must be a duration like 2s or 500ms");
  std::string text = node.Scalar();
  double scale = 1;
  std::string number = text;
  if (text.size() > 2 && text.ends_with("ms")) {
    scale = 0.001;
    number = text.substr(0, text.size() - 2);
  } else if (text.size() > 1 && text.ends_with("s")) {
    number = text.substr(0, text.size() - 1);
  } else if (text.size() > 1 && text.ends_with("m")) {
    scale = 60;
    number = text.substr(0, text.size() - 1);
  }
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (number.empty() || end == nullptr || *end != '\0' || !std::isfinite(v) || v < 0) {
    return err.at(field, node, "'" + text + "' is not a duration like 2s or 500ms");
  }
  v *= scale;
  if (v > 3600) return err.at(field, node, "'" + text + "' is longer than an hour");
  return v;
}

Result<double> parse_number(const ConfigError& err, const std::string& field,
                            const YAML::Node& node, double min, double max) {
  if (!node.IsScalar()) return err.at(field, node, "must be a number");
  char* end = nullptr;
  double v = std::strtod(node.Scalar().c_str(), &end);
  if (node.Scalar().empty() || *end != '\0' || !std::isfinite(v)) {
    return err.at(field, node, "'" + node.Scalar() + "' is not a number");
  }
  if (v < min || v > max) {
    return err.at(field, node, fmt::format("{:g} is out of range {:g}..{:g}", v, min, max));
  }
  return v;
}

Result<std::string> parse_choice(const ConfigError& err, const std::string& field,
                                 const YAML::Node& node, const std::set<std::string>& allowed) {
  if (!node || !node.IsScalar()) return err.at(field, node, "is required");
  if (!allowed.count(node.Scalar())) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    return err.at(field, node, "'" + node.Scalar() + "' is not one of: " + list);
  }
  return node.Scalar();
}

Result<DrillStep> parse_step(const ConfigError& err, const std::string& field,
                             const YAML::Node& node) {
  if (!node.IsMap() || node.size() != 1) {
    return err.at(field, node,
                  "a step is one of: wait, inject, heal, failover, wait_until, pause");
  }
  auto kv = *node.begin();
  std::string verb = kv.first.Scalar();
  const YAML::Node& body = kv.second;
  DrillStep step;
  step.line = node.Mark().line + 1;
  std::string f = field + "." + verb;
  if (verb == "wait") {
    step.kind = DrillStep::Kind::kWait;
    auto s = parse_seconds(err, f, body);
    if (!s.is_ok()) return s.status();
    step.seconds = *s;
  } else if (verb == "inject") {
    step.kind = DrillStep::Kind::kInject;
    if (Status s = check_keys(err, f, body, {"fault", "region"}); !s.is_ok()) return s;
    auto fault = parse_choice(err, f + ".fault", body["fault"],
                              {"kill", "pause", "resume", "outage", "restart"});
    if (!fault.is_ok()) return fault.status();
    step.fault = *fault;
    std::set<std::string> targets = {"primary", "secondary"};
    if (step.fault != "outage") targets.insert("trafficmgr");
    auto region = parse_choice(err, f + ".region", body["region"], targets);
    if (!region.is_ok()) return region.status();
    step.region = *region;
  } else if (verb == "heal") {
    step.kind = DrillStep::Kind::kHeal;
    if (body.IsScalar() && body.Scalar() == "all") {
      step.region = "";
    } else {
      if (Status s = check_keys(err, f, body, {"region"}); !s.is_ok()) return s;
      auto region =
          parse_choice(err, f + ".region", body["region"], {"primary", "secondary", "trafficmgr"});
      if (!region.is_ok()) return region.status();
      step.region = *region;
    }
  } else if (verb == "failover") {
    step.kind = DrillStep::Kind::kFailover;
    if (!body.IsNull()) {
      if (Status s = check_keys(err, f, body, {"region"}); !s.is_ok()) return s;
      if (body["region"]) {
        auto region = parse_choice(err, f + ".region", body["region"], {"primary", "secondary"});
        if (!region.is_ok()) return region.status();
        step.region = *region;
      }
    }
  } else if (verb == "wait_until") {
    step.kind = DrillStep::Kind::kWaitUntil;
    if (Status s = check_keys(err, f, body, {"condition", "target", "timeout"}); !s.is_ok()) {
      return s;
    }
    auto cond = parse_choice(err, f + ".condition", body["condition"],
                             {"degraded", "online", "routed_to", "acked_by"});
    if (!cond.is_ok()) return cond.status();
    step.condition = *cond;
    auto target = parse_choice(err, f + ".target", body["target"], {"primary", "secondary"});
    if (!target.is_ok()) return target.status();
    step.target = *target;
    if (body["timeout"]) {
      auto t = parse_seconds(err, f + ".timeout", body["timeout"]);
      if (!t.is_ok()) return t.status();
      step.timeout_s = *t;
    }
  } else if (verb == "pause") {
    step.kind = DrillStep::Kind::kPause;
    if (Status s = check_keys(err, f, body, {"for", "message"}); !s.is_ok()) return s;
    auto t = parse_seconds(err, f + ".for", body["for"]);
    if (!t.is_ok()) return t.status();
    step.seconds = *t;
    step.message = body["message"] ? body["message"].Scalar() : "manual action";
  } else {
    return err.at(field, node,
                  "unknown step '" + verb +
                      "' (one of: wait, inject, heal, failover, wait_until, pause)");
  }
  return step;
}

Result<Drill> parse_drill_node(const YAML::Node& root, const std::string& source) {
  ConfigError err(source, "", ErrorStyle::kLineFirst);
  Drill d;
  d.source = source;
  if (!root.IsMap()) return err.at("", root, "a drill file is a mapping with name, steps, expect");
  if (Status s = check_keys(err, "", root,
                            {"name", "description", "topology", "workload", "steps", "expect"});
      !s.is_ok()) {
    return s;
  }
  if (!root["name"] || !root["name"].IsScalar() || root["name"].Scalar().empty()) {
    return err.at("name", root, "is required");
  }
  d.name = root["name"].Scalar();
  if (root["description"]) d.description = root["description"].Scalar();
  if (root["topology"]) {
    auto topo = parse_topology_node(root["topology"], err.nested("topology"));
    if (!topo.is_ok()) return topo.status();
    d.topology = *topo;
  }
  if (auto w = root["workload"]) {
    if (Status s = check_keys(err, "workload", w,
                              {"rate", "clients", "keys", "value_bytes", "write_fraction", "seed"});
        !s.is_ok()) {
      return s;
    }
    if (w["rate"]) {
      auto v = parse_number(err, "workload.rate", w["rate"], 1, 100000);
      if (!v.is_ok()) return v.status();
      d.workload.rate = *v;
    }
    if (Status s = read_uint(err, "workload.clients", w["clients"], 1, 256, &d.workload.clients);
        !s.is_ok())
      return s;
    if (Status s = read_uint(err, "workload.keys", w["keys"], 1, 10'000'000, &d.workload.keys);
        !s.is_ok())
      return s;
    if (Status s = read_uint(err, "workload.value_bytes", w["value_bytes"], 16, 1 << 20,
                             &d.workload.value_bytes);
        !s.is_ok())
      return s;
    if (w["write_fraction"]) {
      auto v = parse_number(err, "workload.write_fraction", w["write_fraction"], 0, 1);
      if (!v.is_ok()) return v.status();
      d.workload.write_fraction = *v;
    }
    if (Status s = read_uint(err, "workload.seed", w["seed"], 0, UINT64_MAX, &d.workload.seed);
        !s.is_ok())
      return s;
  }
  auto steps = root["steps"];
  if (!steps || !steps.IsSequence() || steps.size() == 0) {
    return err.at("steps", steps ? steps : root, "must be a non-empty list of steps");
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    auto step = parse_step(err, "steps[" + std::to_string(i) + "]", steps[i]);
    if (!step.is_ok()) return step.status();
    d.steps.push_back(*step);
  }
  if (auto e = root["expect"]) {
    if (Status s = check_keys(err, "expect", e,
                              {"max_rto_ms", "max_lost_writes", "max_stale_reads", "final_routing",
                               "min_availability"});
        !s.is_ok()) {
      return s;
    }
    if (e["max_rto_ms"]) {
      auto v = parse_number(err, "expect.max_rto_ms", e["max_rto_ms"], 0, 86'400'000);
      if (!v.is_ok()) return v.status();
      d.expect.max_rto_ms = *v;
    }
    uint64_t n = 0;
    if (e["max_lost_writes"]) {
      if (Status s = read_uint(err, "expect.max_lost_writes", e["max_lost_writes"], 0, UINT64_MAX,
                               &n);
          !s.is_ok())
        return s;
      d.expect.max_lost_writes = n;
    }
    if (e["max_stale_reads"]) {
      if (Status s = read_uint(err, "expect.max_stale_reads", e["max_stale_reads"], 0, UINT64_MAX,
                               &n);
          !s.is_ok())
        return s;
      d.expect.max_stale_reads = n;
    }
    if (e["final_routing"]) {
      auto r = parse_choice(err, "expect.final_routing", e["final_routing"],
                            {"primary", "secondary"});
      if (!r.is_ok()) return r.status();
      d.expect.final_routing = *r;
    }
    if (e["min_availability"]) {
      auto v = parse_number(err, "expect.min_availability", e["min_availability"], 0, 1);
      if (!v.is_ok()) return v.status();
      d.expect.min_availability = *v;
    }
  }
  return d;
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

// ---------------------------------------------------------------- running

namespace {

class Timeline {
 public:
  Timeline() : start_ns_(wall_now_unix_nanos()) {}
  void say(const std::string& what) const {
    std::printf("[%6.2fs] %s\n", (wall_now_unix_nanos() - start_ns_) / 1e9, what.c_str());
    std::fflush(stdout);
  }

 private:
  int64_t start_ns_;
};

std::string ms(std::optional<Duration> d) {
  return d ? fmt::format("{:.0f} ms", to_ms(*d)) : "n/a";
}
json ms_json(std::optional<Duration> d) { return d ? json(to_ms(*d)) : json(nullptr); }

// Waits `seconds` while printing one progress line a second.
void wait_with_progress(const Timeline& tl, LoadGenerator& load, double seconds) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  LoadStats prev = load.stats();
  while (std::chrono::steady_clock::now() < end) {
    auto step = std::min<std::chrono::steady_clock::duration>(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            end - std::chrono::steady_clock::now()),
        1s);
    std::this_thread::sleep_for(step);
    LoadStats now = load.stats();
    double secs = std::chrono::duration<double>(step).count();
    uint64_t done = (now.ok + now.fail + now.indeterminate) -
                    (prev.ok + prev.fail + prev.indeterminate);
    tl.say(fmt::format("load {:5.0f} ops/s   ok {:6d}  fail {:4d}  indeterminate {:3d}   route {}",
                       secs > 0 ? done / secs : 0.0, now.ok, now.fail, now.indeterminate,
                       now.route));
    prev = now;
  }
}

struct Expectation {
  std::string name, want, got;
  bool pass;
};

}  // namespace

int run_drill(const Drill& drill, const DrillRunOptions& opt) {
  Timeline tl;
  std::string home = opt.home;
  if (home.empty()) {
    char tmpl[] = "/tmp/drsim-drill-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::fprintf(stderr, "drsim: cannot create a temporary directory\n");
      return 1;
    }
    home = tmpl;
  }
  const TopologyConfig& cfg = drill.topology;
  bool all_sync = true;
  std::vector<std::string> workloads;
  for (const auto& w : cfg.workloads) {
    workloads.push_back(w.name);
    all_sync = all_sync && w.mode == region::ReplicationMode::kSync;
  }
  std::printf("drsim drill %s%s%s\n", drill.name.c_str(), drill.description.empty() ? "" : ": ",
              drill.description.c_str());
  std::printf("  home %s\n  %zu workload(s) (%s), probe every %u ms (timeout %u ms, tolerated "
              "failures %u), TTL %llu ms, %zu step(s)\n\n",
              home.c_str(), workloads.size(), cfg.workloads_flag().c_str(), cfg.probe_interval_ms,
              cfg.probe_timeout_ms, cfg.tolerated_failures,
              static_cast<unsigned long long>(cfg.ttl_ms), drill.steps.size());

  auto up = topology_up(home, cfg, [&](const std::string& line) { tl.say("up: " + line); });
  if (!up.is_ok()) {
    std::fprintf(stderr, "drsim: %s\n", up.status().message().c_str());
    return 1;
  }
  TopologyState state = *up;
  const std::string tm_address = state.at("trafficmgr").address;

  RoutingWatcher watcher(tm_address, cfg.profile);
  LoadOptions lo;
  lo.trafficmgr_address = tm_address;
  lo.profile = cfg.profile;
  lo.workloads = workloads;
  lo.rate = drill.workload.rate;
  lo.workers = drill.workload.clients;
  lo.keys = drill.workload.keys;
  lo.value_bytes = drill.workload.value_bytes;
  lo.write_fraction = drill.workload.write_fraction;
  lo.seed = drill.workload.seed;
  LoadGenerator load(lo);
  load.start();
  tl.say(fmt::format("load: {:.0f} ops/s from {} clients, {:.0f} % writes, {} keys per workload, "
                     "{}-byte values, resolving through the Traffic Manager",
                     lo.rate, lo.workers, lo.write_fraction * 100, lo.keys, lo.value_bytes));

  std::vector<std::string> problems;
  model::OutageMarks marks;
  std::string faulted;        // region the first outage hit
  std::string fault_kind;
  std::string old_active = "primary";
  uint64_t new_epoch = 0;
  bool automated_failover = false;
  std::vector<model::WorkloadRecoveryPoint> points;
  json lag_before = json::object();
  json steps_json = json::array();
  std::vector<std::string> paused;  // regions we SIGSTOPped and have not resumed

  for (size_t i = 0; i < drill.steps.size() && problems.empty(); ++i) {
    const DrillStep& step = drill.steps[i];
    std::string label = fmt::format("step {} (line {}): {}", i + 1, step.line, step.describe());
    int64_t started = wall_now_unix_nanos();
    std::string outcome = "ok";
    switch (step.kind) {
      case DrillStep::Kind::kWait:
        tl.say(label);
        wait_with_progress(tl, load, step.seconds);
        break;
      case DrillStep::Kind::kPause:
        tl.say(label + " — the drill waits; do it now");
        wait_with_progress(tl, load, step.seconds);
        break;
      case DrillStep::Kind::kInject: {
        const auto& p = state.at(step.region);
        bool outage_kind = step.fault == "kill" || step.fault == "pause" || step.fault == "outage";
        if (outage_kind && marks.fault_ns == 0 && is_region(step.region)) {
          // Replication lag just before the first outage.
          if (auto st = region_status(p.address); st.is_ok()) {
            for (const auto& w : st->workloads()) {
              lag_before[w.name()] = {{"lag_writes", w.lag_writes()},
                                      {"lag_ms", w.lag_ms()},
                                      {"write_to_ack_p50_ms", w.lag().p50_ms()},
                                      {"write_to_ack_p99_ms", w.lag().p99_ms()},
                                      {"samples", w.lag().samples()}};
              tl.say(fmt::format("replication {} ({}): {} writes behind, write-to-standby-ack "
                                 "p50 {:.2f} ms p99 {:.2f} ms over {} writes",
                                 w.name(), w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async",
                                 w.lag_writes(), w.lag().p50_ms(), w.lag().p99_ms(),
                                 w.lag().samples()));
            }
          }
        }
        Status s;
        int64_t at = wall_now_unix_nanos();
        if (step.fault == "kill") {
          s = signal_process(p.pid, SIGKILL, step.region);
          for (int k = 0; k < 100 && s.is_ok() && process_alive(p.pid); ++k) {
            std::this_thread::sleep_for(10ms);
          }
        } else if (step.fault == "pause") {
          s = signal_process(p.pid, SIGSTOP, step.region);
          if (s.is_ok()) paused.push_back(step.region);
        } else if (step.fault == "resume") {
          s = signal_process(p.pid, SIGCONT, step.region);
          std::erase(paused, step.region);
        } else if (step.fault == "outage") {
          s = region_set_outage(p.address, true);
        } else if (step.fault == "restart") {
          s = restart_process(state, step.region);
        }
        if (outage_kind && marks.fault_ns == 0 && is_region(step.region)) {
          marks.fault_ns = at;
          faulted = step.region;
          fault_kind = step.fault == "kill"    ? "killed (SIGKILL)"
                       : step.fault == "pause" ? "frozen (SIGSTOP)"
                                               : "injected outage (answers only its admin API)";
        }
        tl.say("FAULT " + label +
               (step.fault == "kill" || step.fault == "pause"
                    ? fmt::format(" (pid {})", p.pid)
                    : ""));
        if (!s.is_ok()) {
          outcome = s.message();
          problems.push_back(label + ": " + s.message());
        }
        break;
      }
      case DrillStep::Kind::kHeal: {
        tl.say(label);
        for (const auto& [name, p] : state.processes) {
          if (!step.region.empty() && name != step.region) continue;
          if (!process_alive(p.pid)) continue;
          ::kill(p.pid, SIGCONT);
          std::erase(paused, name);
          if (is_region(name)) {
            if (Status s = region_set_outage(p.address, false); !s.is_ok()) {
              tl.say("  " + name + ": " + s.message());
            }
          }
        }
        break;
      }
      case DrillStep::Kind::kFailover: {
        std::string target = step.region;
        if (target.empty()) {
          for (const char* name : {"secondary", "primary"}) {
            auto st = region_status(state.at(name).address);
            if (st.is_ok() && st->role() == drsim::v1::ROLE_STANDBY) {
              target = name;
              break;
            }
          }
        }
        if (target.empty()) {
          problems.push_back(label + ": no reachable standby region to fail over to");
          outcome = "no standby";
          break;
        }
        old_active = target == "secondary" ? "primary" : "secondary";
        tl.say(label + " — AUTOMATED BY THIS DRILL (Site Recovery never fails over by itself; "
                       "an operator would run `drsim failover`)");
        automated_failover = true;
        auto fo = region_failover(state.at(target).address, "drill " + drill.name + ": " + label);
        if (!fo.is_ok()) {
          outcome = fo.status().message();
          problems.push_back(label + ": " + fo.status().message());
          break;
        }
        marks.promoted_ns = fo->promoted_unix_nanos();
        marks.new_region = target;
        new_epoch = fo->new_epoch();
        points.clear();
        for (const auto& r : fo->recovered()) points.push_back({r.workload(), 0, r.seq()});
        tl.say(fmt::format("{} promoted to active at epoch {}", target, new_epoch));
        break;
      }
      case DrillStep::Kind::kWaitUntil: {
        tl.say(label);
        auto timeout = std::chrono::milliseconds(static_cast<int64_t>(step.timeout_s * 1000));
        int64_t at = 0;
        int64_t since = marks.fault_ns ? marks.fault_ns : started;
        if (step.condition == "degraded") {
          at = watcher.wait_endpoint_status(step.target, drsim::v1::ENDPOINT_DEGRADED, since,
                                            timeout);
          if (at && step.target == faulted && !marks.detected_ns) marks.detected_ns = at;
        } else if (step.condition == "online") {
          at = watcher.wait_endpoint_status(step.target, drsim::v1::ENDPOINT_ONLINE, since,
                                            timeout);
        } else if (step.condition == "routed_to") {
          at = watcher.wait_route(step.target, since, timeout);
        } else if (step.condition == "acked_by") {
          auto deadline = std::chrono::steady_clock::now() + timeout;
          while (!(at = load.first_ok_write_by(step.target, since)) &&
                 std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
          }
        }
        if (at) {
          tl.say(fmt::format("  {} {} after {:.0f} ms", step.condition, step.target,
                             (at - since) / 1e6));
        } else {
          outcome = "timed out";
          problems.push_back(fmt::format("{}: timed out after {:g} s", label, step.timeout_s));
        }
        break;
      }
    }
    steps_json.push_back({{"step", i + 1}, {"line", step.line}, {"action", step.describe()},
                          {"started_unix_nanos", started}, {"outcome", outcome}});
  }
  if (!problems.empty()) tl.say("ABORT: " + problems.back());
  load.stop();
  watcher.stop();
  tl.say("load stopped");

  // Marks the Traffic Manager recorded on its own, even without wait_until steps.
  auto events = watcher.events();
  for (const auto& e : events) {
    if (!marks.fault_ns || e.unix_nanos() < marks.fault_ns) continue;
    if (!marks.detected_ns && e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS &&
        e.endpoint() == faulted && e.new_status() == drsim::v1::ENDPOINT_DEGRADED) {
      marks.detected_ns = e.unix_nanos();
    }
    if (!marks.routed_ns && !marks.new_region.empty() &&
        e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED && e.new_route() == marks.new_region &&
        e.unix_nanos() >= marks.promoted_ns) {
      marks.routed_ns = e.unix_nanos();
    }
  }

  // Judge the history against the final state of the region active now.
  auto history = load.history();
  std::string history_path = home + "/history.jsonl";
  if (Status s = write_history(history_path, history); !s.is_ok()) problems.push_back(s.message());
  std::string active = marks.new_region.empty() ? "primary" : marks.new_region;
  model::CheckResult check;
  auto final_state = read_final_state(state.at(active).address, workloads);
  if (final_state.is_ok()) {
    check = model::check_history(history, *final_state);
  } else {
    problems.push_back("cannot read the final state of " + active + ": " +
                       final_state.status().message());
  }
  model::RtoBreakdown rto;
  bool has_rto = marks.fault_ns && !marks.new_region.empty();
  if (has_rto) rto = model::measure_rto(history, marks);
  for (auto& p : points) {
    for (const auto& op : history) {
      if (op.outcome == model::Outcome::kOk && op.region == old_active &&
          op.workload == p.workload && model::is_write(op.kind)) {
        p.acked_seq_at_old = std::max(p.acked_seq_at_old, op.seq);
      }
    }
  }
  model::RpoEstimate rpo = model::rpo(history, old_active, marks.fault_ns, points);
  auto final_route = tm_resolve(tm_address, cfg.profile);
  uint64_t all_ops = check.writes.attempted + check.reads.attempted;
  double availability =
      all_ops ? double(check.writes.ok + check.reads.ok) / double(all_ops) : 0.0;

  std::vector<Expectation> expectations;
  const auto& ex = drill.expect;
  if (ex.max_rto_ms) {
    expectations.push_back({"RTO", fmt::format("<= {:g} ms", *ex.max_rto_ms), ms(rto.total),
                            rto.total && to_ms(*rto.total) <= *ex.max_rto_ms});
  }
  if (ex.max_lost_writes) {
    expectations.push_back({"acknowledged writes lost", fmt::format("<= {}", *ex.max_lost_writes),
                            std::to_string(check.lost_count),
                            check.lost_count <= *ex.max_lost_writes});
  }
  if (ex.max_stale_reads) {
    expectations.push_back({"stale reads", fmt::format("<= {}", *ex.max_stale_reads),
                            std::to_string(check.stale_read_count),
                            check.stale_read_count <= *ex.max_stale_reads});
  }
  if (ex.final_routing) {
    std::string got = final_route.is_ok() ? final_route->endpoint() : "unknown";
    expectations.push_back({"final routing", *ex.final_routing, got, got == *ex.final_routing});
  }
  if (ex.min_availability) {
    expectations.push_back({"availability (ok / all operations)",
                            fmt::format(">= {:.3f}", *ex.min_availability),
                            fmt::format("{:.3f}", availability),
                            availability >= *ex.min_availability});
  }
  bool passed = problems.empty();
  for (const auto& e : expectations) passed = passed && e.pass;

  // Human summary.
  std::printf("\n== drsim drill report: %s ==\n", drill.name.c_str());
  if (marks.fault_ns) {
    std::printf("fault              %s region %s\n", faulted.c_str(), fault_kind.c_str());
  }
  if (automated_failover) {
    std::printf("failover           automated by the drill; %s active at epoch %llu\n",
                marks.new_region.c_str(), (unsigned long long)new_epoch);
  }
  std::printf("writes             attempted %llu   acknowledged %llu   failed %llu   "
              "indeterminate %llu\n",
              (unsigned long long)check.writes.attempted, (unsigned long long)check.writes.ok,
              (unsigned long long)check.writes.failed,
              (unsigned long long)check.writes.indeterminate);
  std::printf("reads              attempted %llu   ok %llu   failed %llu   indeterminate %llu\n",
              (unsigned long long)check.reads.attempted, (unsigned long long)check.reads.ok,
              (unsigned long long)check.reads.failed,
              (unsigned long long)check.reads.indeterminate);
  for (const auto& [region, n] : check.ok_writes_by_region) {
    std::printf("  acknowledged by %-10s %llu\n", region.c_str(), (unsigned long long)n);
  }
  std::printf("availability       %.1f %% of operations ok\n", availability * 100);
  if (has_rto) {
    std::printf("RTO                %s  (fault -> first write acknowledged by %s)\n",
                ms(rto.total).c_str(), marks.new_region.c_str());
    std::printf("  detection        %s  (fault -> Traffic Manager marks %s Degraded)\n",
                ms(rto.detection).c_str(), faulted.c_str());
    std::printf("  promotion        %s  (Degraded -> %s promoted)\n", ms(rto.promotion).c_str(),
                marks.new_region.c_str());
    std::printf("  routing          %s  (promoted -> Traffic Manager answers %s)\n",
                ms(rto.routing).c_str(), marks.new_region.c_str());
    std::printf("  client TTL       %s  (routing change -> first client write there)\n",
                ms(rto.client).c_str());
  }
  std::printf("  estimates        documented %llu ms (TTL + tolerated x interval), strict %llu ms "
              "((interval + timeout) x (tolerated + 1) + TTL)\n",
              (unsigned long long)cfg.documented_failover_ms(),
              (unsigned long long)cfg.strict_failover_ms());
  std::printf("acked writes lost  %llu  (every acknowledged write checked against the final "
              "state of %s)\n",
              (unsigned long long)check.lost_count, active.c_str());
  std::printf("recovered          %llu indeterminate writes found applied\n",
              (unsigned long long)check.recovered_count);
  std::printf("stale reads        %llu\n", (unsigned long long)check.stale_read_count);
  if (!points.empty()) {
    std::printf("RPO                %llu writes", (unsigned long long)rpo.total_writes);
    if (rpo.max_time) std::printf(", %s", ms(rpo.max_time).c_str());
    std::printf("\n");
  }
  for (size_t i = 0; i < check.lost.size() && i < 5; ++i) {
    const auto& l = check.lost[i];
    std::printf("  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                l.region.c_str(), (unsigned long long)l.seq);
  }
  std::printf("\nexpectations\n");
  for (const auto& e : expectations) {
    std::printf("  [%s] %-40s want %-12s got %s\n", e.pass ? "PASS" : "FAIL", e.name.c_str(),
                e.want.c_str(), e.got.c_str());
  }
  if (expectations.empty()) std::printf("  (none)\n");
  for (const auto& p : problems) std::printf("  [FAIL] %s\n", p.c_str());

  // JSON report.
  json j;
  j["drill"] = drill.name;
  j["description"] = drill.description;
  j["source"] = drill.source;
  j["steps"] = steps_json;
  j["fault"] = {{"region", faulted}, {"description", faulted + " region " + fault_kind},
                {"unix_nanos", marks.fault_ns}};
  j["failover"] = {{"automated_by_drill", automated_failover},
                   {"new_active", marks.new_region},
                   {"new_epoch", new_epoch},
                   {"promoted_unix_nanos", marks.promoted_ns}};
  j["config"] = {{"workloads", cfg.workloads_flag()},
                 {"probe_interval_ms", cfg.probe_interval_ms},
                 {"probe_timeout_ms", cfg.probe_timeout_ms},
                 {"tolerated_failures", cfg.tolerated_failures},
                 {"ttl_ms", cfg.ttl_ms},
                 {"rate", lo.rate},
                 {"workers", lo.workers}};
  j["writes"] = {{"attempted", check.writes.attempted}, {"acknowledged", check.writes.ok},
                 {"failed", check.writes.failed},
                 {"indeterminate", check.writes.indeterminate}};
  j["reads"] = {{"attempted", check.reads.attempted}, {"ok", check.reads.ok},
                {"failed", check.reads.failed}, {"indeterminate", check.reads.indeterminate}};
  j["acknowledged_by_region"] = check.ok_writes_by_region;
  j["availability"] = availability;
  j["rto_ms"] = ms_json(rto.total);
  j["rto_parts_ms"] = {{"detection", ms_json(rto.detection)},
                       {"promotion", ms_json(rto.promotion)},
                       {"routing", ms_json(rto.routing)},
                       {"client_ttl", ms_json(rto.client)}};
  j["failover_estimate_ms"] = {{"documented", cfg.documented_failover_ms()},
                               {"strict", cfg.strict_failover_ms()}};
  j["acknowledged_writes_lost"] = check.lost_count;
  json lost = json::array();
  for (const auto& l : check.lost) {
    lost.push_back({{"id", l.id}, {"workload", l.workload}, {"key", l.key}, {"value", l.value},
                    {"region", l.region}, {"seq", l.seq}, {"complete_ns", l.complete_ns}});
  }
  j["lost"] = lost;
  j["recovered_indeterminate"] = check.recovered_count;
  j["stale_reads"] = check.stale_read_count;
  json rpo_j = json::array();
  for (const auto& w : rpo.workloads) {
    rpo_j.push_back({{"workload", w.workload}, {"acked_seq_at_old", w.acked_seq_at_old},
                     {"recovered_seq", w.recovered_seq}, {"writes", w.writes},
                     {"ms", ms_json(w.time)}});
  }
  j["rpo"] = {{"writes", rpo.total_writes}, {"max_ms", ms_json(rpo.max_time)},
              {"workloads", rpo_j}};
  j["replication_lag_before_fault"] = lag_before;
  json ev = json::array();
  for (const auto& e : events) {
    ev.push_back({{"unix_nanos", e.unix_nanos()},
                  {"kind", e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED ? "route_changed"
                                                                              : "endpoint_status"},
                  {"endpoint", e.endpoint()},
                  {"new_status", endpoint_status_label(e.new_status())},
                  {"old_route", e.old_route()},
                  {"new_route", e.new_route()},
                  {"reason", e.reason()}});
  }
  j["routing_events"] = ev;
  json exj = json::array();
  for (const auto& e : expectations) {
    exj.push_back({{"name", e.name}, {"want", e.want}, {"got", e.got}, {"pass", e.pass}});
  }
  j["expectations"] = exj;
  j["problems"] = problems;
  j["passed"] = passed;
  j["history_file"] = history_path;
  std::string json_path = opt.json_path.empty() ? home + "/report.json" : opt.json_path;
  {
    std::ofstream out(json_path, std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  std::string html_path = std::filesystem::path(json_path).replace_extension(".html").string();
  if (Status s = write_html_report(j, history, html_path); !s.is_ok()) {
    std::fprintf(stderr, "drsim: cannot write the HTML report: %s\n", s.message().c_str());
  }
  std::printf("\nreport  %s\n        %s\nhistory %s\n", json_path.c_str(), html_path.c_str(),
              history_path.c_str());

  for (const auto& r : paused) ::kill(state.at(r).pid, SIGCONT);
  if (opt.keep) {
    std::printf("topology left up: drsim status --home %s ; drsim down --home %s\n", home.c_str(),
                home.c_str());
  } else {
    Status down = topology_down(home, 3s);
    tl.say(down.is_ok() ? "down: every process stopped" : "down: " + down.message());
  }
  std::printf("\n%s\n", passed ? "PASSED: every expectation held"
                               : "FAILED: see the expectations and problems above");
  return passed ? 0 : 1;
}

}  // namespace drsim::cli
