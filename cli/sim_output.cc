// `drsim sim`'s output (cli/sim_command_impl.h): the totals over the seeds, the summary, the
// replay command, --json, --trace's JSON lines and --html's drill report.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/html_report.h"
#include "cli/json_output.h"
#include "cli/sim_command_impl.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

using sim::Nemesis;
using sim::Verdict;

void SimCommand::Impl::Totals::add(const Verdict& v) {
  ++seeds;
  for (Nemesis n : v.episodes) ++faults[std::string(sim::nemesis_name(n))];
  episodes += v.episodes.size();
  failing += v.violations.empty() ? 0 : 1;
  violations += v.violations.size();
  counts += v.counts;
  if (v.longest_write_gap > longest_write_gap) {
    longest_write_gap = v.longest_write_gap;
    longest_write_gap_seed = v.seed;
  }
  simulated += v.simulated;
  longest_lease_wait = std::max(longest_lease_wait, v.lease_wait);
  if (v.longest_recovery > longest_recovery) {
    longest_recovery = v.longest_recovery;
    longest_recovery_seed = v.seed;
  }
  auto& n = by_nemesis[std::string(sim::nemesis_name(v.nemesis))];
  ++n.first;
  n.second += v.violations.empty() ? 0 : 1;
}

std::string SimCommand::Impl::replay_command(const Verdict& v) const {
  // A --duration run draws its later faults from the kinds --nemesis named: the replay names
  // them all (the seed draws the same first one from them).
  std::string c = "drsim sim --seed " + std::to_string(v.seed) + " --nemesis " +
                  (run_duration > Duration{} ? nemesis : std::string(sim::nemesis_name(v.nemesis)));
  if (clients > 0) c += " --clients " + std::to_string(clients);
  if (!duration.empty()) c += " --duration " + duration;
  if (mode != "mixed") c += " --mode " + mode;
  if (workloads != 2) c += " --workloads " + std::to_string(workloads);
  if (drift_beyond_bound) c += " --drift-beyond-bound";
  if (without_fsync) c += " --without-fsync";
  if (!broken_variant.empty()) c += " --broken-variant " + broken_variant;
  return c;
}

const char* SimCommand::Impl::event_kind(const std::string& text) {
  if (text.rfind("VIOLATION: ", 0) == 0) return "violation";
  if (text.rfind("nemesis: ", 0) == 0) return "nemesis";
  if (text.rfind("operator", 0) == 0) return "operator";
  if (text.find(" acked k") != std::string::npos) return "ack";
  if (text.find(" refused k") != std::string::npos) return "refusal";
  if (text.find(" read k") != std::string::npos) return "read";
  if (text.find(" refused the read of k") != std::string::npos) return "refusal";
  if (text.find(" acked the delete of k") != std::string::npos) return "ack";
  if (text.find(" refused the delete of k") != std::string::npos) return "refusal";
  if (text.rfind("trafficmgr: route ", 0) == 0) return "routing";
  return "state";
}

Status SimCommand::Impl::write_trace(const Verdict& v, std::ofstream& out) const {
  JsonObject head{{"schema_version", 1},
                  {"seed", v.seed},
                  {"nemesis", sim::nemesis_name(v.nemesis)},
                  {"replay", replay_command(v)},
                  {"events", v.events.size()},
                  {"violations", v.violations}};
  out << head.dump() << "\n";
  for (const auto& e : v.events) {
    // "  1234.000 ms  text": the virtual instant, then what happened.
    const size_t ms_at = e.find(" ms  ");
    const double t_ms = ms_at == std::string::npos ? 0.0 : std::strtod(e.c_str(), nullptr);
    const std::string text = ms_at == std::string::npos ? e : e.substr(ms_at + 5);
    out << JsonObject{{"t_ms", t_ms}, {"kind", event_kind(text)}, {"text", text}}.dump() << "\n";
  }
  if (!out.flush()) return invalid_argument("--trace: cannot write " + trace);
  return Status::ok();
}

std::string SimCommand::Impl::timeline_label(const std::string& text) {
  std::string t = text;
  if (t.rfind("operator", 0) == 0 && t.find(": ") != std::string::npos) {
    t = t.substr(t.find(": ") + 2);
  }
  return t.substr(0, std::min(t.find(" ("), t.find(": ")));
}

nlohmann::json SimCommand::Impl::html_report(const Verdict& v) const {
  const Verdict::Record& r = v.record;
  nlohmann::json j;
  j["drill"] =
      "sim seed " + std::to_string(v.seed) + ", " + std::string(sim::nemesis_name(v.nemesis));
  j["description"] = replay_command(v);
  j["passed"] = v.violations.empty();
  j["problems"] = v.violations;
  j["final_active"] = r.final_active;
  model::OutageMarks marks;
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& m : r.marks) {
    if (m.kind == "nemesis" || m.kind == "operator") {
      if (m.kind == "nemesis" && marks.fault_ns == 0) {
        marks.fault_ns = m.unix_nanos;
        j["fault"] = {{"unix_nanos", m.unix_nanos},
                      {"kind", sim::nemesis_name(v.nemesis)},
                      {"description", m.text}};
      }
      steps.push_back({{"step", steps.size() + 1},
                       {"action", m.text},
                       {"outcome", "ok"},
                       {"timeline", timeline_label(m.text)},
                       {"started_unix_nanos", m.unix_nanos}});
    } else if (m.kind == "promoted" && marks.promoted_ns == 0) {
      marks.promoted_ns = m.unix_nanos;
      marks.new_region = m.region;
      j["failover"] = {
          {"promoted_unix_nanos", m.unix_nanos}, {"new_active", m.region}, {"new_epoch", m.epoch}};
    } else if (m.kind == "route") {
      routes.push_back({{"kind", "route_changed"},
                        {"unix_nanos", m.unix_nanos},
                        {"old_route", m.old_route},
                        {"new_route", m.region},
                        {"reason", m.text}});
      if (marks.fault_ns != 0 && marks.detected_ns == 0 && m.unix_nanos >= marks.fault_ns) {
        marks.detected_ns = m.unix_nanos;
      }
      if (marks.promoted_ns != 0 && marks.routed_ns == 0 && m.region == marks.new_region) {
        marks.routed_ns = m.unix_nanos;
      }
    }
  }
  j["steps"] = steps;
  j["routing_events"] = routes;
  if (!r.history.empty()) {
    const model::CheckResult& c = r.check;
    j["writes"] = {{"attempted", c.writes.attempted},
                   {"acknowledged", c.writes.ok},
                   {"failed", c.writes.failed},
                   {"indeterminate", c.writes.indeterminate}};
    j["reads"] = {{"attempted", c.reads.attempted},
                  {"ok", c.reads.ok},
                  {"failed", c.reads.failed},
                  {"indeterminate", c.reads.indeterminate}};
    j["acknowledged_by_region"] = c.ok_writes_by_region;
    j["acknowledged_writes_lost"] = c.lost_count;
    j["stale_reads"] = c.stale_read_count;
    if (marks.fault_ns != 0 && !marks.new_region.empty()) {
      put_rto(model::measure_rto(r.history, marks), &j);
    }
  }
  return j;
}

std::string SimCommand::Impl::episode_names(const Verdict& v) {
  std::string names(sim::nemesis_name(v.nemesis));
  for (size_t i = 1; i < v.episodes.size(); ++i) {
    names += (i == 1 ? ", then " : ", ") + std::string(sim::nemesis_name(v.episodes[i]));
  }
  return names;
}

std::string SimCommand::Impl::run_shape() const {
  std::string shape;
  if (clients > 0) shape += ", " + std::to_string(clients) + " routed client(s)";
  if (!duration.empty()) shape += ", at least " + duration + " each";
  if (mode != "mixed" || workloads != 2) {
    shape += ", " + std::to_string(workloads) + " " + mode + " workload(s)";
  }
  return shape;
}

void SimCommand::Impl::print_summary(const Totals& t, double wall_s) const {
  std::string by;
  for (const auto& [name, n] : t.by_nemesis)
    by += (by.empty() ? "" : ", ") + name + " " + std::to_string(n.first);
  const double virtual_s = to_ms(t.simulated) / 1000;
  std::printf("summary\n");
  std::printf("  seeds              %zu (%s)\n", t.seeds, by.c_str());
  std::printf("  virtual time       %.1f s\n", virtual_s);
  std::printf("  wall time          %.2f s (%.0fx real time)\n", wall_s,
              wall_s > 0 ? virtual_s / wall_s : 0.0);
  std::printf("  acks checked       %zu (%zu sync, %zu async)\n", t.counts.acked, t.counts.acked_sync,
              t.counts.acked - t.counts.acked_sync);
  if (t.episodes > t.seeds) {
    std::string kinds;
    for (const auto& [name, n] : t.faults)
      kinds += (kinds.empty() ? "" : ", ") + name + " " + std::to_string(n);
    std::printf("  faults             %zu (%s); the pair restored %zu time(s) between two\n",
                t.episodes, kinds.c_str(), t.counts.restores);
  }
  std::printf("  refused            %zu (after the fault)\n", t.counts.refused_after_fault);
  std::printf("  routing changes    %zu (the Traffic Manager's)\n", t.counts.route_changes);
  if (clients > 0) {
    std::printf(
        "  routed clients     %zu operations (%zu gets, %zu deletes) at %.0f/s virtual, "
        "%zu ok; longest time without an acknowledged put %.0f ms (seed %llu)\n",
        t.counts.routed_ops, t.counts.routed_reads, t.counts.routed_deletes,
        virtual_s > 0 ? t.counts.routed_ops / virtual_s : 0.0, t.counts.routed_ok, to_ms(t.longest_write_gap),
        static_cast<unsigned long long>(t.longest_write_gap_seed));
    std::printf(
        "  history check      model::check_history over every routed operation; "
        "gets that missed a write nothing promised: %zu an async write a failover "
        "gave up, %zu a write a crash without fsync lost (kill-cut-off)\n",
        t.counts.reads_of_given_up_writes, t.counts.reads_of_crash_lost_writes);
  }
  std::printf("  failovers          %zu (%zu planned), longest lease wait %.0f ms\n", t.counts.failovers,
              t.counts.planned_failovers, to_ms(t.longest_lease_wait));
  if (clients > 0) {
    std::printf(
        "  recovery time      %zu promotion(s) judged: a routed client's write acknowledged by "
        "the promoted region within the bound (%.0f ms), the longest after %.0f ms (seed %llu); "
        "%zu not judged (a newer promotion, the next fault or operator step, or the clients' "
        "stop came first)\n",
        t.counts.recoveries_judged, to_ms(sim::recovery_budget().total()), to_ms(t.longest_recovery),
        static_cast<unsigned long long>(t.longest_recovery_seed), t.counts.recoveries_excused);
  }
  std::printf("  kills / restarts   %zu / %zu\n", t.counts.kills, t.counts.restarts);
  std::printf("  standby refusals   %zu (batches the standby refused: disk full, gaps)\n",
              t.counts.standby_refusals);
  if (t.by_nemesis.count("kill-cut-off") > 0) {
    std::printf(
        "  lost-write stops   %zu (kill-cut-off: the restarted primary found the standby "
        "holds writes it lost), %zu re-protect(s)\n",
        t.counts.lost_write_stops, t.counts.reprotects);
  }
  if (t.by_nemesis.count("racing-failovers") > 0) {
    std::printf(
        "  racing failovers   %zu refused (%zu of them: a newer epoch learned during the "
        "lease wait), %zu promoted past the epoch their wait proved\n",
        t.counts.refused_failovers, t.counts.superseded_during_wait, t.counts.gated_after_lease_wait);
  }
  if (t.by_nemesis.count("kill-cut-off") > 0 || t.by_nemesis.count("racing-failovers") > 0 ||
      t.by_nemesis.count("slow-link") > 0) {
    std::printf(
        "  async acks lost    %zu (kill-cut-off: a store without fsync keeps none of "
        "them across a crash; racing-failovers, slow-link: the async tail an unplanned "
        "failover gives up)\n",
        t.counts.rolled_back_acks);
  }
  std::printf("  violations         %zu in %zu seed(s)\n", t.violations, t.failing);
}

int SimCommand::Impl::print_json(const Totals& t, const std::vector<Verdict>& failing,
                                 const std::optional<Verdict>& replayed, double wall_s) const {
  JsonObject body;
  body["seeds"] = t.seeds;
  body["nemesis"] = nemesis;
  body["lease_check"] = broken_variant == "lease" ? "bypassed" : "enforced";
  body["broken_variant"] = broken_variant;
  body["drift_range"] = drift_beyond_bound ? "beyond_bound" : "within_bound";
  body["virtual_time_s"] = to_ms(t.simulated) / 1000;
  body["wall_time_s"] = wall_s;
  body["acks_checked"] = t.counts.acked;
  body["acks_sync"] = t.counts.acked_sync;
  body["acks_async"] = t.counts.acked - t.counts.acked_sync;
  body["refused_after_fault"] = t.counts.refused_after_fault;
  body["failovers"] = t.counts.failovers;
  body["kills"] = t.counts.kills;
  body["restarts"] = t.counts.restarts;
  body["standby_refusals"] = t.counts.standby_refusals;
  body["lost_write_stops"] = t.counts.lost_write_stops;
  body["reprotects"] = t.counts.reprotects;
  body["async_acks_lost"] = t.counts.rolled_back_acks;
  body["planned_failovers"] = t.counts.planned_failovers;
  body["refused_failovers"] = t.counts.refused_failovers;
  body["superseded_during_wait"] = t.counts.superseded_during_wait;
  body["gated_after_lease_wait"] = t.counts.gated_after_lease_wait;
  body["fsync"] = without_fsync ? "off" : "every_write";
  body["longest_lease_wait_ms"] = to_ms(t.longest_lease_wait);
  body["clients"] = clients;
  body["duration"] = duration;
  body["mode"] = mode;
  body["workloads"] = workloads;
  body["route_changes"] = t.counts.route_changes;
  body["routed_ops"] = t.counts.routed_ops;
  body["routed_ok"] = t.counts.routed_ok;
  body["routed_reads"] = t.counts.routed_reads;
  body["routed_deletes"] = t.counts.routed_deletes;
  body["reads_of_given_up_writes"] = t.counts.reads_of_given_up_writes;
  body["reads_of_crash_lost_writes"] = t.counts.reads_of_crash_lost_writes;
  body["longest_write_gap_ms"] = to_ms(t.longest_write_gap);
  body["recoveries_judged"] = t.counts.recoveries_judged;
  body["recoveries_excused"] = t.counts.recoveries_excused;
  body["longest_recovery_ms"] = to_ms(t.longest_recovery);
  body["recovery_bound_ms"] = to_ms(sim::recovery_budget().total());
  body["violations"] = t.violations;
  JsonObject by = JsonObject::object();
  for (const auto& [name, n] : t.by_nemesis)
    by[name] = JsonObject{{"seeds", n.first}, {"failing", n.second}};
  body["by_nemesis"] = by;
  JsonObject faults = JsonObject::object();
  for (const auto& [name, n] : t.faults) faults[name] = n;
  body["faults"] = faults;
  body["restores"] = t.counts.restores;
  JsonObject fails = JsonObject::array();
  for (const Verdict& v : failing) {
    JsonObject episodes = JsonObject::array();
    for (Nemesis n : v.episodes) episodes.push_back(sim::nemesis_name(n));
    fails.push_back(JsonObject{{"seed", v.seed},
                               {"nemesis", sim::nemesis_name(v.nemesis)},
                               {"faults", episodes},
                               {"violations", v.violations},
                               {"replay", replay_command(v)}});
  }
  body["failing_seeds"] = fails;
  body["events"] = replayed ? JsonObject(replayed->events) : JsonObject::array();
  print_json_document(body);
  return failing.empty() ? 0 : 1;
}

int SimCommand::Impl::print_text(const Totals& t, const std::vector<Verdict>& failing,
                                 const std::optional<Verdict>& replayed, double wall_s) const {
  if (replayed) {
    std::printf("seed %llu, nemesis %s: events\n", static_cast<unsigned long long>(replayed->seed),
                episode_names(*replayed).c_str());
    for (const auto& e : replayed->events) std::printf("  %s\n", e.c_str());
  }
  print_summary(t, wall_s);
  for (const Verdict& v : failing) {
    std::printf("\nseed %llu (%s): %zu violation(s)\n", static_cast<unsigned long long>(v.seed),
                episode_names(v).c_str(), v.violations.size());
    for (size_t i = 0; i < v.violations.size() && i < 5; ++i)
      std::printf("  %s\n", v.violations[i].c_str());
    if (v.violations.size() > 5) std::printf("  ... %zu more\n", v.violations.size() - 5);
    std::printf("  replay: %s\n", replay_command(v).c_str());
  }
  if (!failing.empty() && drift_beyond_bound) {
    std::printf(
        "\n(expected: --drift-beyond-bound drew clock rates the lease's bound does not "
        "cover, so the superseded region may acknowledge writes)\n");
  }
  if (!failing.empty() && without_fsync) {
    std::printf(
        "\n(expected: with --without-fsync the stores leave writes in the OS's cache, which a "
        "host crash loses; drsim promises that only with storage.fsync: true)\n");
  }
  return failing.empty() ? 0 : 1;
}

}  // namespace drsim::cli
