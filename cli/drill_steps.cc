// A drill's steps: faults, failovers, re-protect, failback, Site Recovery and Backup verbs,
// plans (DrillRun::run_step and what it calls); the waits are in drill_waits.cc.
#include "cli/drill_run.h"

namespace drsim::cli::drill_run {

using namespace std::chrono_literals;

void DrillRun::record_lag_before_fault(const std::string& region) {
  auto st = region_status(state_.at(region).address);
  if (!st.is_ok()) return;
  for (const auto& w : st->workloads()) {
    lag_before_[w.name()] = {w.lag_writes(), w.lag_ms(), w.lag().p50_ms(), w.lag().p99_ms(),
                             w.lag().samples()};
    say(fmt::format("replication {} ({}): {} writes behind, write-to-standby-ack p50 {:.2f} ms "
                    "p99 {:.2f} ms over {} writes",
                    w.name(), w.mode() == drsim::v1::MODE_SYNC ? "sync" : "async", w.lag_writes(),
                    w.lag().p50_ms(), w.lag().p99_ms(), w.lag().samples()));
  }
}

void DrillRun::inject(const DrillStep& step, const std::string& label, std::string* outcome) {
  const FaultSpec& f = step.fault;
  using Kind = FaultSpec::Kind;
  // The faults that take a region away from its clients start the RTO clock: a dead, frozen
  // or down region, or every link of the region cut.
  bool outage_kind = is_region(f.target) &&
                     (f.kind == Kind::kKill || f.kind == Kind::kPause || f.kind == Kind::kOutage ||
                      f.kind == Kind::kPartition);
  bool first_outage = outage_kind && marks_.fault_ns == 0;
  if (first_outage) record_lag_before_fault(f.target);
  int64_t at = wall_now_unix_nanos();
  auto done = inject_fault(state_, f);
  if (!done.is_ok()) {
    *outcome = done.status().message();
    problems_.push_back(label + ": " + done.status().message());
    return;
  }
  say("FAULT " + label + ": " + *done);
  if (f.kind == Kind::kClockDrift && done->find(kBeyondLeaseBound) != std::string::npos) {
    beyond_bound_drifts_.push_back(label);
  }
  if (f.kind == Kind::kResume) {
    for (auto& w : faults_) {
      if (w.target == f.target && w.end_ns == 0 && w.description.starts_with("pause")) {
        w.end_ns = at;
      }
    }
  } else if (f.kind != Kind::kRestart) {
    faults_.push_back({f.describe(), at, 0, f.target});
  }
  if (first_outage) {
    marks_.fault_ns = at;
    faulted_ = f.target;
    fault_kind_ = f.kind == Kind::kKill    ? "killed (SIGKILL)"
                  : f.kind == Kind::kPause ? "frozen (SIGSTOP)"
                  : f.kind == Kind::kOutage
                      ? "injected outage (answers only its admin API; its links drop)"
                      : "partitioned (every link of the region)";
  }
}

int64_t DrillRun::local_promotion_time(const std::string& region, int64_t reported, int64_t sent,
                                      int64_t received) {
  // The region stamps the promotion with its own clock, which a drill may have skewed: bring
  // it onto the local clock with the region's measured offset, and never outside the call.
  // The offset is measured on the status call alone (its own send and receipt; the first call
  // on a new channel includes the TLS handshake), and an estimate within that call's half round
  // trip is measurement noise, not skew: it counts as none. (Measuring from the failover's
  // receipt instead moved promotions milliseconds early, so writes the drained old region
  // acknowledged looked "invoked after the promotion".)
  int64_t offset = 0;
  const int64_t status_sent = wall_now_unix_nanos();
  if (auto st = region_status(state_.at(region).address); st.is_ok()) {
    const int64_t status_received = wall_now_unix_nanos();
    offset = model::significant_clock_offset_ns(status_sent, status_received,
                                                st->now_unix_nanos());
  }
  if (std::llabs(offset) > 50'000'000) {
    clock_notes_.push_back(fmt::format(
        "{}'s clock is {:+.0f} ms off this machine's; its promotion time was corrected", region,
        offset / 1e6));
    say("  " + clock_notes_.back());
  }
  return std::clamp(reported - offset, sent, received);
}

void DrillRun::failover(const DrillStep& step, const std::string& label, std::string* outcome) {
  if (step.planned) {
    planned_failover(step, label, outcome);
    return;
  }
  if (step.to_point) {
    point_failover(step, label, outcome);
    return;
  }
  if (step.test) {
    test_failover(step, label, outcome);
    return;
  }
  std::string target = step.region.empty() ? find_standby(state_) : step.region;
  if (target.empty()) {
    problems_.push_back(label + ": no reachable standby region to fail over to");
    *outcome = "no standby";
    return;
  }
  old_active_ = other_region(target);
  say(label + " — AUTOMATED BY THIS DRILL (Site Recovery never fails over by itself; an "
              "operator would run `drsim failover`)");
  automated_failover_ = true;
  int64_t sent = wall_now_unix_nanos();
  auto fo = region_failover(state_.at(target).address, "drill " + drill_.name + ": " + label);
  int64_t received = wall_now_unix_nanos();
  if (!fo.is_ok()) {
    *outcome = fo.status().message();
    problems_.push_back(label + ": " + fo.status().message());
    return;
  }
  marks_.promoted_ns = local_promotion_time(target, fo->promoted_unix_nanos(), sent, received);
  marks_.new_region = target;
  new_epoch_ = fo->new_epoch();
  lease_wait_ms_ = fo->lease_wait_ms();
  active_ = target;
  points_.clear();
  to_recovery_point_ = false;  // promoted with what the standby holds
  for (const auto& r : fo->recovered()) points_.push_back({r.workload(), 0, r.seq()});
  record_promotion();
  say(fmt::format("{} promoted to active at epoch {}", target, new_epoch_));
}

void DrillRun::record_promotion() {
  failover_epoch_ = new_epoch_;
  model::Promotion p{new_epoch_, marks_.promoted_ns, {}, marks_.new_region};
  for (const auto& point : points_) p.continued_from[point.workload] = point.recovered_seq;
  promotions_.push_back(std::move(p));
}

void DrillRun::record_planned(const PlannedFailoverOutcome& fo, int64_t sent, int64_t received) {
  for (const auto& line : fo.lines) say("  " + line);
  PlannedFailoverReport r{fo.from, fo.to, fo.response.new_epoch(), 0,
                          fo.response.writes_paused_ms(), fo.response.duration_ms(), {}, {}};
  r.promoted_ns = local_promotion_time(fo.to, fo.response.promoted_unix_nanos(), sent, received);
  model::Promotion promotion{r.new_epoch, r.promoted_ns, {}, fo.to};
  for (const auto& c : fo.response.drained()) {
    r.drained.push_back({c.workload(), c.seq()});
    promotion.continued_from[c.workload()] = c.seq();
  }
  promotions_.push_back(std::move(promotion));
  new_epoch_ = r.new_epoch;
  active_ = fo.to;
  planned_.push_back(std::move(r));
}

void DrillRun::record_reprotect(const ReprotectOutcome& rp) {
  for (const auto& line : rp.lines) say("  " + line);
  const auto& st = rp.response.resync();
  reprotects_.push_back({rp.active, rp.standby,
                         st.kind() == drsim::v1::RESYNC_KIND_FULL    ? "full"
                         : st.kind() == drsim::v1::RESYNC_KIND_DELTA ? "delta"
                                                                     : "none",
                         st.bytes(), st.duration_ms(), st.changes(), st.keys_copied(),
                         st.rolled_back_entries(), st.restored_keys()});
}

void DrillRun::planned_failover(const DrillStep& step, const std::string& label,
                                std::string* outcome) {
  say(label);
  int64_t sent = wall_now_unix_nanos();
  auto fo = run_planned_failover(state_, step.region, "drill " + drill_.name + ": " + label,
                                 static_cast<uint32_t>(step.drain_timeout_s * 1000),
                                 step.reprotect);
  int64_t received = wall_now_unix_nanos();
  if (!fo.is_ok()) {
    *outcome = fo.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  record_planned(*fo, sent, received);
}

void DrillRun::reprotect(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  auto rp = run_reprotect(state_, step.region, "drill " + drill_.name + ": " + label);
  if (!rp.is_ok()) {
    *outcome = rp.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  record_reprotect(*rp);
}

void DrillRun::failback(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  int64_t sent = wall_now_unix_nanos();
  auto fb = run_failback(state_, "drill " + drill_.name + ": " + label,
                         static_cast<uint32_t>(step.drain_timeout_s * 1000));
  int64_t received = wall_now_unix_nanos();
  if (!fb.is_ok()) {
    *outcome = fb.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  record_planned(fb->failover, sent, received);
  record_reprotect(fb->reprotect);
}

void DrillRun::protect(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  auto req = build_protect_request(step.protect);
  std::string standby = find_standby(state_);
  Status s = !req.is_ok()       ? req.status()
             : standby.empty() ? failed_precondition("no region answers as standby")
                               : Status::ok();
  if (s.is_ok()) {
    auto r = sr_protect(state_.at(standby).address, *req);
    s = r.status();
    // Initial replication finishes once the standby is in step (bounded by the step's wait).
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(step.protect.wait_s * 1000));
    std::string state = r.is_ok() ? r->item().state() : "";
    while (s.is_ok() && state != "Protected" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
      auto items = sr_items(state_.at(standby).address);
      if (!items.is_ok()) continue;
      for (const auto& i : items->items()) {
        if (i.item() == step.protect.item) state = i.state();
      }
    }
    if (s.is_ok() && state != "Protected") {
      s = Status(StatusCode::kDeadlineExceeded,
                 step.protect.item + " is still " + state + " after " +
                     fmt::format("{:g}", step.protect.wait_s) + " s");
    }
    if (s.is_ok()) say("  " + step.protect.item + " protected in " + standby + "'s vault");
  }
  if (!s.is_ok()) {
    *outcome = s.message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::point_failover(const DrillStep& step, const std::string& label,
                              std::string* outcome) {
  say(label + " — AUTOMATED BY THIS DRILL (Site Recovery never fails over by itself; an "
              "operator would run `drsim failover --unplanned --point ...`)");
  automated_failover_ = true;
  PointFailoverOptions opts = step.point;
  opts.reason = "drill " + drill_.name + ": " + label;
  std::vector<std::string> lines;
  std::string vault = find_vault(state_);
  auto fo = run_point_failover(state_, opts, &lines);
  int64_t received = wall_now_unix_nanos();
  for (const auto& line : lines) say("  " + line);
  if (!fo.is_ok()) {
    *outcome = fo.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  record_point_failover(*fo, vault, received);
}

void DrillRun::record_point_failover(const drsim::v1::UnplannedFailoverResponse& fo,
                                     const std::string& vault, int64_t promoted_ns) {
  old_active_ = other_region(vault);
  marks_.promoted_ns = promoted_ns;
  marks_.new_region = vault;
  new_epoch_ = fo.new_epoch();
  active_ = vault;
  // The RPO of this failover is the chosen point: what clients wrote past it is given up.
  points_.clear();
  to_recovery_point_ = true;
  for (const auto& item : fo.items()) {
    for (const auto& g : item.given_up()) points_.push_back({g.workload(), 0, g.point_seq()});
  }
  record_promotion();
}

void DrillRun::commit(const std::string& label, std::string* outcome) {
  say(label);
  std::vector<std::string> lines;
  auto r = run_commit(state_, {}, &lines);
  for (const auto& line : lines) say("  " + line);
  if (!r.is_ok()) {
    *outcome = r.status().message();
    problems_.push_back(label + ": " + *outcome);
  }
}

// The drill file is the confirmation: the VM is deleted, and what it meant for its backups is
// checked against `expect` (gone for good, or restorable from a vault's recovery points).
void DrillRun::vm_delete(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  drsim::v1::DeleteVmRequest req;
  req.set_vm(step.vm);
  req.set_confirmed(true);
  auto r = BackupClient(state_.at(step.region).address).delete_vm(req);
  Status s = r.status();
  if (s.is_ok()) {
    say(std::string("  ") + (r->restorable() ? "its backups stay: " : "gone for good: ") +
        r->outcome());
    const std::string got = r->restorable() ? "restorable" : "gone";
    if (!step.expect_vm.empty() && got != step.expect_vm) {
      s = failed_precondition("VM " + step.vm + " is " + got + " after its deletion, not " +
                              step.expect_vm);
    }
  }
  if (!s.is_ok()) {
    *outcome = s.message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::protect_group(const DrillStep& step, const std::string& label,
                             std::string* outcome) {
  say(label);
  std::vector<std::string> lines;
  auto r = run_protect_group(state_, step.protect_group, step.protect_items, step.protect, &lines);
  for (const auto& line : lines) say("  " + line);
  Status s = r.status();
  if (s.is_ok() && lines.back() != "  state: Protected") {
    s = Status(StatusCode::kDeadlineExceeded,
               step.protect_group + " did not finish initial replication in time");
  }
  if (!s.is_ok()) {
    *outcome = s.message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::record_plan_failover(const drsim::v1::PlanRunInfo& run) {
  if (!run.has_failover() || run.failover().new_epoch() == 0 ||
      new_epoch_ == run.failover().new_epoch()) {
    return;
  }
  // The region was promoted when group 1's failover action finished.
  int64_t promoted = wall_now_unix_nanos();
  for (const auto& a : run.actions()) {
    if (a.group() == 1 && a.text().find("failover of") != std::string::npos) {
      promoted = a.finished_unix_nanos();
    }
  }
  record_point_failover(run.failover(), find_vault(state_), promoted);
}

void DrillRun::plan_step(const DrillStep& step, const std::string& label, std::string* outcome) {
  std::vector<std::string> lines;
  Status result = Status::ok();
  if (step.plan_verb == "create") {
    say(label);
    result = run_plan_create(state_, step.plan, &lines).status();
  } else {
    if (step.plan_verb == "run" && step.plan_run.kind != "test") {
      say(label +
          " — AUTOMATED BY THIS DRILL (Site Recovery never fails over by itself; an "
          "operator would run `drsim plan run " +
          step.plan_run.name + " --" + step.plan_run.kind + "`)");
      automated_failover_ = true;
    } else {
      say(label);
    }
    PlanRunOptions o = step.plan_run;
    if (o.reason.empty()) o.reason = "drill " + drill_.name + ": " + label;
    auto r = step.plan_verb == "run" ? run_plan(state_, o, &lines)
                                     : run_plan_resume(state_, o.name, o.wait_s, &lines);
    std::string state = r.is_ok() ? r->run().state() : "Failed";
    if (r.is_ok()) record_plan_failover(r->run());
    if (state != step.expect_state) {
      result =
          r.is_ok()
              ? failed_precondition("the plan run is " + state + ", expected " + step.expect_state)
              : r.status();
    }
  }
  for (const auto& line : lines) say("  " + line);
  if (!result.is_ok()) {
    *outcome = result.message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::change_point(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  std::vector<std::string> lines;
  auto r = run_change_point(state_, step.change_point, &lines);
  for (const auto& line : lines) say("  " + line);
  if (!r.is_ok()) {
    *outcome = r.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  // The RPO is now the new point's.
  points_.clear();
  to_recovery_point_ = true;
  for (const auto& item : r->items()) {
    for (const auto& w : item.workloads()) points_.push_back({w.workload(), 0, w.to_point_seq()});
  }
}

void DrillRun::test_failover(const DrillStep& step, const std::string& label,
                             std::string* outcome) {
  say(label);
  TestFailoverOptions opts;
  opts.item = step.point.items.empty() ? "" : step.point.items[0];
  opts.point = step.point.point;
  opts.point_id = step.point.point_id;
  std::vector<std::string> lines;
  auto r = run_test_failover(state_, opts, &lines);
  for (const auto& line : lines) say("  " + line);
  if (!r.is_ok()) {
    *outcome = r.status().message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::test_cleanup(const std::string& label, std::string* outcome) {
  say(label);
  std::vector<std::string> lines;
  Status s = run_test_cleanup(state_, &lines);
  for (const auto& line : lines) say("  " + line);
  if (!s.is_ok()) {
    *outcome = s.message();
    problems_.push_back(label + ": " + *outcome);
  }
}

void DrillRun::run_step(size_t i) {
  const DrillStep& step = drill_.steps[i];
  std::string label = fmt::format("step {} (line {}): {}", i + 1, step.line, step.describe());
  phase_ = fmt::format("step {}/{} {}", i + 1, drill_.steps.size(), step.describe());
  int64_t started = wall_now_unix_nanos();
  std::string outcome = "ok";
  switch (step.kind) {
    case DrillStep::Kind::kInject:
    case DrillStep::Kind::kHeal:
    case DrillStep::Kind::kFailover:
    case DrillStep::Kind::kReprotect:
    case DrillStep::Kind::kFailback: last_action_ns_ = started; break;
    default: break;
  }
  do_step(step, label, started, &outcome);
  if (!aborted_.empty()) outcome = "aborted: " + aborted_;
  steps_json_.push_back({{"step", i + 1}, {"line", step.line}, {"action", step.describe()},
                         {"started_unix_nanos", started}, {"outcome", outcome}});
  // A Site Recovery or Backup step that did what it said is a marker on the HTML timeline.
  if (std::string mark = step.timeline_label(); !mark.empty() && outcome == "ok") {
    steps_json_.back()["timeline"] = mark;
  }
}

void DrillRun::do_step(const DrillStep& step, const std::string& label, int64_t started,
                       std::string* outcome) {
  switch (step.kind) {
    case DrillStep::Kind::kWait:
    case DrillStep::Kind::kPause:
    case DrillStep::Kind::kAt: wait_step(step, label); break;
    case DrillStep::Kind::kInject: inject(step, label, outcome); break;
    case DrillStep::Kind::kHeal: heal(step, label, started, outcome); break;
    case DrillStep::Kind::kFailover: failover(step, label, outcome); break;
    case DrillStep::Kind::kReprotect: reprotect(step, label, outcome); break;
    case DrillStep::Kind::kFailback: failback(step, label, outcome); break;
    case DrillStep::Kind::kDrsim: backup_verb(step, label, outcome); break;
    case DrillStep::Kind::kProtect:
      if (step.protect_group.empty()) {
        protect(step, label, outcome);
      } else {
        protect_group(step, label, outcome);
      }
      break;
    case DrillStep::Kind::kPlan:
      plan_step(step, label, outcome);
      break;
    case DrillStep::Kind::kChangePoint:
      change_point(step, label, outcome);
      break;
    case DrillStep::Kind::kCommit: commit(label, outcome); break;
    case DrillStep::Kind::kVmDelete: vm_delete(step, label, outcome); break;
    case DrillStep::Kind::kTestCleanup: test_cleanup(label, outcome); break;
    case DrillStep::Kind::kWaitUntil:
      say(label);
      wait_condition(step, label, started, outcome);
      break;
  }
}

void DrillRun::heal(const DrillStep& step, const std::string& label, int64_t started,
                    std::string* outcome) {
  say(label);
  auto healed = heal_faults(state_, step.region);
  if (!healed.is_ok()) {
    *outcome = healed.status().message();
    problems_.push_back(label + ": " + *outcome);
    return;
  }
  for (const auto& line : *healed) say("  " + line);
  for (auto& w : faults_) {
    bool covered = step.region.empty() || w.target == step.region ||
                   (is_region(step.region) && w.target.find(step.region) != std::string::npos);
    if (covered && w.end_ns == 0) w.end_ns = started;
  }
}

void DrillRun::backup_verb(const DrillStep& step, const std::string& label, std::string* outcome) {
  say(label);
  std::fflush(stdout);
  Status s = run_backup_verb(home_, step.args);
  if (step.expect_error.empty() ? !s.is_ok()
                                : s.message().find(step.expect_error) == std::string::npos) {
    *outcome = s.is_ok() ? "succeeded, expected error " + step.expect_error : s.message();
    problems_.push_back(label + ": " + *outcome);
  } else if (!s.is_ok()) {
    say("  failed as expected: " + s.message());
  }
}

}  // namespace drsim::cli::drill_run
