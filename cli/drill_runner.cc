// Running a drill: up → load → steps (with progress and abort conditions) → check the history
// → report (JSON + HTML) → down. Parsing is in drill.cc.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/backup_commands.h"
#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/drill.h"
#include "cli/faults.h"
#include "cli/final_state.h"
#include "cli/html_report.h"
#include "cli/interrupt.h"
#include "cli/junit_report.h"
#include "cli/load_generator.h"
#include "cli/protection.h"
#include "cli/region_sampler.h"
#include "cli/routing_watcher.h"
#include "cli/rpc_clients.h"
#include "common/core/time.h"
#include "common/model/drill/history_checker.h"

namespace drsim::cli {

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The topology's workloads for the header: all of them when few, else the first and the last.
std::string workloads_summary(const TopologyConfig& cfg) {
  if (cfg.workloads.size() <= kWorkloadsOnArgv) return cfg.workloads_flag();
  auto one = [](const region::WorkloadSpec& w) {
    return w.name + ":" + region::replication_mode_name(w.mode);
  };
  return one(cfg.workloads.front()) + " ... " + one(cfg.workloads.back());
}

std::string other_region(const std::string& r) { return r == "primary" ? "secondary" : "primary"; }

std::string ms(std::optional<Duration> d) {
  return d ? fmt::format("{:.0f} ms", to_ms(*d)) : "n/a";
}
json ms_json(std::optional<Duration> d) { return d ? json(to_ms(*d)) : json(nullptr); }

struct Expectation {
  std::string name, want, got;
  bool pass;
};

// A fault as it happened, for the report's shaded bands.
struct FaultWindow {
  std::string description;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0 = until the end of the drill
  std::string target;
};

class DrillRun {
 public:
  DrillRun(const Drill& drill, DrillRunOptions opt) : drill_(drill), opt_(std::move(opt)) {}
  int run();

 private:
  void say(const std::string& what) const {
    std::printf("[%6.2fs] %s\n", (wall_now_unix_nanos() - start_ns_) / 1e9, what.c_str());
    std::fflush(stdout);
  }
  // Waits until `done` holds or `deadline`, printing progress every second and checking the
  // abort conditions. False on timeout or abort.
  bool wait_until(std::chrono::steady_clock::time_point deadline,
                  const std::function<bool()>& done);
  void progress_line();
  bool check_abort();
  void run_step(size_t index);
  void inject(const DrillStep& step, const std::string& label, std::string* outcome);
  void failover(const DrillStep& step, const std::string& label, std::string* outcome);
  void planned_failover(const DrillStep& step, const std::string& label, std::string* outcome);
  void reprotect(const DrillStep& step, const std::string& label, std::string* outcome);
  void failback(const DrillStep& step, const std::string& label, std::string* outcome);
  void protect(const DrillStep& step, const std::string& label, std::string* outcome);
  void point_failover(const DrillStep& step, const std::string& label, std::string* outcome);
  // Recovery plans, consistency groups, change recovery point (cli/plan_commands.h).
  void plan_step(const DrillStep& step, const std::string& label, std::string* outcome);
  void protect_group(const DrillStep& step, const std::string& label, std::string* outcome);
  void change_point(const DrillStep& step, const std::string& label, std::string* outcome);
  // An unplanned plan run promoted the vault's region with group 1: the RPO is its points.
  void record_plan_failover(const drsim::v1::PlanRunInfo& run);
  void commit(const std::string& label, std::string* outcome);
  void vm_delete(const DrillStep& step, const std::string& label, std::string* outcome);
  void test_failover(const DrillStep& step, const std::string& label, std::string* outcome);
  void test_cleanup(const std::string& label, std::string* outcome);
  // The unplanned promotion just made (new_epoch_, marks_.promoted_ns), continuing from points_;
  // its epoch is the one the report's failover line names (failover_epoch_).
  void record_promotion();
  // An unplanned failover of the vault's items to a recovery point (a `failover --point` step or
  // a plan's group 1), promoted at `promoted_ns`: its given-up writes are the RPO.
  void record_point_failover(const drsim::v1::UnplannedFailoverResponse& fo,
                             const std::string& vault, int64_t promoted_ns);
  void record_planned(const PlannedFailoverOutcome& fo, int64_t sent, int64_t received);
  void record_reprotect(const ReprotectOutcome& rp);
  // The promotion time a region reported, on this machine's clock (the region's may be skewed),
  // never outside the call that caused it.
  int64_t local_promotion_time(const std::string& region, int64_t reported, int64_t sent,
                               int64_t received);
  void wait_condition(const DrillStep& step, const std::string& label, int64_t started,
                      std::string* outcome);
  void record_lag_before_fault(const std::string& region);
  // --attached: the daemons of the attached home_ (state_, cfg_) instead of topology_up.
  // INVALID_ARGUMENT naming the drill's field or step that those daemons cannot take.
  Status use_attached();
  int finish();

  const Drill& drill_;
  DrillRunOptions opt_;
  int64_t start_ns_ = wall_now_unix_nanos();
  int64_t load_start_ns_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  // Writes the JUnit file when asked (--junit); a failure to write it is reported, not fatal.
  void write_junit(const json& report) const;
  // The drill could not start: say why, and still leave a JUnit file that says so.
  int fail_to_start(const std::string& why) const;
  std::string home_;
  // Where the history and the reports go: home_, or (--attached, a home many drills share)
  // home_/drills/<drill>-<run id>.
  std::string out_dir_;
  TopologyState state_;
  // The topology the drill judges by: the drill's own, or (--attached) the attached daemons'
  // timings with the drill's workloads.
  TopologyConfig cfg_;
  std::unique_ptr<RoutingWatcher> watcher_;
  std::unique_ptr<HistoryWriter> history_;  // <home>/history.jsonl, written as the load goes
  // Ctrl-C / SIGTERM mid-drill: the history recorded so far is finished before the daemons stop.
  std::unique_ptr<InterruptCleanup> finish_history_on_interrupt_;
  // --attached: Ctrl-C / SIGTERM mid-drill heals what the drill injected (outages, clocks) in
  // daemons drsim does not stop.
  std::unique_ptr<InterruptCleanup> heal_attached_on_interrupt_;
  std::unique_ptr<LoadGenerator> load_;
  std::unique_ptr<RegionSampler> sampler_;
  LoadOptions load_options_;

  std::string phase_ = "starting";
  std::vector<std::string> problems_;
  std::string aborted_;
  model::OutageMarks marks_;
  std::string faulted_;  // region the first outage hit
  std::string fault_kind_;
  std::string old_active_ = "primary";
  uint64_t new_epoch_ = 0;
  // The epoch of the unplanned failover marks_.new_region names: later planned failovers (a
  // failback) move new_epoch_ on, not this.
  uint64_t failover_epoch_ = 0;
  double lease_wait_ms_ = 0;  // how long the promotion waited out the old active region's lease
  bool automated_failover_ = false;
  std::vector<model::WorkloadRecoveryPoint> points_;
  // The last failover went to a Site Recovery recovery point: writes after it are given up.
  bool to_recovery_point_ = false;
  int64_t last_action_ns_ = 0;  // start of the latest inject / heal / failover / ... step
  std::string active_ = "primary";  // the region active now, as the drill's steps left it
  std::vector<model::Promotion> promotions_;
  struct PlannedRecord {
    std::string from, to;
    uint64_t new_epoch = 0;
    int64_t promoted_ns = 0;
    double writes_paused_ms = 0, duration_ms = 0;
    std::vector<model::DrainedCursor> drained;
  };
  std::vector<PlannedRecord> planned_;
  json reprotects_ = json::array();
  json lag_before_ = json::object();
  json steps_json_ = json::array();
  std::vector<FaultWindow> faults_;
  std::vector<std::string> clock_notes_;
  // Clock drift injected beyond the lease's bound (beyond_bound: true): the lease no longer
  // guarantees one active region, so the report names it as the cause of acks after fencing.
  std::vector<std::string> beyond_bound_drifts_;

  // Progress and abort bookkeeping.
  LoadStats last_stats_{};
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
  uint64_t last_writes_ok_ = 0;
  std::chrono::steady_clock::time_point last_write_ack_ = std::chrono::steady_clock::now();
};

bool DrillRun::wait_until(std::chrono::steady_clock::time_point deadline,
                          const std::function<bool()>& done) {
  while (true) {
    if (done && done()) return true;
    if (check_abort()) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return !done;  // a plain wait "succeeds" at its deadline
    if (now - last_progress_ >= 1s) progress_line();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(deadline - now, 20ms));
  }
}

void DrillRun::progress_line() {
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - last_progress_).count();
  last_progress_ = now;
  LoadStats s = load_->stats();
  uint64_t done = (s.ok + s.fail + s.indeterminate) -
                  (last_stats_.ok + last_stats_.fail + last_stats_.indeterminate);
  last_stats_ = s;
  std::string lag = "lag ?";
  for (const char* r : {"primary", "secondary"}) {
    if (auto l = sampler_->lag_writes(r)) lag = fmt::format("lag {} writes", *l);
  }
  say(fmt::format("{} | {:4.0f} ops/s ok {} fail {} indeterminate {} | route {} | {}", phase_,
                  secs > 0 ? done / secs : 0.0, s.ok, s.fail, s.indeterminate,
                  s.route.empty() ? "?" : s.route, lag));
}

bool DrillRun::check_abort() {
  if (!aborted_.empty()) return true;
  const DrillAbort& a = drill_.abort;
  if (!a.no_ack_for_s && !a.max_failed_operations) return false;
  LoadStats s = load_->stats();
  auto now = std::chrono::steady_clock::now();
  if (s.writes_ok != last_writes_ok_) {
    last_writes_ok_ = s.writes_ok;
    last_write_ack_ = now;
  }
  if (a.no_ack_for_s &&
      now - last_write_ack_ > std::chrono::duration<double>(*a.no_ack_for_s)) {
    aborted_ = fmt::format("no acknowledged write for {:g} s (abort.no_acknowledged_writes_for)",
                           *a.no_ack_for_s);
  } else if (a.max_failed_operations && s.fail + s.indeterminate > *a.max_failed_operations) {
    aborted_ = fmt::format("{} operations failed or indeterminate, more than {} "
                           "(abort.max_failed_operations)",
                           s.fail + s.indeterminate, *a.max_failed_operations);
  }
  if (aborted_.empty()) return false;
  say("ABORT: " + aborted_ + " — healing every fault");
  if (auto healed = heal_faults(state_, ""); healed.is_ok()) {
    for (const auto& line : *healed) say("  " + line);
  }
  return true;
}

void DrillRun::record_lag_before_fault(const std::string& region) {
  auto st = region_status(state_.at(region).address);
  if (!st.is_ok()) return;
  for (const auto& w : st->workloads()) {
    lag_before_[w.name()] = {{"lag_writes", w.lag_writes()},
                             {"lag_ms", w.lag_ms()},
                             {"write_to_ack_p50_ms", w.lag().p50_ms()},
                             {"write_to_ack_p99_ms", w.lag().p99_ms()},
                             {"samples", w.lag().samples()}};
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
  model::Promotion p{new_epoch_, marks_.promoted_ns, {}};
  for (const auto& point : points_) p.continued_from[point.workload] = point.recovered_seq;
  promotions_.push_back(std::move(p));
}

void DrillRun::record_planned(const PlannedFailoverOutcome& fo, int64_t sent, int64_t received) {
  for (const auto& line : fo.lines) say("  " + line);
  PlannedRecord r{fo.from, fo.to, fo.response.new_epoch(), 0, fo.response.writes_paused_ms(),
                  fo.response.duration_ms(), {}};
  r.promoted_ns = local_promotion_time(fo.to, fo.response.promoted_unix_nanos(), sent, received);
  model::Promotion promotion{r.new_epoch, r.promoted_ns, {}};
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
  reprotects_.push_back({{"active", rp.active},
                         {"standby", rp.standby},
                         {"kind", st.kind() == drsim::v1::RESYNC_KIND_FULL    ? "full"
                                  : st.kind() == drsim::v1::RESYNC_KIND_DELTA ? "delta"
                                                                              : "none"},
                         {"bytes", st.bytes()},
                         {"duration_ms", st.duration_ms()},
                         {"changes", st.changes()},
                         {"keys_copied", st.keys_copied()},
                         {"rolled_back_entries", st.rolled_back_entries()},
                         {"restored_keys", st.restored_keys()}});
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

void DrillRun::wait_condition(const DrillStep& step, const std::string& label, int64_t started,
                              std::string* outcome) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(step.timeout_s * 1000));
  // What the system did in answer to the latest step that changed something (a fault, a heal, a
  // failover...), even while that step itself was still running.
  int64_t since = last_action_ns_ ? last_action_ns_ : started;
  int64_t at = 0;
  const std::string& c = step.condition;
  auto events_since = [&](auto match) {
    return [&, match] {
      for (const auto& e : watcher_->events()) {
        if (e.unix_nanos() >= since && match(e)) {
          at = e.unix_nanos();
          return true;
        }
      }
      return false;
    };
  };
  std::function<bool()> done;
  if (c == "degraded" || c == "online") {
    auto want = c == "degraded" ? drsim::v1::ENDPOINT_DEGRADED : drsim::v1::ENDPOINT_ONLINE;
    done = events_since([&, want](const drsim::v1::RoutingEvent& e) {
      return e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS && e.endpoint() == step.target &&
             e.new_status() == want;
    });
  } else if (c == "routed_to") {
    done = events_since([&](const drsim::v1::RoutingEvent& e) {
      return e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED && e.new_route() == step.target;
    });
  } else if (c == "acked_by") {
    done = [&] { return (at = load_->first_ok_write_by(step.target, since)) != 0; };
  } else if (c == "items_protected") {
    // Site Recovery: the vault in the target (the replication target) holds every protected
    // item Protected with at least one recovery point of its own.
    done = [&] {
      auto items = sr_items(state_.at(step.target).address);
      if (!items.is_ok() || items->items_size() == 0) return false;
      for (const auto& i : items->items()) {
        if (i.state() != "Protected" || i.points() == 0) return false;
      }
      at = wall_now_unix_nanos();
      return true;
    };
  } else {  // lag_above / lag_below
    done = [&] {
      auto lag = sampler_->lag_writes(step.target);
      bool hit = lag && (c == "lag_above" ? *lag > step.writes : *lag < step.writes);
      if (hit) at = wall_now_unix_nanos();
      return hit;
    };
    since = started;
  }
  if (wait_until(deadline, done) && at) {
    if (c == "degraded" && step.target == faulted_ && !marks_.detected_ns) marks_.detected_ns = at;
    say(fmt::format("  {} {} after {:.0f} ms", c, step.target, (at - since) / 1e6));
  } else if (aborted_.empty()) {
    *outcome = "timed out";
    problems_.push_back(fmt::format("{}: timed out after {:g} s", label, step.timeout_s));
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
  switch (step.kind) {
    case DrillStep::Kind::kWait:
    case DrillStep::Kind::kPause:
      say(label + (step.kind == DrillStep::Kind::kPause ? " — the drill waits; do it now" : ""));
      wait_until(std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(step.seconds * 1000)),
                 nullptr);
      break;
    case DrillStep::Kind::kAt: {
      say(label);
      int64_t target_ns = load_start_ns_ + static_cast<int64_t>(step.seconds * 1e9);
      int64_t wait_ns = std::max<int64_t>(0, target_ns - wall_now_unix_nanos());
      wait_until(std::chrono::steady_clock::now() + std::chrono::nanoseconds(wait_ns), nullptr);
      break;
    }
    case DrillStep::Kind::kInject: inject(step, label, &outcome); break;
    case DrillStep::Kind::kHeal: {
      say(label);
      auto healed = heal_faults(state_, step.region);
      if (!healed.is_ok()) {
        outcome = healed.status().message();
        problems_.push_back(label + ": " + outcome);
        break;
      }
      for (const auto& line : *healed) say("  " + line);
      for (auto& w : faults_) {
        bool covered = step.region.empty() || w.target == step.region ||
                       (is_region(step.region) && w.target.find(step.region) != std::string::npos);
        if (covered && w.end_ns == 0) w.end_ns = started;
      }
      break;
    }
    case DrillStep::Kind::kFailover: failover(step, label, &outcome); break;
    case DrillStep::Kind::kReprotect: reprotect(step, label, &outcome); break;
    case DrillStep::Kind::kFailback: failback(step, label, &outcome); break;
    case DrillStep::Kind::kDrsim: {
      say(label);
      std::fflush(stdout);
      Status s = run_backup_verb(home_, step.args);
      if (step.expect_error.empty() ? !s.is_ok()
                                    : s.message().find(step.expect_error) == std::string::npos) {
        outcome = s.is_ok() ? "succeeded, expected error " + step.expect_error : s.message();
        problems_.push_back(label + ": " + outcome);
      } else if (!s.is_ok()) {
        say("  failed as expected: " + s.message());
      }
      break;
    }
    case DrillStep::Kind::kProtect:
      if (step.protect_group.empty()) {
        protect(step, label, &outcome);
      } else {
        protect_group(step, label, &outcome);
      }
      break;
    case DrillStep::Kind::kPlan:
      plan_step(step, label, &outcome);
      break;
    case DrillStep::Kind::kChangePoint:
      change_point(step, label, &outcome);
      break;
    case DrillStep::Kind::kCommit: commit(label, &outcome); break;
    case DrillStep::Kind::kVmDelete: vm_delete(step, label, &outcome); break;
    case DrillStep::Kind::kTestCleanup: test_cleanup(label, &outcome); break;
    case DrillStep::Kind::kWaitUntil:
      say(label);
      wait_condition(step, label, started, &outcome);
      break;
  }
  if (!aborted_.empty()) outcome = "aborted: " + aborted_;
  steps_json_.push_back({{"step", i + 1}, {"line", step.line}, {"action", step.describe()},
                         {"started_unix_nanos", started}, {"outcome", outcome}});
  // A Site Recovery or Backup step that did what it said is a marker on the HTML timeline.
  if (std::string mark = step.timeline_label(); !mark.empty() && outcome == "ok") {
    steps_json_.back()["timeline"] = mark;
  }
}

Status DrillRun::use_attached() {
  auto st = load_state(home_);
  if (!st.is_ok()) {
    return invalid_argument("--attached: " + st.status().message() +
                            "; attach it first: drsim attach --config FILE --home " + home_);
  }
  if (st->attached_from.empty()) {
    return invalid_argument("--attached: " + home_ +
                            " holds a topology drsim started, not attached daemons: drop "
                            "--attached to drill a topology of the drill's own");
  }
  state_ = std::move(*st);
  // The attached daemons' timings (read from them at attach), the drill's workloads.
  cfg_ = state_.config;
  cfg_.workloads = drill_.topology.workloads;
  std::string hosted;
  for (const auto& w : state_.config.workloads) {
    hosted += (hosted.empty() ? "" : ", ") + w.name + " (" +
              region::replication_mode_name(w.mode) + ")";
  }
  for (const auto& w : drill_.topology.workloads) {
    auto it = std::find_if(state_.config.workloads.begin(), state_.config.workloads.end(),
                           [&](const auto& a) { return a.name == w.name; });
    if (it == state_.config.workloads.end() || it->mode != w.mode) {
      return invalid_argument(
          drill_.source + ": topology.workloads: " + w.name + " (" +
          region::replication_mode_name(w.mode) + ") is not a workload of the daemons attached by " +
          state_.attached_from + " (they host " + hosted +
          "); name theirs in the drill's topology.workloads");
    }
  }
  for (size_t i = 0; i < drill_.steps.size(); ++i) {
    const DrillStep& step = drill_.steps[i];
    if (step.kind != DrillStep::Kind::kInject) continue;
    if (Status s = check_fault_is_local(state_, step.fault); !s.is_ok()) {
      return invalid_argument(drill_.source + ":" + std::to_string(step.line) + ": steps[" +
                              std::to_string(i) + "].inject: " + s.message());
    }
  }
  // The drill's steps and expectations start from the primary active, the secondary its
  // standby (as a topology it starts does).
  for (const char* region : {"primary", "secondary"}) {
    auto status = region_status(state_.at(region).address);
    if (!status.is_ok()) {
      return unavailable("--attached: " + std::string(region) + " at " +
                         state_.at(region).address + ": " + status.status().message());
    }
    const bool want_active = std::string(region) == "primary";
    if ((status->role() == drsim::v1::ROLE_ACTIVE) != want_active) {
      return failed_precondition(
          "--attached: a drill starts from the primary active and the secondary its standby; " +
          std::string(region) + " is " +
          (status->role() == drsim::v1::ROLE_ACTIVE ? "active" : "the standby") + " at epoch " +
          std::to_string(status->epoch()) + " (`drsim reprotect --home " + home_ +
          "`, then `drsim failback --home " + home_ + "`, bring the primary back)");
    }
  }
  heal_attached_on_interrupt_ = std::make_unique<InterruptCleanup>([state = state_]() mutable {
    auto healed = heal_faults(state, "");
    if (!healed.is_ok()) {
      std::fprintf(stderr, "drsim drill: heal: %s\n", healed.status().message().c_str());
    } else {
      for (const auto& line : *healed) std::fprintf(stderr, "drsim drill: healed %s\n", line.c_str());
    }
    std::fprintf(stderr,
                 "drsim drill: the attached daemons keep running as the drill left them: "
                 "drsim status --home %s\n",
                 state.home.c_str());
  });
  return Status::ok();
}

int DrillRun::run() {
  home_ = opt_.home;
  if (opt_.attached && home_.empty()) {
    fail_to_start("--attached needs --home: the home `drsim attach` wrote");
    return 2;
  }
  if (home_.empty()) {
    char tmpl[] = "/tmp/drsim-drill-XXXXXX";
    if (!::mkdtemp(tmpl)) return fail_to_start("cannot create a temporary directory");
    home_ = tmpl;
  }
  cfg_ = drill_.topology;
  const TopologyConfig& cfg = cfg_;
  std::vector<std::string> workloads;
  for (const auto& w : cfg.workloads) workloads.push_back(w.name);
  std::printf("drsim drill %s%s%s\n", drill_.name.c_str(), drill_.description.empty() ? "" : ": ",
              drill_.description.c_str());
  // Attached: the daemons' timings (cfg_ becomes theirs) are the ones the header gives.
  Status attached = opt_.attached ? use_attached() : Status::ok();
  std::printf("  home %s\n  %zu workload(s) (%s), probe every %u ms (timeout %u ms, tolerated "
              "failures %u), TTL %llu ms, %zu step(s)\n\n",
              home_.c_str(), workloads.size(), workloads_summary(cfg).c_str(), cfg.probe_interval_ms,
              cfg.probe_timeout_ms, cfg.tolerated_failures,
              static_cast<unsigned long long>(cfg.ttl_ms), drill_.steps.size());

  if (opt_.attached) {
    if (!attached.is_ok()) {
      int rc = fail_to_start(attached.message());
      return attached.code() == StatusCode::kInvalidArgument ? 2 : rc;
    }
    say("attached: the daemons of " + state_.attached_from + " (drsim starts and stops none)");
  } else {
    auto up = topology_up(home_, cfg, [&](const std::string& line) { say("up: " + line); });
    if (!up.is_ok()) {
      int rc = fail_to_start(up.status().message());
      // A topology this host cannot run as given (placement: netns without root, a subnet the
      // host routes) is bad input, like a bad drill file: exit 2.
      return up.status().code() == StatusCode::kInvalidArgument ? 2 : rc;
    }
    state_ = *up;
  }
  const std::string tm_address = state_.at("trafficmgr").address;
  watcher_ = std::make_unique<RoutingWatcher>(tm_address, cfg.profile);
  sampler_ = std::make_unique<RegionSampler>(
      std::map<std::string, std::string>{{"primary", state_.at("primary").address},
                                         {"secondary", state_.at("secondary").address}},
      200ms);
  LoadOptions& lo = load_options_;
  lo.trafficmgr_address = tm_address;
  lo.profile = cfg.profile;
  lo.workloads = workloads;
  lo.rate = drill_.workload.rate;
  lo.workers = drill_.workload.clients;
  lo.keys = drill_.workload.keys;
  lo.value_bytes = drill_.workload.value_bytes;
  lo.write_fraction = drill_.workload.write_fraction;
  lo.seed = drill_.workload.seed;
  lo.op_timeout = std::chrono::milliseconds(drill_.workload.deadline_ms);
  lo.in_flight = drill_.workload.in_flight;
  lo.stale = drill_.workload.stale;
  lo.run = "drill-" + new_run_id();
  // Before the load starts: report why, stop what runs, bring the topology down.
  auto give_up = [&](const std::string& why) {
    watcher_->stop();
    sampler_->stop();
    if (opt_.attached) return fail_to_start(why);  // not drsim's to stop
    if (Status down = topology_down(home_, 3s); !down.is_ok()) {
      std::fprintf(stderr, "drsim: %s\n", down.message().c_str());
    }
    return fail_to_start(why);
  };
  Status workload_ok = drill_.workload.resolve_dns ? resolve_by_dns(state_, &lo) : Status::ok();
  if (workload_ok.is_ok()) workload_ok = lo.validate();
  if (!workload_ok.is_ok()) {
    return give_up(drill_.source + ": workload: " + workload_ok.message());
  }
  // A kernel fault this topology or host cannot do is bad input: said before the load, exit 2.
  for (size_t i = 0; i < drill_.steps.size(); ++i) {
    const DrillStep& step = drill_.steps[i];
    if (step.kind != DrillStep::Kind::kInject) continue;
    const std::string where = drill_.source + ":" + std::to_string(step.line) + ": steps[" +
                              std::to_string(i) + "].inject.mechanism";
    if (Status s = check_kernel_mechanism(state_, step.fault, where); !s.is_ok()) {
      give_up(s.message());
      return 2;
    }
  }
  out_dir_ = home_;
  if (opt_.attached) {
    out_dir_ = home_ + "/drills/" + drill_.name + "-" + lo.run.substr(std::string("drill-").size());
    std::error_code ec;
    std::filesystem::create_directories(out_dir_, ec);
    if (ec) return give_up("cannot create " + out_dir_ + ": " + ec.message());
  }
  auto history = HistoryWriter::open(out_dir_ + "/history.jsonl", lo.run);
  if (!history.is_ok()) return give_up(history.status().message());
  history_ = std::move(*history);
  finish_history_on_interrupt_ = std::make_unique<InterruptCleanup>([writer = history_.get()] {
    // The process is about to exit: a history that cannot be finished can only be reported.
    if (Status s = writer->finish("interrupted"); !s.is_ok()) {
      std::fprintf(stderr, "drsim drill: %s\n", s.message().c_str());
    }
  });
  load_ = std::make_unique<LoadGenerator>(lo, history_.get());
  load_->start();
  load_start_ns_ = wall_now_unix_nanos();
  last_progress_ = last_write_ack_ = std::chrono::steady_clock::now();
  say(fmt::format("load: {:.0f} ops/s from {} clients ({} call(s) in flight each, deadline {} "
                  "ms), {:.0f} % writes, {} keys per workload, {}-byte values, resolving through "
                  "the Traffic Manager ({})",
                  lo.rate, lo.workers, lo.in_flight, lo.op_timeout.count(), lo.write_fraction * 100, lo.keys,
                  lo.value_bytes,
                  lo.resolve == ResolveMode::kDns ? "DNS " + lo.dns_name + " at " + lo.dns_address
                                                  : "gRPC Resolve"));
  if (lo.stale.count > 0) say("load: " + describe_stale_clients(lo.stale));

  for (size_t i = 0; i < drill_.steps.size() && problems_.empty() && aborted_.empty(); ++i) {
    run_step(i);
  }
  if (!problems_.empty()) say("STOPPED: " + problems_.back());
  return finish();
}

int DrillRun::finish() {
  const TopologyConfig& cfg = cfg_;
  const std::string tm_address = state_.at("trafficmgr").address;
  std::vector<std::string> workloads;
  for (const auto& w : cfg.workloads) workloads.push_back(w.name);
  load_->stop();
  watcher_->stop();
  sampler_->stop();
  say("load stopped");
  int64_t end_ns = wall_now_unix_nanos();
  if (!aborted_.empty()) problems_.push_back("ABORTED: " + aborted_);

  // Marks the Traffic Manager recorded on its own, even without wait_until steps.
  auto events = watcher_->events();
  for (const auto& e : events) {
    if (!marks_.fault_ns || e.unix_nanos() < marks_.fault_ns) continue;
    if (!marks_.detected_ns && e.kind() == drsim::v1::RoutingEvent::ENDPOINT_STATUS &&
        e.endpoint() == faulted_ && e.new_status() == drsim::v1::ENDPOINT_DEGRADED) {
      marks_.detected_ns = e.unix_nanos();
    }
    if (!marks_.routed_ns && !marks_.new_region.empty() &&
        e.kind() == drsim::v1::RoutingEvent::ROUTE_CHANGED &&
        e.new_route() == marks_.new_region && e.unix_nanos() >= marks_.promoted_ns) {
      marks_.routed_ns = e.unix_nanos();
    }
  }

  // Judge the history against the final state of the region active now.
  auto history = load_->history();
  std::string history_path = history_->path();
  finish_history_on_interrupt_.reset();  // finished here, not by an interrupt
  if (Status s = history_->finish(aborted_.empty() ? "completed" : "aborted"); !s.is_ok()) {
    problems_.push_back(s.message());
  }
  const std::string& active = active_;
  model::CheckResult check;
  auto final_state = read_final_state(state_.at(active).address, workloads);
  if (final_state.is_ok()) {
    check = model::check_history(history, *final_state);
  } else {
    problems_.push_back("cannot read the final state of " + active + ": " +
                        final_state.status().message());
  }
  model::RtoBreakdown rto;
  bool has_rto = marks_.fault_ns && !marks_.new_region.empty();
  if (has_rto) rto = model::measure_rto(history, marks_);
  for (auto& p : points_) {
    for (const auto& op : history) {
      // Writes the old region acknowledged before the failover: once it is active again (a
      // failback, at a newer epoch) its writes are not ones the failover could give up.
      const bool before_failover = failover_epoch_ == 0 || op.epoch < failover_epoch_;
      if (op.outcome == model::Outcome::kOk && op.region == old_active_ && before_failover &&
          op.workload == p.workload && model::is_write(op.kind)) {
        p.acked_seq_at_old = std::max(p.acked_seq_at_old, op.seq);
      }
    }
  }
  model::RpoEstimate rpo = model::rpo(history, old_active_, marks_.fault_ns, points_);
  // Lost writes a failover to a recovery point gives up on purpose (the point is older than the
  // last write), as long as they are within that failover's RPO.
  const bool given_up_by_design =
      to_recovery_point_ && check.lost_count > 0 && check.lost_count <= rpo.total_writes;
  model::ClientSwitch moved;
  if (has_rto) moved = model::measure_client_switch(history, marks_.new_region, marks_.fault_ns);
  auto after_fencing = model::writes_acked_after_fencing(history, promotions_);
  json planned_j = json::array();
  uint64_t planned_given_up = 0;
  for (const auto& p : planned_) {
    auto given_up = model::acked_beyond_drain(history, p.from, p.new_epoch, p.drained);
    planned_given_up += given_up.size();
    json drained = json::object();
    for (const auto& c : p.drained) drained[c.workload] = c.seq;
    planned_j.push_back({{"from", p.from}, {"to", p.to}, {"new_epoch", p.new_epoch},
                         {"promoted_unix_nanos", p.promoted_ns},
                         {"writes_paused_ms", p.writes_paused_ms},
                         {"duration_ms", p.duration_ms}, {"drained", drained},
                         {"acked_beyond_drain", given_up}});
  }
  auto final_route = tm_resolve(tm_address, cfg.profile);
  uint64_t all_ops = check.writes.attempted + check.reads.attempted;
  double availability =
      all_ops ? static_cast<double>(check.writes.ok + check.reads.ok) / static_cast<double>(all_ops)
              : 0.0;

  std::vector<Expectation> expectations;
  const auto& ex = drill_.expect;
  if (ex.max_rto_ms) {
    expectations.push_back({"RTO", fmt::format("<= {:g} ms", *ex.max_rto_ms), ms(rto.total),
                            rto.total && to_ms(*rto.total) <= *ex.max_rto_ms});
  }
  if (ex.max_lost_writes) {
    expectations.push_back({"acknowledged writes lost", fmt::format("<= {}", *ex.max_lost_writes),
                            std::to_string(check.lost_count),
                            check.lost_count <= *ex.max_lost_writes});
  }
  if (ex.max_lost_sync_writes) {
    uint64_t lost_sync = 0;
    for (const auto& l : check.lost) {
      for (const auto& w : cfg.workloads) {
        if (w.name == l.workload && w.mode == region::ReplicationMode::kSync) ++lost_sync;
      }
    }
    expectations.push_back({"acknowledged sync writes lost",
                            fmt::format("<= {}", *ex.max_lost_sync_writes),
                            std::to_string(lost_sync), lost_sync <= *ex.max_lost_sync_writes});
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
  std::string rpo_got = points_.empty() ? "n/a (no failover)" : std::to_string(rpo.total_writes);
  if (ex.min_rpo_writes) {
    expectations.push_back({"RPO (writes given up)", fmt::format(">= {}", *ex.min_rpo_writes),
                            rpo_got, !points_.empty() && rpo.total_writes >= *ex.min_rpo_writes});
  }
  if (ex.max_rpo_writes) {
    expectations.push_back({"RPO (writes given up)", fmt::format("<= {}", *ex.max_rpo_writes),
                            rpo_got, !points_.empty() && rpo.total_writes <= *ex.max_rpo_writes});
  }
  std::string moved_got = moved.last ? ms(moved.last)
                          : has_rto ? fmt::format("{} of {} clients moved", moved.moved, moved.clients)
                                    : "n/a (no failover)";
  if (ex.max_all_clients_moved_ms) {
    expectations.push_back({"all clients moved", fmt::format("<= {:g} ms", *ex.max_all_clients_moved_ms),
                            moved_got,
                            moved.last && to_ms(*moved.last) <= *ex.max_all_clients_moved_ms});
  }
  if (ex.min_all_clients_moved_ms) {
    expectations.push_back({"all clients moved", fmt::format(">= {:g} ms", *ex.min_all_clients_moved_ms),
                            moved_got,
                            moved.last && to_ms(*moved.last) >= *ex.min_all_clients_moved_ms});
  }
  if (ex.max_all_clients_moved_after_routing_ms) {
    // From the route change to the new region: the TTL's part of the switch alone.
    std::optional<Duration> after_routing;
    if (moved.last && marks_.routed_ns) {
      after_routing = *moved.last - Duration(marks_.routed_ns - marks_.fault_ns);
    }
    expectations.push_back(
        {"all clients moved after the route change",
         fmt::format("<= {:g} ms", *ex.max_all_clients_moved_after_routing_ms),
         after_routing ? ms(after_routing) : !marks_.routed_ns ? "n/a (no route change)" : moved_got,
         after_routing && to_ms(*after_routing) <= *ex.max_all_clients_moved_after_routing_ms});
  }
  if (ex.max_writes_acked_after_fencing) {
    expectations.push_back({"writes acked by a superseded region",
                            fmt::format("<= {}", *ex.max_writes_acked_after_fencing),
                            std::to_string(after_fencing.count()),
                            after_fencing.count() <= *ex.max_writes_acked_after_fencing});
  }
  if (ex.lost_within_rpo) {
    expectations.push_back({"lost writes within the RPO", "lost <= RPO",
                            fmt::format("{} <= {}", check.lost_count, rpo_got),
                            !points_.empty() && check.lost_count <= rpo.total_writes});
  }
  if (!planned_.empty()) {
    // What a planned failover means: the promoted region holds every write the former active
    // region acknowledged. Always judged.
    expectations.push_back({"writes lost by planned failover (drain)", "0",
                            std::to_string(planned_given_up), planned_given_up == 0});
  }
  bool passed = problems_.empty();
  for (const auto& e : expectations) passed = passed && e.pass;

  // Human summary.
  std::printf("\n== drsim drill report: %s ==\n", drill_.name.c_str());
  if (marks_.fault_ns) {
    std::printf("fault              %s region %s\n", faulted_.c_str(), fault_kind_.c_str());
  }
  for (const auto& w : faults_) {
    std::printf("  injected         %-48s %+8.2f s .. %s\n", w.description.c_str(),
                (w.start_ns - load_start_ns_) / 1e9,
                w.end_ns ? fmt::format("{:+.2f} s", (w.end_ns - load_start_ns_) / 1e9).c_str()
                         : "end");
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
      static_cast<unsigned long long>(check.writes.attempted),
      static_cast<unsigned long long>(check.writes.ok),
      static_cast<unsigned long long>(check.writes.failed),
      static_cast<unsigned long long>(check.writes.indeterminate));
  std::printf("reads              attempted %llu   ok %llu   failed %llu   indeterminate %llu\n",
              static_cast<unsigned long long>(check.reads.attempted),
              static_cast<unsigned long long>(check.reads.ok),
              static_cast<unsigned long long>(check.reads.failed),
              static_cast<unsigned long long>(check.reads.indeterminate));
  for (const auto& [region, n] : check.ok_writes_by_region) {
    std::printf("  acknowledged by %-10s %llu\n", region.c_str(),
                static_cast<unsigned long long>(n));
  }
  std::printf("availability       %.1f %% of operations ok\n", availability * 100);
  if (has_rto) {
    std::printf("RTO                %s  (fault -> first write acknowledged by %s)\n",
                ms(rto.total).c_str(), marks_.new_region.c_str());
    std::printf("  detection        %s  (fault -> Traffic Manager marks %s Degraded)\n",
                ms(rto.detection).c_str(), faulted_.c_str());
    std::printf("  promotion        %s  (Degraded -> %s promoted; %.0f ms of it waiting out the "
                "old lease)\n",
                ms(rto.promotion).c_str(), marks_.new_region.c_str(), lease_wait_ms_);
    std::printf("  routing          %s  (promoted -> Traffic Manager answers %s)\n",
                ms(rto.routing).c_str(), marks_.new_region.c_str());
    std::printf("  client deadline  %s  (the first client to move was blocked on the old region "
                "until its deadline or keepalive gave up)\n",
                ms(rto.client_deadline).c_str());
    std::printf("  client TTL       %s  (routing change -> first client write there, less that "
                "wait)\n",
                ms(rto.client_ttl).c_str());
    std::printf("clients moved      %u of %u; first %s, all %s after the fault\n", moved.moved,
                moved.clients, ms(moved.first).c_str(), ms(moved.last).c_str());
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
      static_cast<unsigned long long>(check.lost_count), active.c_str());
  if (given_up_by_design) {
    std::printf("                   (acknowledged after the recovery point the drill failed over "
                "to: given up by design, within the RPO below; not a fault of replication)\n");
  }
  std::printf("recovered          %llu indeterminate writes found applied\n",
              static_cast<unsigned long long>(check.recovered_count));
  std::printf("stale reads        %llu\n", static_cast<unsigned long long>(check.stale_read_count));
  std::printf(
      "after fencing      %zu writes acknowledged by a superseded region after the "
      "failover (%llu invoked after it, %llu in flight across it)\n",
      after_fencing.count(), static_cast<unsigned long long>(after_fencing.invoked_after_promotion),
      static_cast<unsigned long long>(after_fencing.in_flight_across));
  for (const auto& d : beyond_bound_drifts_) {
    std::printf("  %s: clock drift beyond the lease's bound (beyond_bound: true), so the lease "
                "cannot keep the superseded region from acknowledging — %s\n",
                after_fencing.count() > 0 ? "cause" : "note", d.c_str());
  }
  if (!points_.empty()) {
    std::printf("RPO                %llu writes",
                static_cast<unsigned long long>(rpo.total_writes));
    if (rpo.max_time) std::printf(", %s", ms(rpo.max_time).c_str());
    std::printf("\n");
  }
  for (size_t i = 0; i < check.lost.size() && i < 5; ++i) {
    const auto& l = check.lost[i];
    std::printf("  LOST %s/%s acked by %s seq %llu\n", l.workload.c_str(), l.key.c_str(),
                l.region.c_str(), static_cast<unsigned long long>(l.seq));
  }
  std::printf("\nexpectations\n");
  for (const auto& e : expectations) {
    std::printf("  [%s] %-40s want %-12s got %s\n", e.pass ? "PASS" : "FAIL", e.name.c_str(),
                e.want.c_str(), e.got.c_str());
  }
  if (expectations.empty()) std::printf("  (none)\n");
  for (const auto& p : problems_) std::printf("  [FAIL] %s\n", p.c_str());

  // JSON report.
  json j;
  j["drill"] = drill_.name;
  j["description"] = drill_.description;
  j["source"] = drill_.source;
  // Where each daemon ran: loopback, or its network namespace and address (docs/deploy.md).
  j["placement"] = placement_lines(state_);
  j["steps"] = steps_json_;
  j["fault"] = {{"region", faulted_}, {"description", faulted_ + " region " + fault_kind_},
                {"unix_nanos", marks_.fault_ns}};
  json faults = json::array();
  for (const auto& w : faults_) {
    faults.push_back({{"description", w.description},
                      {"target", w.target},
                      {"start_unix_nanos", w.start_ns},
                      {"end_unix_nanos", w.end_ns ? w.end_ns : end_ns}});
  }
  j["faults"] = faults;
  j["failover"] = {{"automated_by_drill", automated_failover_},
                   {"new_active", marks_.new_region},
                   {"new_epoch", failover_epoch_},
                   {"promoted_unix_nanos", marks_.promoted_ns}};
  j["planned_failovers"] = planned_j;
  j["reprotects"] = reprotects_;
  j["final_active"] = active;
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
                       {"client_deadline", ms_json(rto.client_deadline)},
                       {"client_ttl", ms_json(rto.client_ttl)}};
  j["failover_estimate_ms"] = {{"documented", cfg.documented_failover_ms()},
                               {"strict", cfg.strict_failover_ms()},
                               {"lease_wait", cfg.lease_wait_ms()}};
  j["lease_wait_ms"] = lease_wait_ms_;
  j["acknowledged_writes_lost"] = check.lost_count;
  j["lost_writes_given_up_by_recovery_point"] = given_up_by_design;
  json lost = json::array();
  for (const auto& l : check.lost) {
    lost.push_back({{"id", l.id}, {"workload", l.workload}, {"key", l.key}, {"value", l.value},
                    {"region", l.region}, {"seq", l.seq}, {"complete_ns", l.complete_ns}});
  }
  j["lost"] = lost;
  j["clients_moved"] = {{"clients", moved.clients}, {"moved", moved.moved},
                        {"first_ms", ms_json(moved.first)}, {"all_ms", ms_json(moved.last)}};
  j["writes_acked_after_fencing"] = after_fencing.ids;
  j["writes_acked_after_fencing_in_flight_across"] = after_fencing.in_flight_across;
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
  j["replication_lag_before_fault"] = lag_before_;
  // Replication lag of whichever region was active, sampled every 200 ms.
  json lag_series = json::array();
  for (const auto& s : sampler_->samples()) {
    if (!s.active) continue;
    uint64_t writes = 0;
    double lag_ms = 0;
    for (const auto& [w, n] : s.lag_writes) writes += n;
    for (const auto& [w, m] : s.lag_ms) lag_ms = std::max(lag_ms, m);
    lag_series.push_back({{"unix_nanos", s.unix_nanos}, {"region", s.region},
                          {"epoch", s.epoch}, {"lag_writes", writes}, {"lag_ms", lag_ms}});
  }
  j["replication_lag"] = lag_series;
  j["clock_notes"] = clock_notes_;
  j["clock_drift_beyond_lease_bound"] = beyond_bound_drifts_;
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
  j["aborted"] = aborted_;
  j["problems"] = problems_;
  j["passed"] = passed;
  j["history_file"] = history_path;
  j["duration_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::string json_path = opt_.json_path.empty() ? out_dir_ + "/report.json" : opt_.json_path;
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
  write_junit(j);

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
      roles += std::string(roles.empty() ? "" : ", ") + region + " " +
               (!st.is_ok()                                 ? "unreachable"
                : st->role() == drsim::v1::ROLE_ACTIVE ? "active at epoch " + std::to_string(st->epoch())
                                                            : "standby at epoch " + std::to_string(st->epoch()));
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
    std::printf("topology left up: drsim status --home %s ; drsim down --home %s\n",
                home_.c_str(), home_.c_str());
  } else {
    resume_paused();
    Status down = topology_down(home_, 3s);
    say(down.is_ok() ? "down: every process stopped" : "down: " + down.message());
  }
  std::printf("\n%s\n", passed             ? "PASSED: every expectation held"
                        : !aborted_.empty() ? "ABORTED: see the abort condition above"
                                            : "FAILED: see the expectations and problems above");
  return passed ? 0 : 1;
}

void DrillRun::write_junit(const json& report) const {
  if (opt_.junit_path.empty()) return;
  if (Status s = write_junit_file(opt_.junit_path, report); !s.is_ok()) {
    std::fprintf(stderr, "drsim: %s\n", s.message().c_str());
    return;
  }
  std::printf("junit   %s\n", opt_.junit_path.c_str());
}

int DrillRun::fail_to_start(const std::string& why) const {
  std::fprintf(stderr, "drsim: %s\n", why.c_str());
  json j;
  j["drill"] = drill_.name;
  j["source"] = drill_.source;
  j["expectations"] = json::array();
  j["problems"] = json::array({"the drill could not start: " + why});
  j["passed"] = false;
  j["duration_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  write_junit(j);
  return 1;
}

}  // namespace

int run_drill(const Drill& drill, const DrillRunOptions& options) {
  DrillRun run(drill, options);
  return run.run();
}

}  // namespace drsim::cli
