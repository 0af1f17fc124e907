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
  o.planned.clear();
  o.planned_given_up = 0;
  for (const auto& p : planned_) {
    PlannedFailoverReport& r = o.planned.emplace_back(p);
    r.acked_beyond_drain = model::acked_beyond_drain(o.history, p.from, p.new_epoch, p.drained);
    o.planned_given_up += r.acked_beyond_drain.size();
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
  o.expectations = model::judge_drill(drill_.expect, m);
  o.passed = problems_.empty();
  for (const auto& e : o.expectations) o.passed = o.passed && e.pass;
}

namespace {

std::vector<RoutingEventReport> routing_events(const std::vector<drsim::v1::RoutingEvent>& events) {
  std::vector<RoutingEventReport> out;
  for (const auto& e : events) {
    out.push_back(
        {e.unix_nanos(),
         e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED ? "route_changed" : "endpoint_status",
         e.endpoint(), endpoint_status_label(e.new_status()), e.old_route(), e.new_route(),
         e.reason()});
  }
  return out;
}

}  // namespace

// The drill, where it ran, its steps, and the timings and load it ran with.
void DrillRun::report_drill(DrillReport& r) const {
  r.drill = drill_.name;
  r.description = drill_.description;
  r.source = drill_.source;
  // Where each daemon ran: loopback, or its network namespace and address (docs/deploy.md).
  r.placement = placement_lines(state_);
  r.steps = steps_json_;
  const TopologyConfig& cfg = cfg_;
  DrillReportConfig& c = r.config;
  c.workloads = cfg.workloads_flag();
  c.probe_interval_ms = cfg.probe_interval_ms;
  c.probe_timeout_ms = cfg.probe_timeout_ms;
  c.tolerated_failures = cfg.tolerated_failures;
  c.ttl_ms = cfg.ttl_ms;
  c.fault_proxy = cfg.fault_proxy;
  c.rate = load_options_.rate;
  c.workers = load_options_.workers;
  c.deadline_ms = load_options_.op_timeout.count();
  c.in_flight = load_options_.in_flight;
  c.stale_clients = load_options_.stale;
  c.documented_failover_ms = cfg.documented_failover_ms();
  c.strict_failover_ms = cfg.strict_failover_ms();
  c.lease_wait_ms = cfg.lease_wait_ms();
}

// What the steps did: faults, clocks, failovers, re-protects, the lag before the fault.
void DrillRun::report_steps(const FinishOutcome& o, DrillReport& r) const {
  r.fault_region = faulted_;
  r.fault_kind = fault_kind_;
  r.fault_ns = marks_.fault_ns;
  r.load_start_ns = load_start_ns_;
  r.end_ns = o.end_ns;
  r.faults = faults_;
  r.clock_notes = clock_notes_;
  r.clock_drift_beyond_lease_bound = beyond_bound_drifts_;
  r.automated_failover = automated_failover_;
  r.failed_over = !points_.empty();
  r.new_active = marks_.new_region;
  r.failover_epoch = failover_epoch_;
  r.promoted_ns = marks_.promoted_ns;
  r.lease_wait_ms = lease_wait_ms_;
  r.planned_failovers = o.planned;
  r.reprotects = reprotects_;
  r.final_active = active_;
  r.lag_before_fault = lag_before_;
}

// The history judged: counts, RTO, clients moved, losses, fencing, RPO.
void DrillRun::report_history(const FinishOutcome& o, DrillReport& r) {
  r.writes = o.check.writes;
  r.reads = o.check.reads;
  r.acknowledged_by_region = o.check.ok_writes_by_region;
  r.availability = o.availability;
  r.has_rto = o.has_rto;
  r.rto = o.rto;
  r.clients_moved = o.moved;
  r.lost_count = o.check.lost_count;
  r.lost_given_up_by_recovery_point = o.given_up_by_design;
  r.lost = o.check.lost;
  r.recovered_count = o.check.recovered_count;
  r.stale_reads = o.check.stale_read_count;
  r.after_fencing = o.after_fencing;
  r.rpo = o.rpo;
}

// Replication lag of whichever region was active, sampled every 200 ms.
std::vector<LagPoint> DrillRun::lag_series() const {
  std::vector<LagPoint> series;
  for (const auto& s : sampler_->samples()) {
    if (!s.active) continue;
    LagPoint p{s.unix_nanos, s.region, s.epoch, 0, 0};
    for (const auto& [w, n] : s.lag_writes) p.lag_writes += n;
    for (const auto& [w, m] : s.lag_ms) p.lag_ms = std::max(p.lag_ms, m);
    series.push_back(std::move(p));
  }
  return series;
}

DrillReport DrillRun::build_report(const FinishOutcome& o) const {
  DrillReport r;
  report_drill(r);
  report_steps(o, r);
  report_history(o, r);
  r.replication_lag = lag_series();
  r.routing_events = routing_events(o.events);
  r.expectations = o.expectations;
  r.aborted = aborted_;
  r.problems = problems_;
  r.passed = o.passed;
  r.history_file = o.history_path;
  r.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return r;
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

// Each region daemon's DRSIM_BUG count (GetStatus.bugs_counted) now. A region that does not
// answer (killed, paused) is not counted; its log still has the line.
std::map<std::string, uint64_t> DrillRun::count_bugs() const {
  std::map<std::string, uint64_t> counted;
  for (const char* region : {"primary", "secondary"}) {
    auto st = region_status(state_.at(region).address);
    if (st.is_ok()) counted[region] = st->bugs_counted();
  }
  return counted;
}

// A bug a daemon counted while the drill ran fails it. A daemon restarted by the drill starts
// again from 0; attached daemons may have counted some before this drill (not its to judge).
void DrillRun::note_bugs() {
  std::map<std::string, uint64_t> counted = count_bugs();
  for (auto& [region, n] : counted) {
    auto before = bugs_at_start_.find(region);
    if (before != bugs_at_start_.end() && n >= before->second) n -= before->second;
  }
  for (auto& line : model::bug_problems(counted)) problems_.push_back(std::move(line));
}

int DrillRun::finish() {
  FinishOutcome o = stop_load();
  measure(o);
  note_bugs();
  judge(o);
  const DrillReport report = build_report(o);
  print_drill_report(report, stdout);
  const json j = drill_report_json(report);
  write_reports(o, j);
  leave_topology();
  std::printf("\n%s\n", o.passed            ? "PASSED: every expectation held"
                        : !aborted_.empty() ? "ABORTED: see the abort condition above"
                                            : "FAILED: see the expectations and problems above");
  return o.passed ? 0 : 1;
}

}  // namespace drsim::cli::drill_run
