// The drill report for people (the summary on stdout) and for programs (report.json), both
// pure functions of a DrillReport.
#include "cli/drill_report.h"

#include "cli/html_report.h"

namespace drsim::cli {

using nlohmann::json;

// The report's own records as report.json spells them (found by nlohmann::json through ADL).
static void to_json(json& j, const PlannedFailoverReport& p) {
  json drained = json::object();
  for (const auto& c : p.drained) drained[c.workload] = c.seq;
  j = {{"from", p.from},
       {"to", p.to},
       {"new_epoch", p.new_epoch},
       {"promoted_unix_nanos", p.promoted_ns},
       {"writes_paused_ms", p.writes_paused_ms},
       {"duration_ms", p.duration_ms},
       {"drained", drained},
       {"acked_beyond_drain", p.acked_beyond_drain}};
}

static void to_json(json& j, const ReprotectReport& r) {
  j = {{"active", r.active},
       {"standby", r.standby},
       {"kind", r.kind},
       {"bytes", r.bytes},
       {"duration_ms", r.duration_ms},
       {"changes", r.changes},
       {"keys_copied", r.keys_copied},
       {"rolled_back_entries", r.rolled_back_entries},
       {"restored_keys", r.restored_keys}};
}

static void to_json(json& j, const LagBeforeFault& l) {
  j = {{"lag_writes", l.lag_writes},
       {"lag_ms", l.lag_ms},
       {"write_to_ack_p50_ms", l.write_to_ack_p50_ms},
       {"write_to_ack_p99_ms", l.write_to_ack_p99_ms},
       {"samples", l.samples}};
}

static void to_json(json& j, const LagPoint& s) {
  j = {{"unix_nanos", s.unix_nanos},
       {"region", s.region},
       {"epoch", s.epoch},
       {"lag_writes", s.lag_writes},
       {"lag_ms", s.lag_ms}};
}

static void to_json(json& j, const RoutingEventReport& e) {
  j = {{"unix_nanos", e.unix_nanos}, {"kind", e.kind},           {"endpoint", e.endpoint},
       {"new_status", e.new_status}, {"old_route", e.old_route}, {"new_route", e.new_route},
       {"reason", e.reason}};
}

namespace {

using ull = unsigned long long;

// The drill's name, its faults, failovers, re-protects and clock notes.
void print_events(const DrillReport& r, std::FILE* out) {
  std::fprintf(out, "\n== drsim drill report: %s ==\n", r.drill.c_str());
  if (r.fault_ns) {
    std::fprintf(out, "fault              %s region %s\n", r.fault_region.c_str(),
                 r.fault_kind.c_str());
  }
  for (const auto& w : r.faults) {
    std::fprintf(
        out, "  injected         %-48s %+8.2f s .. %s\n", w.description.c_str(),
        (w.start_ns - r.load_start_ns) / 1e9,
        w.end_ns ? fmt::format("{:+.2f} s", (w.end_ns - r.load_start_ns) / 1e9).c_str() : "end");
  }
  if (r.automated_failover) {
    std::fprintf(out, "failover           automated by the drill; %s active at epoch %llu\n",
                 r.new_active.c_str(), static_cast<ull>(r.failover_epoch));
  }
  for (const auto& p : r.planned_failovers) {
    std::fprintf(out,
                 "planned failover   %s -> %s at epoch %llu: writes paused %.1f ms, drained %zu "
                 "workload(s)\n",
                 p.from.c_str(), p.to.c_str(), static_cast<ull>(p.new_epoch), p.writes_paused_ms,
                 p.drained.size());
  }
  for (const auto& rp : r.reprotects) {
    std::fprintf(out,
                 "re-protect         %s -> %s: %s, %llu bytes in %.0f ms (%llu changes, %llu keys "
                 "copied, %llu entries rolled back)\n",
                 rp.active.c_str(), rp.standby.c_str(), rp.kind.c_str(), static_cast<ull>(rp.bytes),
                 rp.duration_ms, static_cast<ull>(rp.changes), static_cast<ull>(rp.keys_copied),
                 static_cast<ull>(rp.rolled_back_entries));
  }
  for (const auto& note : r.clock_notes) std::fprintf(out, "clock              %s\n", note.c_str());
}

// Operations attempted and how they ended.
void print_counts(const DrillReport& r, std::FILE* out) {
  std::fprintf(out,
               "writes             attempted %llu   acknowledged %llu   failed %llu   "
               "indeterminate %llu\n",
               static_cast<ull>(r.writes.attempted), static_cast<ull>(r.writes.ok),
               static_cast<ull>(r.writes.failed), static_cast<ull>(r.writes.indeterminate));
  std::fprintf(out,
               "reads              attempted %llu   ok %llu   failed %llu   indeterminate %llu\n",
               static_cast<ull>(r.reads.attempted), static_cast<ull>(r.reads.ok),
               static_cast<ull>(r.reads.failed), static_cast<ull>(r.reads.indeterminate));
  for (const auto& [region, n] : r.acknowledged_by_region) {
    std::fprintf(out, "  acknowledged by %-10s %llu\n", region.c_str(), static_cast<ull>(n));
  }
  std::fprintf(out, "availability       %.1f %% of operations ok\n", r.availability * 100);
}

// The RTO and its parts, and how the clients moved (only when an outage was failed over).
void print_rto(const DrillReport& r, std::FILE* out) {
  const char* to = r.new_active.c_str();
  std::fprintf(out, "RTO                %s  (fault -> first write acknowledged by %s)\n",
               ms(r.rto.total).c_str(), to);
  std::fprintf(out, "  detection        %s  (fault -> Traffic Manager marks %s Degraded)\n",
               ms(r.rto.detection).c_str(), r.fault_region.c_str());
  std::fprintf(out,
               "  promotion        %s  (Degraded -> %s promoted; %.0f ms of it waiting out the "
               "old lease)\n",
               ms(r.rto.promotion).c_str(), to, r.lease_wait_ms);
  std::fprintf(out, "  routing          %s  (promoted -> Traffic Manager answers %s)\n",
               ms(r.rto.routing).c_str(), to);
  std::fprintf(out,
               "  client deadline  %s  (the first client to move was blocked on the old region "
               "until its deadline or keepalive gave up)\n",
               ms(r.rto.client_deadline).c_str());
  std::fprintf(out,
               "  client TTL       %s  (routing change -> first client write there, less that "
               "wait)\n",
               ms(r.rto.client_ttl).c_str());
  std::fprintf(out, "clients moved      %u of %u; first %s, all %s after the fault\n",
               r.clients_moved.moved, r.clients_moved.clients, ms(r.clients_moved.first).c_str(),
               ms(r.clients_moved.last).c_str());
}

// The estimates, then what was lost, recovered, stale, acknowledged after fencing, the RPO.
void print_losses(const DrillReport& r, std::FILE* out) {
  std::fprintf(out,
               "  estimates        documented %llu ms (TTL + max(tolerated x interval, lease "
               "wait)), strict %llu ms (max((interval + timeout) x (tolerated + 1), lease wait) + "
               "TTL); lease wait = lease x (1 + drift) = %llu ms\n",
               static_cast<ull>(r.config.documented_failover_ms),
               static_cast<ull>(r.config.strict_failover_ms),
               static_cast<ull>(r.config.lease_wait_ms));
  std::fprintf(out,
               "acked writes lost  %llu  (every acknowledged write checked against the final "
               "state of %s)\n",
               static_cast<ull>(r.lost_count), r.final_active.c_str());
  if (r.lost_given_up_by_recovery_point) {
    std::fprintf(out,
                 "                   (acknowledged after the recovery point the drill failed over "
                 "to: given up by design, within the RPO below; not a fault of replication)\n");
  }
  std::fprintf(out, "recovered          %llu indeterminate writes found applied\n",
               static_cast<ull>(r.recovered_count));
  std::fprintf(out, "stale reads        %llu\n", static_cast<ull>(r.stale_reads));
  const model::FencedWrites& f = r.after_fencing;
  std::fprintf(out,
               "after fencing      %zu writes acknowledged by a superseded region after the "
               "failover (%llu invoked after it, %llu in flight across it)\n",
               f.count(), static_cast<ull>(f.invoked_after_promotion),
               static_cast<ull>(f.in_flight_across));
  for (const auto& d : r.clock_drift_beyond_lease_bound) {
    std::fprintf(out,
                 "  %s: clock drift beyond the lease's bound (beyond_bound: true), so the lease "
                 "cannot keep the superseded region from acknowledging — %s\n",
                 f.count() > 0 ? "cause" : "note", d.c_str());
  }
  if (r.failed_over) {
    std::fprintf(out, "RPO                %llu writes", static_cast<ull>(r.rpo.total_writes));
    if (r.rpo.max_time) std::fprintf(out, ", %s", ms(r.rpo.max_time).c_str());
    std::fprintf(out, "\n");
  }
  for (size_t i = 0; i < r.lost.size() && i < 5; ++i) {
    const auto& l = r.lost[i];
    std::fprintf(out, "  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                 l.region.c_str(), static_cast<ull>(l.seq));
  }
}

void print_verdict(const DrillReport& r, std::FILE* out) {
  std::fprintf(out, "\nexpectations\n");
  for (const auto& e : r.expectations) {
    std::fprintf(out, "  [%s] %-40s want %-12s got %s\n", e.pass ? "PASS" : "FAIL", e.name.c_str(),
                 e.want.c_str(), e.got.c_str());
  }
  if (r.expectations.empty()) std::fprintf(out, "  (none)\n");
  for (const auto& p : r.problems) std::fprintf(out, "  [FAIL] %s\n", p.c_str());
}

// report["fault"], ["faults"], ["failover"], ["planned_failovers"] and ["reprotects"].
void put_failovers(const DrillReport& r, json* j) {
  (*j)["fault"] = {{"region", r.fault_region},
                   {"description", r.fault_region + " region " + r.fault_kind},
                   {"unix_nanos", r.fault_ns}};
  json faults = json::array();
  for (const auto& w : r.faults) {
    faults.push_back({{"description", w.description},
                      {"target", w.target},
                      {"start_unix_nanos", w.start_ns},
                      {"end_unix_nanos", w.end_ns ? w.end_ns : r.end_ns}});
  }
  (*j)["faults"] = faults;
  (*j)["failover"] = {{"automated_by_drill", r.automated_failover},
                      {"new_active", r.new_active},
                      {"new_epoch", r.failover_epoch},
                      {"promoted_unix_nanos", r.promoted_ns}};
  (*j)["planned_failovers"] = r.planned_failovers;
  (*j)["reprotects"] = r.reprotects;
}

json config_json(const DrillReportConfig& c) {
  return {{"workloads", c.workloads},
          {"probe_interval_ms", c.probe_interval_ms},
          {"probe_timeout_ms", c.probe_timeout_ms},
          {"tolerated_failures", c.tolerated_failures},
          {"ttl_ms", c.ttl_ms},
          {"fault_proxy", c.fault_proxy},
          {"rate", c.rate},
          {"workers", c.workers},
          {"deadline_ms", c.deadline_ms},
          {"in_flight", c.in_flight},
          {"stale_clients", stale_clients_json(c.stale_clients)}};
}

json counts_json(const model::OpCounts& c, const char* ok_name) {
  return {{"attempted", c.attempted},
          {ok_name, c.ok},
          {"failed", c.failed},
          {"indeterminate", c.indeterminate}};
}

// Lost and recovered writes, stale reads, clients moved, fencing, the RPO.
void put_losses(const DrillReport& r, json* j) {
  (*j)["acknowledged_writes_lost"] = r.lost_count;
  (*j)["lost_writes_given_up_by_recovery_point"] = r.lost_given_up_by_recovery_point;
  json lost = json::array();
  for (const auto& l : r.lost) {
    lost.push_back({{"id", l.id},
                    {"workload", l.workload},
                    {"key", l.key},
                    {"value", l.value},
                    {"region", l.region},
                    {"seq", l.seq},
                    {"complete_ns", l.complete_ns}});
  }
  (*j)["lost"] = lost;
  (*j)["clients_moved"] = {{"clients", r.clients_moved.clients},
                           {"moved", r.clients_moved.moved},
                           {"first_ms", ms_json(r.clients_moved.first)},
                           {"all_ms", ms_json(r.clients_moved.last)}};
  (*j)["writes_acked_after_fencing"] = r.after_fencing.ids;
  (*j)["writes_acked_after_fencing_in_flight_across"] = r.after_fencing.in_flight_across;
  (*j)["recovered_indeterminate"] = r.recovered_count;
  (*j)["stale_reads"] = r.stale_reads;
  json workloads = json::array();
  for (const auto& w : r.rpo.workloads) {
    workloads.push_back({{"workload", w.workload},
                         {"acked_seq_at_old", w.acked_seq_at_old},
                         {"recovered_seq", w.recovered_seq},
                         {"writes", w.writes},
                         {"ms", ms_json(w.time)}});
  }
  (*j)["rpo"] = {{"writes", r.rpo.total_writes},
                 {"max_ms", ms_json(r.rpo.max_time)},
                 {"workloads", workloads}};
}

// Replication lag before the fault and through the drill; the Traffic Manager's changes.
void put_series(const DrillReport& r, json* j) {
  (*j)["replication_lag_before_fault"] = r.lag_before_fault;
  (*j)["replication_lag"] = r.replication_lag;
  (*j)["routing_events"] = r.routing_events;
}

void put_verdict(const DrillReport& r, json* j) {
  json expectations = json::array();
  for (const auto& e : r.expectations) {
    expectations.push_back({{"name", e.name}, {"want", e.want}, {"got", e.got}, {"pass", e.pass}});
  }
  (*j)["expectations"] = expectations;
  (*j)["aborted"] = r.aborted;
  (*j)["problems"] = r.problems;
  (*j)["passed"] = r.passed;
  (*j)["history_file"] = r.history_file;
  (*j)["duration_s"] = r.duration_s;
}

}  // namespace

void print_drill_report(const DrillReport& r, std::FILE* out) {
  print_events(r, out);
  print_counts(r, out);
  if (r.has_rto) print_rto(r, out);
  print_losses(r, out);
  print_verdict(r, out);
}

json drill_report_json(const DrillReport& r) {
  json j;
  j["drill"] = r.drill;
  j["description"] = r.description;
  j["source"] = r.source;
  j["placement"] = r.placement;
  j["steps"] = r.steps;
  put_failovers(r, &j);
  j["final_active"] = r.final_active;
  j["config"] = config_json(r.config);
  j["writes"] = counts_json(r.writes, "acknowledged");
  j["reads"] = counts_json(r.reads, "ok");
  j["acknowledged_by_region"] = r.acknowledged_by_region;
  j["availability"] = r.availability;
  put_rto(r.rto, &j);
  j["failover_estimate_ms"] = {{"documented", r.config.documented_failover_ms},
                               {"strict", r.config.strict_failover_ms},
                               {"lease_wait", r.config.lease_wait_ms}};
  j["lease_wait_ms"] = r.lease_wait_ms;
  put_losses(r, &j);
  put_series(r, &j);
  j["clock_notes"] = r.clock_notes;
  j["clock_drift_beyond_lease_bound"] = r.clock_drift_beyond_lease_bound;
  put_verdict(r, &j);
  return j;
}

}  // namespace drsim::cli
