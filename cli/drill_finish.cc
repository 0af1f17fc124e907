// The end of a drill: the load stopped, the history checked against the final state, the
// expectations judged, the report printed and written (JSON, HTML, JUnit), the topology down.
#include "cli/drill_run.h"

namespace drsim::cli::drill_run {

using namespace std::chrono_literals;

// Stops the load, the routing watcher and the lag sampler; the outcome's first facts.
DrillRun::FinishOutcome DrillRun::stop_load() {
  FinishOutcome o;
  const TopologyConfig& cfg = cfg_;
  o.tm_address = state_.at("trafficmgr").address;
  for (const auto& w : cfg.workloads) o.workloads.push_back(w.name);
  load_->stop();
  watcher_->stop();
  sampler_->stop();
  say("load stopped");
  o.end_ns = wall_now_unix_nanos();
  if (!aborted_.empty()) problems_.push_back("ABORTED: " + aborted_);
  return o;
}

// The marks, the history judged against the final state, RTO, RPO, clients, fencing, planned
// failovers and the final route.
void DrillRun::measure(FinishOutcome& o) {
  const TopologyConfig& cfg = cfg_;
  // Marks the Traffic Manager recorded on its own, even without wait_until steps.
  o.events = watcher_->events();
  for (const auto& e : o.events) {
    if (!marks_.fault_ns || e.unix_nanos() < marks_.fault_ns) continue;
    if (!marks_.detected_ns && e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS &&
        e.endpoint() == faulted_ && e.new_status() == drsim::v1::ENDPOINT_DEGRADED) {
      marks_.detected_ns = e.unix_nanos();
    }
    if (!marks_.routed_ns && !marks_.new_region.empty() &&
        e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED && e.new_route() == marks_.new_region &&
        e.unix_nanos() >= marks_.promoted_ns) {
      marks_.routed_ns = e.unix_nanos();
    }
  }

  // Judge the o.history against the final state of the region active now.
  o.history = load_->history();
  o.history_path = history_->path();
  finish_history_on_interrupt_.reset();  // finished here, not by an interrupt
  if (Status s = history_->finish(aborted_.empty() ? "completed" : "aborted"); !s.is_ok()) {
    problems_.push_back(s.message());
  }
  const std::string& active = active_;
  auto final_state = read_final_state(state_.at(active).address, o.workloads);
  if (final_state.is_ok()) {
    o.check = model::check_history(o.history, *final_state);
  } else {
    problems_.push_back("cannot read the final state of " + active + ": " +
                        final_state.status().message());
  }
  o.has_rto = marks_.fault_ns && !marks_.new_region.empty();
  if (o.has_rto) o.rto = model::measure_rto(o.history, marks_);
  for (auto& p : points_) {
    for (const auto& op : o.history) {
      // Writes the old region acknowledged before the failover: once it is active again (a
      // failback, at a newer epoch) its writes are not ones the failover could give up.
      const bool before_failover = failover_epoch_ == 0 || op.epoch < failover_epoch_;
      if (op.outcome == model::Outcome::kOk && op.region == old_active_ && before_failover &&
          op.workload == p.workload && model::is_write(op.kind)) {
        p.acked_seq_at_old = std::max(p.acked_seq_at_old, op.seq);
      }
    }
  }
  o.rpo = model::rpo(o.history, old_active_, marks_.fault_ns, points_);
  // Lost writes a failover to a recovery point gives up on purpose (the point is older than the
  // last write), as long as they are within that failover's RPO.
  o.given_up_by_design =
      to_recovery_point_ && o.check.lost_count > 0 && o.check.lost_count <= o.rpo.total_writes;
  if (o.has_rto)
    o.moved = model::measure_client_switch(o.history, marks_.new_region, marks_.fault_ns);
  o.after_fencing = model::writes_acked_after_fencing(o.history, promotions_);
  o.planned_j = json::array();
  o.planned_given_up = 0;
  for (const auto& p : planned_) {
    auto given_up = model::acked_beyond_drain(o.history, p.from, p.new_epoch, p.drained);
    o.planned_given_up += given_up.size();
    json drained = json::object();
    for (const auto& c : p.drained) drained[c.workload] = c.seq;
    o.planned_j.push_back({{"from", p.from},
                           {"to", p.to},
                           {"new_epoch", p.new_epoch},
                           {"promoted_unix_nanos", p.promoted_ns},
                           {"writes_paused_ms", p.writes_paused_ms},
                           {"duration_ms", p.duration_ms},
                           {"drained", drained},
                           {"acked_beyond_drain", given_up}});
  }
  o.final_route = tm_resolve(o.tm_address, cfg.profile);
  o.all_ops = o.check.writes.attempted + o.check.reads.attempted;
  o.availability = o.all_ops ? static_cast<double>(o.check.writes.ok + o.check.reads.ok) /
                                   static_cast<double>(o.all_ops)
                             : 0.0;
}

// The drill's expectations against the outcome.
void DrillRun::judge(FinishOutcome& o) {
  model::DrillMeasures m;
  m.rto = o.rto.total;
  m.lost_writes = o.check.lost_count;
  for (const auto& l : o.check.lost) {
    for (const auto& w : cfg_.workloads) {
      if (w.name == l.workload && w.mode == region::ReplicationMode::kSync) ++m.lost_sync_writes;
    }
  }
  m.stale_reads = o.check.stale_read_count;
  if (o.final_route.is_ok()) m.final_route = o.final_route->endpoint();
  m.availability = o.availability;
  m.failed_over = !points_.empty();
  m.rpo_writes = o.rpo.total_writes;
  m.all_clients_moved = o.moved.last;
  m.moved_text = o.has_rto ? fmt::format("{} of {} clients moved", o.moved.moved, o.moved.clients)
                           : "n/a (no failover)";
  m.routed = marks_.routed_ns != 0;
  // From the route change to the new region: the TTL's part of the switch alone.
  if (o.moved.last && marks_.routed_ns) {
    m.all_clients_moved_after_routing =
        *o.moved.last - Duration(marks_.routed_ns - marks_.fault_ns);
  }
  m.acked_after_fencing = o.after_fencing.count();
  m.planned = !planned_.empty();
  m.planned_given_up = o.planned_given_up;
  o.rpo_got = model::rpo_text(m);
  o.moved_got = o.moved.last ? ms(o.moved.last) : m.moved_text;
  o.expectations = model::judge_drill(drill_.expect, m);
  o.passed = problems_.empty();
  for (const auto& e : o.expectations) o.passed = o.passed && e.pass;
}

void DrillRun::print_summary(const FinishOutcome& o) {
  const TopologyConfig& cfg = cfg_;
  // Human summary.
  std::printf("\n== drsim drill report: %s ==\n", drill_.name.c_str());
  if (marks_.fault_ns) {
    std::printf("fault              %s region %s\n", faulted_.c_str(), fault_kind_.c_str());
  }
  for (const auto& w : faults_) {
    std::printf(
        "  injected         %-48s %+8.2f s .. %s\n", w.description.c_str(),
        (w.start_ns - load_start_ns_) / 1e9,
        w.end_ns ? fmt::format("{:+.2f} s", (w.end_ns - load_start_ns_) / 1e9).c_str() : "end");
  }
  if (automated_failover_) {
    std::printf("failover           automated by the drill; %s active at epoch %llu\n",
                marks_.new_region.c_str(), static_cast<unsigned long long>(failover_epoch_));
  }
  for (const auto& p : planned_) {
    std::printf(
        "planned failover   %s -> %s at epoch %llu: writes paused %.1f ms, drained %zu "
        "workload(s)\n",
        p.from.c_str(), p.to.c_str(), static_cast<unsigned long long>(p.new_epoch),
        p.writes_paused_ms, p.drained.size());
  }
  for (const auto& r : reprotects_) {
    std::printf(
        "re-protect         %s -> %s: %s, %llu bytes in %.0f ms (%llu changes, %llu keys "
        "copied, %llu entries rolled back)\n",
        r["active"].get<std::string>().c_str(), r["standby"].get<std::string>().c_str(),
        r["kind"].get<std::string>().c_str(),
        static_cast<unsigned long long>(r["bytes"].get<uint64_t>()), r["duration_ms"].get<double>(),
        static_cast<unsigned long long>(r["changes"].get<uint64_t>()),
        static_cast<unsigned long long>(r["keys_copied"].get<uint64_t>()),
        static_cast<unsigned long long>(r["rolled_back_entries"].get<uint64_t>()));
  }
  for (const auto& note : clock_notes_) std::printf("clock              %s\n", note.c_str());
  std::printf(
      "writes             attempted %llu   acknowledged %llu   failed %llu   "
      "indeterminate %llu\n",
      static_cast<unsigned long long>(o.check.writes.attempted),
      static_cast<unsigned long long>(o.check.writes.ok),
      static_cast<unsigned long long>(o.check.writes.failed),
      static_cast<unsigned long long>(o.check.writes.indeterminate));
  std::printf("reads              attempted %llu   ok %llu   failed %llu   indeterminate %llu\n",
              static_cast<unsigned long long>(o.check.reads.attempted),
              static_cast<unsigned long long>(o.check.reads.ok),
              static_cast<unsigned long long>(o.check.reads.failed),
              static_cast<unsigned long long>(o.check.reads.indeterminate));
  for (const auto& [region, n] : o.check.ok_writes_by_region) {
    std::printf("  acknowledged by %-10s %llu\n", region.c_str(),
                static_cast<unsigned long long>(n));
  }
  std::printf("availability       %.1f %% of operations ok\n", o.availability * 100);
  if (o.has_rto) {
    std::printf("RTO                %s  (fault -> first write acknowledged by %s)\n",
                ms(o.rto.total).c_str(), marks_.new_region.c_str());
    std::printf("  detection        %s  (fault -> Traffic Manager marks %s Degraded)\n",
                ms(o.rto.detection).c_str(), faulted_.c_str());
    std::printf(
        "  promotion        %s  (Degraded -> %s promoted; %.0f ms of it waiting out the "
        "old lease)\n",
        ms(o.rto.promotion).c_str(), marks_.new_region.c_str(), lease_wait_ms_);
    std::printf("  routing          %s  (promoted -> Traffic Manager answers %s)\n",
                ms(o.rto.routing).c_str(), marks_.new_region.c_str());
    std::printf(
        "  client deadline  %s  (the first client to move was blocked on the old region "
        "until its deadline or keepalive gave up)\n",
        ms(o.rto.client_deadline).c_str());
    std::printf(
        "  client TTL       %s  (routing change -> first client write there, less that "
        "wait)\n",
        ms(o.rto.client_ttl).c_str());
    std::printf("clients moved      %u of %u; first %s, all %s after the fault\n", o.moved.moved,
                o.moved.clients, ms(o.moved.first).c_str(), ms(o.moved.last).c_str());
  }
  std::printf(
      "  estimates        documented %llu ms (TTL + max(tolerated x interval, lease "
      "wait)), strict %llu ms (max((interval + timeout) x (tolerated + 1), lease wait) + "
      "TTL); lease wait = lease x (1 + drift) = %llu ms\n",
      static_cast<unsigned long long>(cfg.documented_failover_ms()),
      static_cast<unsigned long long>(cfg.strict_failover_ms()),
      static_cast<unsigned long long>(cfg.lease_wait_ms()));
  std::printf(
      "acked writes lost  %llu  (every acknowledged write checked against the final "
      "state of %s)\n",
      static_cast<unsigned long long>(o.check.lost_count), active_.c_str());
  if (o.given_up_by_design) {
    std::printf(
        "                   (acknowledged after the recovery point the drill failed over "
        "to: given up by design, within the RPO below; not a fault of replication)\n");
  }
  std::printf("recovered          %llu indeterminate writes found applied\n",
              static_cast<unsigned long long>(o.check.recovered_count));
  std::printf("stale reads        %llu\n",
              static_cast<unsigned long long>(o.check.stale_read_count));
  std::printf(
      "after fencing      %zu writes acknowledged by a superseded region after the "
      "failover (%llu invoked after it, %llu in flight across it)\n",
      o.after_fencing.count(),
      static_cast<unsigned long long>(o.after_fencing.invoked_after_promotion),
      static_cast<unsigned long long>(o.after_fencing.in_flight_across));
  for (const auto& d : beyond_bound_drifts_) {
    std::printf(
        "  %s: clock drift beyond the lease's bound (beyond_bound: true), so the lease "
        "cannot keep the superseded region from acknowledging — %s\n",
        o.after_fencing.count() > 0 ? "cause" : "note", d.c_str());
  }
  if (!points_.empty()) {
    std::printf("RPO                %llu writes",
                static_cast<unsigned long long>(o.rpo.total_writes));
    if (o.rpo.max_time) std::printf(", %s", ms(o.rpo.max_time).c_str());
    std::printf("\n");
  }
  for (size_t i = 0; i < o.check.lost.size() && i < 5; ++i) {
    const auto& l = o.check.lost[i];
    std::printf("  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                l.region.c_str(), static_cast<unsigned long long>(l.seq));
  }
  std::printf("\nexpectations\n");
  for (const auto& e : o.expectations) {
    std::printf("  [%s] %-40s want %-12s got %s\n", e.pass ? "PASS" : "FAIL", e.name.c_str(),
                e.want.c_str(), e.got.c_str());
  }
  if (o.expectations.empty()) std::printf("  (none)\n");
  for (const auto& p : problems_) std::printf("  [FAIL] %s\n", p.c_str());
}

json DrillRun::report_json(const FinishOutcome& o) {
  const TopologyConfig& cfg = cfg_;
  // JSON report.
  json j;
  j["drill"] = drill_.name;
  j["description"] = drill_.description;
  j["source"] = drill_.source;
  // Where each daemon ran: loopback, or its network namespace and address (docs/deploy.md).
  j["placement"] = placement_lines(state_);
  j["steps"] = steps_json_;
  j["fault"] = {{"region", faulted_},
                {"description", faulted_ + " region " + fault_kind_},
                {"unix_nanos", marks_.fault_ns}};
  json faults = json::array();
  for (const auto& w : faults_) {
    faults.push_back({{"description", w.description},
                      {"target", w.target},
                      {"start_unix_nanos", w.start_ns},
                      {"end_unix_nanos", w.end_ns ? w.end_ns : o.end_ns}});
  }
  j["faults"] = faults;
  j["failover"] = {{"automated_by_drill", automated_failover_},
                   {"new_active", marks_.new_region},
                   {"new_epoch", failover_epoch_},
                   {"promoted_unix_nanos", marks_.promoted_ns}};
  j["planned_failovers"] = o.planned_j;
  j["reprotects"] = reprotects_;
  j["final_active"] = active_;
  j["config"] = {{"workloads", cfg.workloads_flag()},
                 {"probe_interval_ms", cfg.probe_interval_ms},
                 {"probe_timeout_ms", cfg.probe_timeout_ms},
                 {"tolerated_failures", cfg.tolerated_failures},
                 {"ttl_ms", cfg.ttl_ms},
                 {"fault_proxy", cfg.fault_proxy},
                 {"rate", load_options_.rate},
                 {"workers", load_options_.workers},
                 {"deadline_ms", load_options_.op_timeout.count()},
                 {"in_flight", load_options_.in_flight},
                 {"stale_clients", stale_clients_json(load_options_.stale)}};
  j["writes"] = {{"attempted", o.check.writes.attempted},
                 {"acknowledged", o.check.writes.ok},
                 {"failed", o.check.writes.failed},
                 {"indeterminate", o.check.writes.indeterminate}};
  j["reads"] = {{"attempted", o.check.reads.attempted},
                {"ok", o.check.reads.ok},
                {"failed", o.check.reads.failed},
                {"indeterminate", o.check.reads.indeterminate}};
  j["acknowledged_by_region"] = o.check.ok_writes_by_region;
  j["availability"] = o.availability;
  put_rto(o.rto, &j);
  j["failover_estimate_ms"] = {{"documented", cfg.documented_failover_ms()},
                               {"strict", cfg.strict_failover_ms()},
                               {"lease_wait", cfg.lease_wait_ms()}};
  j["lease_wait_ms"] = lease_wait_ms_;
  j["acknowledged_writes_lost"] = o.check.lost_count;
  j["lost_writes_given_up_by_recovery_point"] = o.given_up_by_design;
  json lost = json::array();
  for (const auto& l : o.check.lost) {
    lost.push_back({{"id", l.id},
                    {"workload", l.workload},
                    {"key", l.key},
                    {"value", l.value},
                    {"region", l.region},
                    {"seq", l.seq},
                    {"complete_ns", l.complete_ns}});
  }
  j["lost"] = lost;
  j["clients_moved"] = {{"clients", o.moved.clients},
                        {"moved", o.moved.moved},
                        {"first_ms", ms_json(o.moved.first)},
                        {"all_ms", ms_json(o.moved.last)}};
  j["writes_acked_after_fencing"] = o.after_fencing.ids;
  j["writes_acked_after_fencing_in_flight_across"] = o.after_fencing.in_flight_across;
  j["recovered_indeterminate"] = o.check.recovered_count;
  j["stale_reads"] = o.check.stale_read_count;
  json rpo_j = json::array();
  for (const auto& w : o.rpo.workloads) {
    rpo_j.push_back({{"workload", w.workload},
                     {"acked_seq_at_old", w.acked_seq_at_old},
                     {"recovered_seq", w.recovered_seq},
                     {"writes", w.writes},
                     {"ms", ms_json(w.time)}});
  }
  j["rpo"] = {
      {"writes", o.rpo.total_writes}, {"max_ms", ms_json(o.rpo.max_time)}, {"workloads", rpo_j}};
  j["replication_lag_before_fault"] = lag_before_;
  // Replication lag of whichever region was active, sampled every 200 ms.
  json lag_series = json::array();
  for (const auto& s : sampler_->samples()) {
    if (!s.active) continue;
    uint64_t writes = 0;
    double lag_ms = 0;
    for (const auto& [w, n] : s.lag_writes) writes += n;
    for (const auto& [w, m] : s.lag_ms) lag_ms = std::max(lag_ms, m);
    lag_series.push_back({{"unix_nanos", s.unix_nanos},
                          {"region", s.region},
                          {"epoch", s.epoch},
                          {"lag_writes", writes},
                          {"lag_ms", lag_ms}});
  }
  j["replication_lag"] = lag_series;
  j["clock_notes"] = clock_notes_;
  j["clock_drift_beyond_lease_bound"] = beyond_bound_drifts_;
  json ev = json::array();
  for (const auto& e : o.events) {
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
  for (const auto& e : o.expectations) {
    exj.push_back({{"name", e.name}, {"want", e.want}, {"got", e.got}, {"pass", e.pass}});
  }
  j["expectations"] = exj;
  j["aborted"] = aborted_;
  j["problems"] = problems_;
  j["passed"] = o.passed;
  j["history_file"] = o.history_path;
  j["duration_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return j;
}

// report.json, report.html beside it, and the JUnit file when asked for.
void DrillRun::write_reports(const FinishOutcome& o, const json& j) {
  std::string json_path = opt_.json_path.empty() ? out_dir_ + "/report.json" : opt_.json_path;
  {
    std::ofstream out(json_path, std::ios::trunc);
    out << j.dump(2) << "\n";
  }
  std::string html_path = std::filesystem::path(json_path).replace_extension(".html").string();
  if (Status s = write_html_report(j, o.history, html_path); !s.is_ok()) {
    std::fprintf(stderr, "drsim: cannot write the HTML report: %s\n", s.message().c_str());
  }
  std::printf("\nreport  %s\n        %s\nhistory %s\n", json_path.c_str(), html_path.c_str(),
              o.history_path.c_str());
  write_junit(j);
}

// Heals what an attached drill injected, or leaves the topology up (--keep), or takes it down.
void DrillRun::leave_topology() {
  // Resume anything paused, so `down` (SIGTERM) can stop it and a kept topology answers.
  auto resume_paused = [&] {
    for (const auto& [name, p] : state_.processes) {
      (void)signal_process(p.identity(), SIGCONT, name);
    }
  };
  if (opt_.attached) {
    // Not drsim's to resume or stop: heal what the drill injected, say what it left, so the
    // next one can start.
    heal_attached_on_interrupt_.reset();
    auto healed = heal_faults(state_, "");
    if (!healed.is_ok()) {
      say("heal: " + healed.status().message());
    } else {
      for (const auto& line : *healed) say("heal: " + line);
    }
    std::string roles;
    for (const char* region : {"primary", "secondary"}) {
      auto st = region_status(state_.at(region).address);
      const std::string role =
          !st.is_ok() ? "unreachable"
                      : fmt::format("{} at epoch {}",
                                    st->role() == drsim::v1::ROLE_ACTIVE ? "active" : "standby",
                                    st->epoch());
      roles += std::string(roles.empty() ? "" : ", ") + region + " " + role;
    }
    std::printf("attached daemons keep running: %s%s\n", roles.c_str(),
                active_ == "primary" ? ""
                                     : fmt::format(" (the next drill starts from the primary "
                                                   "active: drsim reprotect --home {0}, then "
                                                   "drsim failback --home {0})",
                                                   home_)
                                           .c_str());
  } else if (opt_.keep) {
    resume_paused();
    std::printf("topology left up: drsim status --home %s ; drsim down --home %s\n", home_.c_str(),
                home_.c_str());
  } else {
    resume_paused();
    Status down = topology_down(home_, 3s);
    say(down.is_ok() ? "down: every process stopped" : "down: " + down.message());
  }
}

int DrillRun::finish() {
  FinishOutcome o = stop_load();
  measure(o);
  judge(o);
  print_summary(o);
  const json j = report_json(o);
  write_reports(o, j);
  leave_topology();
  std::printf("\n%s\n", o.passed            ? "PASSED: every expectation held"
                        : !aborted_.empty() ? "ABORTED: see the abort condition above"
                                            : "FAILED: see the expectations and problems above");
  return o.passed ? 0 : 1;
}

}  // namespace drsim::cli::drill_run
