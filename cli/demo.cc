#include "cli/demo.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/child_process.h"
#include "cli/final_state.h"
#include "cli/load_generator.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "common/core/time.h"
#include "common/model/history_checker.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

class Timeline {
 public:
  Timeline() : start_ns_(wall_now_unix_nanos()) {}
  double at(int64_t ns) const { return (ns - start_ns_) / 1e9; }
  void say(const std::string& what) const {
    std::printf("[%6.2fs] %s\n", at(wall_now_unix_nanos()), what.c_str());
    std::fflush(stdout);
  }
  int64_t start_ns() const { return start_ns_; }

 private:
  int64_t start_ns_;
};

std::string ms(std::optional<Duration> d) {
  return d ? fmt::format("{:.0f} ms", to_ms(*d)) : "n/a";
}
json ms_json(std::optional<Duration> d) { return d ? json(to_ms(*d)) : json(nullptr); }

void sleep_with_progress(const Timeline& tl, LoadGenerator& load, double seconds) {
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

const char* fault_name(FaultKind f) {
  switch (f) {
    case FaultKind::kKill: return "kill";
    case FaultKind::kOutage: return "outage";
    case FaultKind::kPause: return "pause";
  }
  return "?";
}

}  // namespace

int run_demo(const DemoOptions& opt) {
  Timeline tl;
  std::string home = opt.home;
  if (home.empty()) {
    char tmpl[] = "/tmp/drsim-demo-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::fprintf(stderr, "drsim demo: cannot create a temporary directory\n");
      return 1;
    }
    home = tmpl;
  }
  const TopologyConfig& cfg = opt.config;
  bool all_sync = true;
  std::vector<std::string> workloads;
  for (const auto& w : cfg.workloads) {
    workloads.push_back(w.name);
    all_sync = all_sync && w.mode == region::ReplicationMode::kSync;
  }
  std::printf("drsim demo: primary region outage drill\n");
  std::printf("  home %s\n  %zu workload(s) (%s), probe every %u ms (timeout %u ms, tolerated "
              "failures %u), TTL %llu ms\n\n",
              home.c_str(), workloads.size(), cfg.workloads_flag().c_str(), cfg.probe_interval_ms,
              cfg.probe_timeout_ms, cfg.tolerated_failures,
              static_cast<unsigned long long>(cfg.ttl_ms));

  auto up = topology_up(home, cfg, [&](const std::string& line) { tl.say("up: " + line); });
  if (!up.is_ok()) {
    std::fprintf(stderr, "drsim demo: %s\n", up.status().message().c_str());
    return 1;
  }
  TopologyState state = *up;
  const auto& primary = state.at("primary");
  const auto& secondary = state.at("secondary");
  const auto& tm = state.at("trafficmgr");

  RoutingWatcher watcher(tm.address, cfg.profile);
  LoadOptions lo;
  lo.trafficmgr_address = tm.address;
  lo.profile = cfg.profile;
  lo.workloads = workloads;
  lo.rate = opt.rate;
  lo.workers = opt.workers;
  lo.keys = opt.keys;
  lo.value_bytes = opt.value_bytes;
  lo.seed = opt.seed;
  LoadGenerator load(lo);
  load.start();
  tl.say(fmt::format("load: {:.0f} ops/s from {} clients, 90 % writes, {} keys per workload, "
                     "{}-byte values, resolving through the Traffic Manager",
                     opt.rate, opt.workers, opt.keys, opt.value_bytes));
  sleep_with_progress(tl, load, opt.warmup_s);

  // Replication lag just before the fault.
  json lag_before = json::object();
  if (auto st = region_status(primary.address); st.is_ok()) {
    for (const auto& w : st->workloads()) {
      lag_before[w.name()] = {{"lag_writes", w.lag_writes()},
                              {"lag_ms", w.lag_ms()},
                              {"write_to_ack_p50_ms", w.lag().p50_ms()},
                              {"write_to_ack_p99_ms", w.lag().p99_ms()},
                              {"samples", w.lag().samples()}};
      tl.say(fmt::format("replication {} ({}): {} writes behind, write-to-standby-ack p50 "
                         "{:.2f} ms p99 {:.2f} ms over {} writes",
                         w.name(), w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async",
                         w.lag_writes(), w.lag().p50_ms(), w.lag().p99_ms(), w.lag().samples()));
    }
  }

  // The fault.
  model::OutageMarks marks;
  marks.new_region = "secondary";
  marks.fault_ns = wall_now_unix_nanos();
  Status fault;
  std::string fault_text;
  switch (opt.fault) {
    case FaultKind::kKill:
      fault = signal_process(primary.pid, SIGKILL, "primary");
      fault_text = fmt::format("primary region outage: SIGKILL drsim-primary (pid {})", primary.pid);
      break;
    case FaultKind::kPause:
      fault = signal_process(primary.pid, SIGSTOP, "primary");
      fault_text = fmt::format("primary region frozen: SIGSTOP drsim-primary (pid {})", primary.pid);
      break;
    case FaultKind::kOutage:
      fault = region_set_outage(primary.address, true);
      fault_text = "primary region outage: every API but admin stops answering";
      break;
  }
  tl.say("FAULT " + fault_text);
  int exit_code = 0;
  std::vector<std::string> problems;
  if (!fault.is_ok()) problems.push_back("fault injection failed: " + fault.message());

  // Detection by the Traffic Manager.
  marks.detected_ns = watcher.wait_endpoint_status("primary", drsim::v1::ENDPOINT_DEGRADED,
                                                   marks.fault_ns, 15s);
  if (marks.detected_ns) {
    tl.say(fmt::format("Traffic Manager marks primary Degraded after {:.0f} ms",
                       (marks.detected_ns - marks.fault_ns) / 1e6));
  } else {
    problems.push_back("Traffic Manager never marked primary Degraded");
  }

  // Failover, automated by the drill.
  uint64_t new_epoch = 0;
  std::vector<model::WorkloadRecoveryPoint> points;
  if (marks.detected_ns) {
    tl.say("failover: AUTOMATED BY THIS DRILL on detection (Site Recovery never fails over by "
           "itself; an operator would run `drsim failover`)");
    auto fo = region_failover(secondary.address, "drsim demo: primary region outage detected");
    if (fo.is_ok()) {
      marks.promoted_ns = fo->promoted_unix_nanos();
      new_epoch = fo->new_epoch();
      tl.say(fmt::format("secondary promoted to active at epoch {}", new_epoch));
      for (const auto& r : fo->recovered()) points.push_back({r.workload(), 0, r.seq()});
    } else {
      problems.push_back("failover failed: " + fo.status().message());
    }
  }
  if (marks.promoted_ns) {
    marks.routed_ns = watcher.wait_route("secondary", marks.fault_ns, 15s);
    if (marks.routed_ns) {
      tl.say("Traffic Manager routes clients to secondary");
    } else {
      problems.push_back("Traffic Manager never routed to secondary");
    }
  }
  // Clients follow once their cached answer expires.
  int64_t first_ack = 0;
  for (int i = 0; i < 300 && marks.routed_ns && !first_ack; ++i) {
    first_ack = load.first_ok_write_by("secondary", marks.fault_ns);
    if (!first_ack) std::this_thread::sleep_for(50ms);
  }
  if (first_ack) {
    tl.say(fmt::format("first write acknowledged by secondary, {:.0f} ms after the fault",
                       (first_ack - marks.fault_ns) / 1e6));
  } else if (marks.routed_ns) {
    problems.push_back("no client write was acknowledged by secondary within 15 s");
  }
  sleep_with_progress(tl, load, opt.after_s);
  load.stop();
  tl.say("load stopped");

  watcher.stop();
  // Check the history against the final state of the active region.
  auto history = load.history();
  std::string history_path = home + "/history.jsonl";
  if (Status s = write_history(history_path, history); !s.is_ok()) problems.push_back(s.message());
  std::string active_address = secondary.address;
  auto final_state = read_final_state(active_address, workloads);
  model::CheckResult check;
  if (final_state.is_ok()) {
    check = model::check_history(history, *final_state);
  } else {
    problems.push_back("cannot read the final state: " + final_state.status().message());
  }
  model::RtoBreakdown rto = model::measure_rto(history, marks);
  for (auto& p : points) {
    for (const auto& op : history) {
      if (op.outcome == model::Outcome::kOk && op.region == "primary" &&
          op.workload == p.workload && model::is_write(op.kind)) {
        p.acked_seq_at_old = std::max(p.acked_seq_at_old, op.seq);
      }
    }
  }
  model::RpoEstimate rpo = model::rpo(history, "primary", marks.fault_ns, points);
  auto final_route = tm_resolve(tm.address, cfg.profile);

  // Expectations.
  struct Expectation {
    std::string name, limit, actual;
    bool pass;
  };
  std::vector<Expectation> expectations;
  uint64_t rto_limit_ms = cfg.strict_failover_ms() + 1000;
  expectations.push_back({"RTO measured and within the strict failover estimate + 1 s",
                          fmt::format("<= {} ms", rto_limit_ms), ms(rto.total),
                          rto.total && to_ms(*rto.total) <= rto_limit_ms});
  if (all_sync) {
    expectations.push_back({"acknowledged writes lost (sync replication)", "0",
                            std::to_string(check.lost_count), check.lost_count == 0});
  }
  expectations.push_back({"final routing", "secondary",
                          final_route.is_ok() ? final_route->endpoint() : "unknown",
                          final_route.is_ok() && final_route->endpoint() == "secondary"});
  expectations.push_back({"clients acknowledged by secondary after failover", "> 0",
                          std::to_string(check.ok_writes_by_region["secondary"]),
                          check.ok_writes_by_region["secondary"] > 0});
  bool passed = problems.empty();
  for (const auto& e : expectations) passed = passed && e.pass;
  exit_code = passed ? 0 : 1;

  // Human summary.
  std::printf("\n== drsim demo report ==\n");
  std::printf("fault              %s\n", fault_text.c_str());
  std::printf("failover           automated by the drill on detection; secondary now active at "
              "epoch %llu\n",
              static_cast<unsigned long long>(new_epoch));
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
  std::printf("RTO                %s  (fault -> first write acknowledged by secondary)\n",
              ms(rto.total).c_str());
  std::printf("  detection        %s  (fault -> Traffic Manager marks primary Degraded)\n",
              ms(rto.detection).c_str());
  std::printf("  promotion        %s  (Degraded -> secondary promoted)\n",
              ms(rto.promotion).c_str());
  std::printf("  routing          %s  (promoted -> Traffic Manager answers secondary)\n",
              ms(rto.routing).c_str());
  std::printf("  client TTL       %s  (routing change -> first client write there)\n",
              ms(rto.client).c_str());
  std::printf("  estimates        documented %llu ms (TTL + tolerated x interval), strict %llu ms "
              "((interval + timeout) x (tolerated + 1) + TTL)\n",
              (unsigned long long)cfg.documented_failover_ms(),
              (unsigned long long)cfg.strict_failover_ms());
  std::printf("acked writes lost  %llu  (every acknowledged write checked against the final "
              "state of secondary)\n",
              (unsigned long long)check.lost_count);
  std::printf("recovered          %llu indeterminate writes found applied\n",
              (unsigned long long)check.recovered_count);
  std::printf("stale reads        %llu\n", (unsigned long long)check.stale_read_count);
  std::printf("RPO                %llu writes", (unsigned long long)rpo.total_writes);
  if (rpo.max_time) std::printf(", %s", ms(rpo.max_time).c_str());
  std::printf("\n");
  for (const auto& lost : check.lost) {
    if (&lost - &check.lost[0] >= 5) break;
    std::printf("  LOST %s/%s = %.20s... acked by %s seq %llu\n", lost.workload.c_str(),
                lost.key.c_str(), lost.value.c_str(), lost.region.c_str(),
                (unsigned long long)lost.seq);
  }
  std::printf("\nexpectations\n");
  for (const auto& e : expectations) {
    std::printf("  [%s] %-55s want %-12s got %s\n", e.pass ? "PASS" : "FAIL", e.name.c_str(),
                e.limit.c_str(), e.actual.c_str());
  }
  for (const auto& p : problems) std::printf("  [FAIL] %s\n", p.c_str());

  // JSON report.
  json j;
  j["drill"] = "demo";
  j["fault"] = {{"kind", fault_name(opt.fault)}, {"region", "primary"},
                {"description", fault_text}, {"unix_nanos", marks.fault_ns}};
  j["failover"] = {{"automated_by_drill", true}, {"new_active", "secondary"},
                   {"new_epoch", new_epoch}, {"promoted_unix_nanos", marks.promoted_ns}};
  j["config"] = {{"workloads", cfg.workloads_flag()},
                 {"probe_interval_ms", cfg.probe_interval_ms},
                 {"probe_timeout_ms", cfg.probe_timeout_ms},
                 {"tolerated_failures", cfg.tolerated_failures},
                 {"ttl_ms", cfg.ttl_ms},
                 {"rate", opt.rate},
                 {"workers", opt.workers}};
  j["writes"] = {{"attempted", check.writes.attempted}, {"acknowledged", check.writes.ok},
                 {"failed", check.writes.failed},
                 {"indeterminate", check.writes.indeterminate}};
  j["reads"] = {{"attempted", check.reads.attempted}, {"ok", check.reads.ok},
                {"failed", check.reads.failed}, {"indeterminate", check.reads.indeterminate}};
  j["acknowledged_by_region"] = check.ok_writes_by_region;
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
  json events = json::array();
  for (const auto& e : watcher.events()) {
    events.push_back({{"unix_nanos", e.unix_nanos()},
                      {"kind", e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED
                                   ? "route_changed"
                                   : "endpoint_status"},
                      {"endpoint", e.endpoint()},
                      {"new_status", endpoint_status_label(e.new_status())},
                      {"old_route", e.old_route()},
                      {"new_route", e.new_route()},
                      {"reason", e.reason()}});
  }
  j["routing_events"] = events;
  json ex = json::array();
  for (const auto& e : expectations) {
    ex.push_back({{"name", e.name}, {"want", e.limit}, {"got", e.actual}, {"pass", e.pass}});
  }
  j["expectations"] = ex;
  j["problems"] = problems;
  j["passed"] = passed;
  j["history_file"] = history_path;
  std::string json_path = opt.json_path.empty() ? home + "/report.json" : opt.json_path;
  {
    std::ofstream out(json_path, std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  std::printf("\nreport  %s\nhistory %s\n", json_path.c_str(), history_path.c_str());

  if (opt.keep) {
    std::printf("topology left up: drsim status --home %s ; drsim down --home %s\n", home.c_str(),
                home.c_str());
  } else {
    if (opt.fault == FaultKind::kPause) ::kill(primary.pid, SIGCONT);
    Status down = topology_down(home, 3s);
    tl.say(down.is_ok() ? "down: every process stopped" : "down: " + down.message());
  }
  std::printf("\n%s\n", passed ? "PASSED: every expectation held" : "FAILED");
  return exit_code;
}

}  // namespace drsim::cli
