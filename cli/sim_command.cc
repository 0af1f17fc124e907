#include "cli/sim_command_impl.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/html_report.h"
#include "cli/interrupt.h"
#include "cli/json_output.h"
#include "cli/units.h"  // parse_duration_text
#include "common/sim/region_pair_sim.h"

namespace drsim::cli {

using sim::DriftRange;
using sim::LeaseCheck;
using sim::Nemesis;
using sim::Verdict;

void SimCommand::Impl::add(CLI::App& app) {
  cmd = app.add_subcommand(
      "sim",
      "The region simulator: two real region drivers and the Traffic Manager (its driver "
      "and lease witness) on virtual time, seeded runs under a nemesis, every ack checked; "
      "exit 0 with no violation, 1 with any");
  cmd->add_option("--seeds", seeds, "Seeds to run, 1..N (default 200)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  cmd->add_option("--seed", seed,
                  "Replay one seed, printing its event history; with --runs, the first seed "
                  "of the runs");
  cmd->add_option("--runs", runs,
                  "Run N seeds from --seed (default 1): seeds S..S+N-1, summary only")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  cmd->add_option("--clients", clients,
                  "Clients that follow the Traffic Manager's routing (resolve, keep the answer "
                  "for its TTL, every fourth for the whole run; one put, get or delete at a "
                  "time, 1 s deadline), beside the stale writers; their history is judged by "
                  "the drill checker (lost writes, stale reads), and every failover by how soon "
                  "they write to the promoted region (2,050 ms at most)")
      ->check(CLI::Range(0u, 64u));
  cmd->add_option("--duration", duration,
                  "Each run lasts at least this long in virtual time (e.g. 60s): the fault "
                  "comes within its first half, the clients write on after the nemesis "
                  "(default: the run ends with the nemesis, a few seconds)");
  cmd->add_option("--mode", mode,
                  "The workloads' replication: sync (acknowledged once the standby has it; no "
                  "acknowledged write may be lost), async (a failover may give up what the "
                  "standby had not received), or mixed: half of each (default mixed)")
      ->check(CLI::IsMember({"sync", "async", "mixed"}));
  cmd->add_option("--workloads", workloads,
                  "Workloads each region protects, each write to one drawn at random: "
                  "vm-sync, vm-async, vm-sync-1, ... (default 2)")
      ->check(CLI::Range(1u, 256u));
  cmd->add_option(
      "--nemesis", nemesis,
      "KIND[,KIND...]: " + sim::known_nemeses() + " (default all: each seed draws one)");
  cmd->add_flag("--drift-beyond-bound", drift_beyond_bound,
                "drift: draw clock rates beyond the lease's bound (the checker is expected to "
                "find acks by the superseded region)");
  cmd->add_flag("--without-fsync", without_fsync,
                "kill: the stores do not sync each write (the daemon without --fsync: durable "
                "across SIGKILL, not a host crash); the crash is expected to lose acked writes");
  cmd->add_flag("--json", json, "One JSON document instead of the human output");
  cmd->add_option("--trace", trace,
                  "With --seed: also write the seed's events to FILE as JSON lines (a header "
                  "line, then one line per event: t_ms, kind, text)");
  cmd->add_option("--html", html,
                  "With --seed: also write the seed as the drill's HTML report (summary, "
                  "timeline of the routed clients' operations, nemesis and operator steps, "
                  "routing changes, promotions; RTO with --clients)");
#if DRSIM_TEST_HOOKS
  cmd->add_option("--broken-variant,--mutant", broken_variant,
                  "TEST BUILD: run a deliberately broken variant (lease: regions ack without "
                  "a valid lease; ack-before-standby: sync writes acknowledged before the "
                  "standby has them; unverified-marks: a restarted primary serving on by "
                  "fence-check timeout does not mark where its unverified writes begin; "
                  "unfenced-reads: Get and Scan answered whatever the role and lease, to run "
                  "with --clients; slow-detection: the Traffic Manager probes every 3 s "
                  "instead of every 100 ms, to run with --clients)")
      ->check(CLI::IsMember({"lease", "ack-before-standby", "unverified-marks", "unfenced-reads",
                             "slow-detection"}));
#endif
}

int SimCommand::Impl::bad_input(const Status& s) const {
  if (json) return print_json_error(s);
  std::fprintf(stderr, "drsim sim: %s\n", s.message().c_str());
  return 2;
}

Status SimCommand::Impl::check_flags(const std::vector<Nemesis>& kinds) {
  bool has_drift = false;
  bool has_kill = false;
  for (Nemesis n : kinds) {
    has_drift = has_drift || n == Nemesis::kDrift;
    has_kill = has_kill || n == Nemesis::kKill;
  }
  if (drift_beyond_bound && !has_drift) {
    return invalid_argument(
        "--drift-beyond-bound: needs the drift nemesis (--nemesis drift or all)");
  }
  if (without_fsync && !has_kill) {
    return invalid_argument("--without-fsync: needs the kill nemesis (--nemesis kill or all)");
  }
  if (!trace.empty() && (!seed || runs.value_or(1) > 1)) {
    return invalid_argument(
        "--trace: needs --seed S without --runs (the trace is one seed's events)");
  }
  if (!html.empty() && (!seed || runs.value_or(1) > 1)) {
    return invalid_argument("--html: needs --seed S without --runs (the report is one seed's run)");
  }
  if (broken_variant == "unfenced-reads" && clients == 0) {
    return invalid_argument(
        "--broken-variant unfenced-reads: needs --clients N (only the routed clients read)");
  }
  if (broken_variant == "slow-detection" && clients == 0) {
    return invalid_argument(
        "--broken-variant slow-detection: needs --clients N (the recovery check judges the "
        "routed clients)");
  }
  if (broken_variant == "ack-before-standby" && mode == "async") {
    return invalid_argument(
        "--broken-variant ack-before-standby: needs sync workloads (--mode sync or mixed)");
  }
  if (runs && cmd->count("--seeds") > 0) {
    return invalid_argument("--runs: give either --seeds N (1..N) or --seed S --runs N");
  }
  if (!duration.empty()) {
    auto d = parse_duration_text("--duration", duration);
    if (!d.is_ok()) return d.status();
    if (*d > std::chrono::hours(1)) {
      return invalid_argument("--duration: " + duration + " is longer than 1h of virtual time");
    }
    run_duration = *d;
  }
  return Status::ok();
}

sim::SeedOptions SimCommand::Impl::base_options() const {
  sim::SeedOptions base;
  base.lease_check = broken_variant == "lease" ? LeaseCheck::kBypassed : LeaseCheck::kEnforced;
  base.sync_ack = broken_variant == "ack-before-standby" ? sim::SyncAck::kBeforeStandby
                                                         : sim::SyncAck::kAfterStandby;
  base.marks = broken_variant == "unverified-marks" ? sim::UnverifiedMarks::kSkipped
                                                    : sim::UnverifiedMarks::kKept;
  base.reads =
      broken_variant == "unfenced-reads" ? sim::ReadFence::kSkipped : sim::ReadFence::kEnforced;
  base.detection =
      broken_variant == "slow-detection" ? sim::Detection::kSlow : sim::Detection::kDrsimUp;
  base.drift_range = drift_beyond_bound ? DriftRange::kBeyondBound : DriftRange::kWithinBound;
  base.fsync = without_fsync ? sim::Fsync::kOff : sim::Fsync::kEveryWrite;
  base.clients = clients;
  base.mode = mode == "sync"    ? sim::Mode::kSync
              : mode == "async" ? sim::Mode::kAsync
                                : sim::Mode::kMixed;
  base.workloads = workloads;
  base.duration = run_duration;
  base.record = !html.empty();
  return base;
}

std::vector<uint64_t> SimCommand::Impl::seeds_to_run() const {
  std::vector<uint64_t> run_seeds;
  if (runs) {
    for (uint64_t s = seed.value_or(1); s < seed.value_or(1) + *runs; ++s) run_seeds.push_back(s);
  } else if (seed) {
    run_seeds.push_back(*seed);
  } else {
    for (uint64_t s = 1; s <= seeds; ++s) run_seeds.push_back(s);
  }
  return run_seeds;
}

void SimCommand::Impl::print_header(size_t n, const std::vector<Nemesis>& kinds,
                                    const sim::SeedOptions& base) const {
  std::string kind_names;
  for (Nemesis k : kinds)
    kind_names += (kind_names.empty() ? "" : ", ") + std::string(sim::nemesis_name(k));
  std::printf("drsim sim: %zu seed(s)%s, nemesis %s, lease check %s%s%s%s%s%s%s\n", n,
              run_shape().c_str(), kind_names.c_str(),
              base.lease_check == LeaseCheck::kEnforced ? "enforced" : "BYPASSED (broken variant)",
              base.sync_ack == sim::SyncAck::kAfterStandby
                  ? ""
                  : ", sync writes acknowledged BEFORE the standby has them (broken variant)",
              base.marks == sim::UnverifiedMarks::kKept
                  ? ""
                  : ", NO unverified-writes marks (broken variant)",
              base.reads == sim::ReadFence::kEnforced
                  ? ""
                  : ", reads NOT fenced by role and lease (broken variant)",
              base.detection == sim::Detection::kDrsimUp
                  ? ""
                  : ", the Traffic Manager probes every 3 s (broken variant)",
              drift_beyond_bound ? ", drift BEYOND the lease's bound" : "",
              without_fsync ? ", stores WITHOUT fsync" : "");
}

int SimCommand::Impl::run() {
  auto kinds = sim::parse_nemeses(nemesis);
  if (!kinds.is_ok()) return bad_input(kinds.status());
  if (Status s = check_flags(*kinds); !s.is_ok()) return bad_input(s);
  // Opened before running anything: a path that cannot be written is bad input, not a run.
  std::ofstream trace_out;
  if (!trace.empty()) {
    trace_out.open(trace, std::ios::trunc);
    if (!trace_out) return bad_input(invalid_argument("--trace: cannot write " + trace));
  }
  const sim::SeedOptions base = base_options();
  const std::vector<uint64_t> run_seeds = seeds_to_run();
  // One seed replayed (its events printed): --seed alone, or --seed S --runs 1.
  const bool replay = seed && runs.value_or(1) == 1;
  if (!json) print_header(run_seeds.size(), *kinds, base);

  spdlog::level::level_enum level = spdlog::get_level();
  // The drivers' logs are off: the events say what happened. DRSIM_SIM_LOG=1 keeps them (their
  // time stamps are the wall clock's, not the run's).
  if (std::getenv("DRSIM_SIM_LOG") == nullptr) spdlog::set_level(spdlog::level::off);
  const auto wall_start = std::chrono::steady_clock::now();
  Totals t;
  std::vector<Verdict> failing;
  std::optional<Verdict> replayed;
  size_t next_progress = 1;
  // Ctrl-C (or a CI timeout's SIGTERM) ends the run after the seed under way: the summary then
  // covers the seeds run (a second signal stops at once).
  InterruptHandledByCaller interrupt_here;
  for (size_t i = 0; i < run_seeds.size(); ++i) {
    if (interrupted_by() != 0) {
      std::fprintf(stderr,
                   "drsim sim: interrupted after %zu of %zu seed(s); the summary covers those\n",
                   i, run_seeds.size());
      break;
    }
    sim::SeedOptions o = base;
    o.nemesis = sim::draw_nemesis(run_seeds[i], *kinds);
    if (run_duration > Duration{}) o.later_kinds = *kinds;
    Verdict v = sim::run_seed(run_seeds[i], o);
    t.add(v);
    if (!v.violations.empty()) failing.push_back(v);
    if (replay) replayed = std::move(v);
    // One line per ~10 % of the seeds.
    if (!json && !replay && (i + 1) * 10 >= next_progress * run_seeds.size()) {
      while ((i + 1) * 10 >= next_progress * run_seeds.size()) ++next_progress;
      std::printf("  %zu/%zu seeds, %zu failing, %.1f s virtual\n", i + 1, run_seeds.size(),
                  t.failing, to_ms(t.simulated) / 1000);
      std::fflush(stdout);
    }
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  spdlog::set_level(level);
  if (!trace.empty() && replayed) {
    if (Status s = write_trace(*replayed, trace_out); !s.is_ok()) return bad_input(s);
  }
  if (!html.empty() && replayed) {
    if (Status s = write_html_report(html_report(*replayed), replayed->record.history, html);
        !s.is_ok()) {
      return bad_input(invalid_argument("--html: " + s.message()));
    }
  }
  const int code =
      json ? print_json(t, failing, replayed, wall_s) : print_text(t, failing, replayed, wall_s);
  return interrupted_by() != 0 ? 128 + interrupted_by() : code;
}

SimCommand::SimCommand(CLI::App& app) : impl_(std::make_unique<Impl>()) { impl_->add(app); }
SimCommand::~SimCommand() = default;
bool SimCommand::parsed() const { return impl_->cmd->parsed(); }
int SimCommand::run() { return impl_->run(); }

}  // namespace drsim::cli
