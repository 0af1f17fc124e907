// The drill runner's parts (internal to cli/: drill_runner.cc runs, drill_steps.cc does the
// steps, drill_waits.cc their waits, drill_finish.cc judges and reports): the DrillRun that
// `run_drill` (drill.h) drives.
#pragma once

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/backup_commands.h"
#include "cli/child_process.h"
#include "cli/commands.h"
#include "cli/drill.h"
#include "cli/drill_report.h"
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

namespace drsim::cli::drill_run {

using nlohmann::json;

// The topology's workloads for the header: all of them when few, else the first and the last.
inline std::string workloads_summary(const TopologyConfig& cfg) {
  if (cfg.workloads.size() <= kWorkloadsOnArgv) return cfg.workloads_flag();
  auto one = [](const region::WorkloadSpec& w) {
    return w.name + ":" + region::replication_mode_name(w.mode);
  };
  return one(cfg.workloads.front()) + " ... " + one(cfg.workloads.back());
}

inline std::string other_region(const std::string& r) {
  return r == "primary" ? "secondary" : "primary";
}

using Expectation = model::Expectation;

class DrillRun {
 public:
  DrillRun(const Drill& drill, DrillRunOptions opt) : drill_(drill), opt_(std::move(opt)) {}
  int run();

 private:
  // run()'s steps up to the drill's own steps. An exit code when the drill cannot start.
  // home_: --home, else a new /tmp/drsim-drill-*.
  std::optional<int> make_home();
  // Prints the header, then attaches (--attached) or brings the topology up.
  std::optional<int> bring_up(const std::vector<std::string>& workloads);
  void start_watchers();
  void fill_load_options(const std::vector<std::string>& workloads);
  // Before the load starts: report why, stop what runs, bring the topology down.
  int give_up(const std::string& why);
  // The workload's options and the steps' kernel faults, checked against the running topology.
  std::optional<int> check_before_load();
  // out_dir_ and the history file the load writes there.
  std::optional<int> open_history();
  void start_load();
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
  // The step's own work, by kind; `outcome` says what went wrong ("ok" otherwise).
  void do_step(const DrillStep& step, const std::string& label, int64_t started,
               std::string* outcome);
  void heal(const DrillStep& step, const std::string& label, int64_t started, std::string* outcome);
  // A `drsim: <backup verb>` step, and its expect_error.
  void backup_verb(const DrillStep& step, const std::string& label, std::string* outcome);
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
  // The waits (cli/drill_waits.cc): wait / pause / at, and wait_until's conditions.
  void wait_step(const DrillStep& step, const std::string& label);
  void wait_condition(const DrillStep& step, const std::string& label, int64_t started,
                      std::string* outcome);
  // wait_until's condition as a predicate that sets `at` when it holds, counting events from
  // `since` (a lag condition counts from `started`, and sets `since` to it).
  std::function<bool()> condition_met(const DrillStep& step, int64_t started, int64_t& since,
                                      int64_t& at);
  void record_lag_before_fault(const std::string& region);
  // --attached: the daemons of the attached home_ (state_, cfg_) instead of topology_up.
  // INVALID_ARGUMENT naming the drill's field or step that those daemons cannot take.
  Status use_attached();
  Status check_attached_workloads() const;
  Status check_attached_roles() const;
  // Ctrl-C / SIGTERM mid-drill heals what the drill injected in the attached daemons.
  void arm_heal_on_interrupt();
  // What finish() works out once the load stopped, handed from step to step.
  struct FinishOutcome {
    std::string tm_address{};
    std::vector<std::string> workloads{};
    int64_t end_ns{};
    std::vector<drsim::v1::RoutingEvent> events{};
    std::vector<model::OpRecord> history{};
    std::string history_path{};
    model::CheckResult check{};
    model::RtoBreakdown rto{};
    bool has_rto{};
    model::RpoEstimate rpo{};
    bool given_up_by_design{};
    model::ClientSwitch moved{};
    model::FencedWrites after_fencing{};
    std::vector<PlannedFailoverReport> planned{};  // with the writes each drain missed
    uint64_t planned_given_up{};
    Result<drsim::v1::ResolveResponse> final_route = internal_error("not resolved");
    uint64_t all_ops{};
    double availability{};
    std::vector<Expectation> expectations{};
    bool passed{};
  };
  FinishOutcome stop_load();
  void measure(FinishOutcome& o);
  void judge(FinishOutcome& o);
  std::map<std::string, uint64_t> count_bugs() const;
  void note_bugs();
  std::map<std::string, uint64_t> bugs_at_start_;  // each region's DRSIM_BUG count at load start
  // The report (cli/drill_report.h) of what the steps recorded and finish() measured.
  DrillReport build_report(const FinishOutcome& o) const;
  void report_drill(DrillReport& r) const;
  void report_steps(const FinishOutcome& o, DrillReport& r) const;
  static void report_history(const FinishOutcome& o, DrillReport& r);
  std::vector<LagPoint> lag_series() const;
  void write_reports(const FinishOutcome& o, const json& j);
  void leave_topology();
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
  std::vector<PlannedFailoverReport> planned_;  // acked_beyond_drain filled in by measure()
  std::vector<ReprotectReport> reprotects_;
  std::map<std::string, LagBeforeFault> lag_before_;  // by workload
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


}  // namespace drsim::cli::drill_run
