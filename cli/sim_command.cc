#include "cli/sim_command.h"

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
#include "cli/json_output.h"
#include "cli/site_recovery.h"  // parse_duration_text
#include "common/sim/region_pair_sim.h"

namespace drsim::cli {

using sim::DriftRange;
using sim::LeaseCheck;
using sim::Nemesis;
using sim::Verdict;

struct SimCommand::Impl {
  CLI::App* cmd = nullptr;
  uint64_t seeds = 200;
  std::optional<uint64_t> seed;
  std::optional<uint64_t> runs;  // --runs N: seeds --seed (1 by default) .. +N-1
  uint32_t clients = 0;          // --clients N: routed clients per run
  std::string duration;          // --duration D: each run at least this long ("" = as the nemesis)
  Duration run_duration{};
  std::string mode = "mixed";  // --mode sync|async|mixed
  uint32_t workloads = 2;      // --workloads N
  std::string nemesis = "all";
  bool json = false;
  std::string trace;  // --trace FILE: the replayed seed's events as JSON lines
  std::string html;   // --html FILE: the replayed seed as the drill's HTML report
  bool drift_beyond_bound = false;
  bool without_fsync = false;
  std::string broken_variant;  // test builds only (DRSIM_TEST_HOOKS)

  // Totals over the seeds run.
  struct Totals {
    size_t seeds = 0;
    size_t failing = 0;
    size_t violations = 0;
    size_t acked = 0;
    size_t acked_sync = 0;
    size_t refused = 0;
    size_t failovers = 0;
    size_t kills = 0;
    size_t restarts = 0;
    size_t standby_refusals = 0;
    size_t lost_write_stops = 0;
    size_t reprotects = 0;
    size_t rolled_back_acks = 0;
    size_t planned_failovers = 0;
    size_t refused_failovers = 0;
    size_t superseded_during_wait = 0;
    size_t gated_after_lease_wait = 0;
    size_t routed_ops = 0;
    size_t routed_ok = 0;
    size_t routed_reads = 0;
    size_t routed_deletes = 0;
    size_t reads_of_given_up_writes = 0;
    size_t reads_of_crash_lost_writes = 0;
    size_t route_changes = 0;
    Duration longest_write_gap{};
    uint64_t longest_write_gap_seed = 0;
    Duration simulated{};
    Duration longest_lease_wait{};
    std::map<std::string, std::pair<size_t, size_t>> by_nemesis;  // name → seeds, failing
    void add(const Verdict& v) {
      ++seeds;
      failing += v.violations.empty() ? 0 : 1;
      violations += v.violations.size();
      acked += v.acked;
      acked_sync += v.acked_sync;
      refused += v.refused_after_fault;
      failovers += v.failovers;
      kills += v.kills;
      restarts += v.restarts;
      standby_refusals += v.standby_refusals;
      lost_write_stops += v.lost_write_stops;
      reprotects += v.reprotects;
      rolled_back_acks += v.rolled_back_acks;
      planned_failovers += v.planned_failovers;
      refused_failovers += v.refused_failovers;
      superseded_during_wait += v.superseded_during_wait;
      gated_after_lease_wait += v.gated_after_lease_wait;
      routed_ops += v.routed_ops;
      routed_ok += v.routed_ok;
      routed_reads += v.routed_reads;
      routed_deletes += v.routed_deletes;
      reads_of_given_up_writes += v.reads_of_given_up_writes;
      reads_of_crash_lost_writes += v.reads_of_crash_lost_writes;
      route_changes += v.route_changes;
      if (v.longest_write_gap > longest_write_gap) {
        longest_write_gap = v.longest_write_gap;
        longest_write_gap_seed = v.seed;
      }
      simulated += v.simulated;
      longest_lease_wait = std::max(longest_lease_wait, v.lease_wait);
      auto& n = by_nemesis[std::string(sim::nemesis_name(v.nemesis))];
      ++n.first;
      n.second += v.violations.empty() ? 0 : 1;
    }
  };

  void add(CLI::App& app) {
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
                    "the drill checker (lost writes, stale reads)")
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
    cmd->add_option("--broken-variant", broken_variant,
                    "TEST BUILD: run a deliberately broken variant (lease: regions ack without "
                    "a valid lease; ack-before-standby: sync writes acknowledged before the "
                    "standby has them; unverified-marks: a restarted primary serving on by "
                    "fence-check timeout does not mark where its unverified writes begin; "
                    "unfenced-reads: Get and Scan answered whatever the role and lease, to run "
                    "with --clients)")
        ->check(CLI::IsMember({"lease", "ack-before-standby", "unverified-marks", "unfenced-reads"}));
#endif
  }

  std::string replay_command(const Verdict& v) const {
    std::string c = "drsim sim --seed " + std::to_string(v.seed) + " --nemesis " +
                    std::string(sim::nemesis_name(v.nemesis));
    if (clients > 0) c += " --clients " + std::to_string(clients);
    if (!duration.empty()) c += " --duration " + duration;
    if (mode != "mixed") c += " --mode " + mode;
    if (workloads != 2) c += " --workloads " + std::to_string(workloads);
    if (drift_beyond_bound) c += " --drift-beyond-bound";
    if (without_fsync) c += " --without-fsync";
    if (!broken_variant.empty()) c += " --broken-variant " + broken_variant;
    return c;
  }

  // What kind of event a line of the history is, from how RegionPairSim words it.
  static const char* event_kind(const std::string& text) {
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

  // --trace FILE (opened as `out`): a header line (seed, nemesis, the replay command,
  // violations), then one line per event, {"t_ms", "kind", "text"}, in order. INVALID_ARGUMENT
  // naming the file when the writes fail.
  Status write_trace(const Verdict& v, std::ofstream& out) const {
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
      out << JsonObject{{"t_ms", t_ms}, {"kind", event_kind(text)}, {"text", text}}.dump()
          << "\n";
    }
    if (!out.flush()) return invalid_argument("--trace: cannot write " + trace);
    return Status::ok();
  }

  int run() {
    auto kinds = sim::parse_nemeses(nemesis);
    if (!kinds.is_ok()) {
      if (json) return print_json_error(kinds.status());
      std::fprintf(stderr, "drsim sim: %s\n", kinds.status().message().c_str());
      return 2;
    }
    bool has_drift = false;
    bool has_kill = false;
    for (Nemesis n : *kinds) {
      has_drift = has_drift || n == Nemesis::kDrift;
      has_kill = has_kill || n == Nemesis::kKill;
    }
    std::optional<Status> bad;
    if (drift_beyond_bound && !has_drift) {
      bad = invalid_argument(
          "--drift-beyond-bound: needs the drift nemesis (--nemesis drift or all)");
    } else if (without_fsync && !has_kill) {
      bad = invalid_argument("--without-fsync: needs the kill nemesis (--nemesis kill or all)");
    } else if (!trace.empty() && (!seed || runs.value_or(1) > 1)) {
      bad = invalid_argument(
          "--trace: needs --seed S without --runs (the trace is one seed's events)");
    } else if (!html.empty() && (!seed || runs.value_or(1) > 1)) {
      bad = invalid_argument(
          "--html: needs --seed S without --runs (the report is one seed's run)");
    } else if (broken_variant == "unfenced-reads" && clients == 0) {
      bad = invalid_argument(
          "--broken-variant unfenced-reads: needs --clients N (only the routed clients read)");
    } else if (broken_variant == "ack-before-standby" && mode == "async") {
      bad = invalid_argument(
          "--broken-variant ack-before-standby: needs sync workloads (--mode sync or mixed)");
    } else if (runs && cmd->count("--seeds") > 0) {
      bad = invalid_argument("--runs: give either --seeds N (1..N) or --seed S --runs N");
    }
    if (!bad && !duration.empty()) {
      auto d = parse_duration_text("--duration", duration);
      if (!d.is_ok()) {
        bad = d.status();
      } else if (*d > std::chrono::hours(1)) {
        bad = invalid_argument("--duration: " + duration + " is longer than 1h of virtual time");
      } else {
        run_duration = *d;
      }
    }
    // Opened before running anything: a path that cannot be written is bad input, not a run.
    std::ofstream trace_out;
    if (!bad && !trace.empty()) {
      trace_out.open(trace, std::ios::trunc);
      if (!trace_out) bad = invalid_argument("--trace: cannot write " + trace);
    }
    if (bad) {
      if (json) return print_json_error(*bad);
      std::fprintf(stderr, "drsim sim: %s\n", bad->message().c_str());
      return 2;
    }
    sim::SeedOptions base;
    base.lease_check = broken_variant == "lease" ? LeaseCheck::kBypassed : LeaseCheck::kEnforced;
    base.sync_ack = broken_variant == "ack-before-standby" ? sim::SyncAck::kBeforeStandby
                                                           : sim::SyncAck::kAfterStandby;
    base.marks = broken_variant == "unverified-marks" ? sim::UnverifiedMarks::kSkipped
                                                      : sim::UnverifiedMarks::kKept;
    base.reads = broken_variant == "unfenced-reads" ? sim::ReadFence::kSkipped
                                                    : sim::ReadFence::kEnforced;
    base.drift_range = drift_beyond_bound ? DriftRange::kBeyondBound : DriftRange::kWithinBound;
    base.fsync = without_fsync ? sim::Fsync::kOff : sim::Fsync::kEveryWrite;
    base.clients = clients;
    base.mode = mode == "sync" ? sim::Mode::kSync
                : mode == "async" ? sim::Mode::kAsync
                                  : sim::Mode::kMixed;
    base.workloads = workloads;
    base.duration = run_duration;
    base.record = !html.empty();

    // One seed replayed (its events printed): --seed alone, or --seed S --runs 1.
    const bool replay = seed && runs.value_or(1) == 1;
    std::vector<uint64_t> run_seeds;
    if (runs) {
      for (uint64_t s = seed.value_or(1); s < seed.value_or(1) + *runs; ++s) run_seeds.push_back(s);
    } else if (seed) {
      run_seeds.push_back(*seed);
    } else {
      for (uint64_t s = 1; s <= seeds; ++s) run_seeds.push_back(s);
    }
    std::string kind_names;
    for (Nemesis n : *kinds)
      kind_names += (kind_names.empty() ? "" : ", ") + std::string(sim::nemesis_name(n));
    if (!json) {
      std::printf(
          "drsim sim: %zu seed(s)%s, nemesis %s, lease check %s%s%s%s%s%s\n", run_seeds.size(),
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
          drift_beyond_bound ? ", drift BEYOND the lease's bound" : "",
          without_fsync ? ", stores WITHOUT fsync" : "");
    }

    spdlog::level::level_enum level = spdlog::get_level();
    // The drivers' logs are off: the events say what happened. DRSIM_SIM_LOG=1 keeps them (their
    // time stamps are the wall clock's, not the run's).
    if (std::getenv("DRSIM_SIM_LOG") == nullptr) spdlog::set_level(spdlog::level::off);
    const auto wall_start = std::chrono::steady_clock::now();
    Totals t;
    std::vector<Verdict> failing;
    std::optional<Verdict> replayed;
    size_t next_progress = 1;
    for (size_t i = 0; i < run_seeds.size(); ++i) {
      sim::SeedOptions o = base;
      o.nemesis = sim::draw_nemesis(run_seeds[i], *kinds);
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
      if (Status s = write_trace(*replayed, trace_out); !s.is_ok()) {
        if (json) return print_json_error(s);
        std::fprintf(stderr, "drsim sim: %s\n", s.message().c_str());
        return 2;
      }
    }

    if (!html.empty() && replayed) {
      if (Status s = write_html_report(html_report(*replayed), replayed->record.history, html);
          !s.is_ok()) {
        if (json) return print_json_error(s);
        std::fprintf(stderr, "drsim sim: --html: %s\n", s.message().c_str());
        return 2;
      }
    }
    if (json) return print_json(t, failing, replayed, wall_s);
    if (replayed) {
      std::printf("seed %llu, nemesis %s: events\n",
                  static_cast<unsigned long long>(replayed->seed),
                  std::string(sim::nemesis_name(replayed->nemesis)).c_str());
      for (const auto& e : replayed->events) std::printf("  %s\n", e.c_str());
    }
    print_summary(t, wall_s);
    for (const Verdict& v : failing) {
      std::printf("\nseed %llu (%s): %zu violation(s)\n", static_cast<unsigned long long>(v.seed),
                  std::string(sim::nemesis_name(v.nemesis)).c_str(), v.violations.size());
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

  // A step's label on the timeline: "kill primary (its host crashes: ...)" -> "kill primary",
  // "operator 2: failover to primary" -> "failover to primary".
  static std::string timeline_label(const std::string& text) {
    std::string t = text;
    if (t.rfind("operator", 0) == 0 && t.find(": ") != std::string::npos) {
      t = t.substr(t.find(": ") + 2);
    }
    return t.substr(0, std::min(t.find(" ("), t.find(": ")));
  }

  // The drill report's JSON (cli/html_report.h: every field optional) for one replayed seed:
  // the nemesis as the fault, the first promotion as the failover, the Traffic Manager's
  // routing changes, the nemesis and operator steps, the routed clients' counts and, with a
  // promotion and routed clients, the RTO measured as a drill measures it (model::measure_rto).
  nlohmann::json html_report(const Verdict& v) const {
    const Verdict::Record& r = v.record;
    nlohmann::json j;
    j["drill"] = "sim seed " + std::to_string(v.seed) + ", " +
                 std::string(sim::nemesis_name(v.nemesis));
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
        j["failover"] = {{"promoted_unix_nanos", m.unix_nanos},
                         {"new_active", m.region},
                         {"new_epoch", m.epoch}};
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
      j["writes"] = {{"attempted", c.writes.attempted}, {"acknowledged", c.writes.ok},
                     {"failed", c.writes.failed}, {"indeterminate", c.writes.indeterminate}};
      j["reads"] = {{"attempted", c.reads.attempted}, {"ok", c.reads.ok},
                    {"failed", c.reads.failed}, {"indeterminate", c.reads.indeterminate}};
      j["acknowledged_by_region"] = c.ok_writes_by_region;
      j["acknowledged_writes_lost"] = c.lost_count;
      j["stale_reads"] = c.stale_read_count;
      if (marks.fault_ns != 0 && !marks.new_region.empty()) {
        put_rto(model::measure_rto(r.history, marks), &j);
      }
    }
    return j;
  }

  // ", 8 routed clients, at least 60s each" (or "").
  std::string run_shape() const {
    std::string shape;
    if (clients > 0) shape += ", " + std::to_string(clients) + " routed client(s)";
    if (!duration.empty()) shape += ", at least " + duration + " each";
    if (mode != "mixed" || workloads != 2) {
      shape += ", " + std::to_string(workloads) + " " + mode + " workload(s)";
    }
    return shape;
  }

  void print_summary(const Totals& t, double wall_s) const {
    std::string by;
    for (const auto& [name, n] : t.by_nemesis)
      by += (by.empty() ? "" : ", ") + name + " " + std::to_string(n.first);
    const double virtual_s = to_ms(t.simulated) / 1000;
    std::printf("summary\n");
    std::printf("  seeds              %zu (%s)\n", t.seeds, by.c_str());
    std::printf("  virtual time       %.1f s\n", virtual_s);
    std::printf("  wall time          %.2f s (%.0fx real time)\n", wall_s,
                wall_s > 0 ? virtual_s / wall_s : 0.0);
    std::printf("  acks checked       %zu (%zu sync, %zu async)\n", t.acked, t.acked_sync,
                t.acked - t.acked_sync);
    std::printf("  refused            %zu (after the fault)\n", t.refused);
    std::printf("  routing changes    %zu (the Traffic Manager's)\n", t.route_changes);
    if (clients > 0) {
      std::printf("  routed clients     %zu operations at %.0f/s virtual, %zu ok (%zu gets, %zu "
                  "deletes); longest time without an acknowledged put %.0f ms (seed %llu)\n",
                  t.routed_ops, virtual_s > 0 ? t.routed_ops / virtual_s : 0.0,
                  t.routed_ok, t.routed_reads, t.routed_deletes, to_ms(t.longest_write_gap),
                  static_cast<unsigned long long>(t.longest_write_gap_seed));
      std::printf("  history check      model::check_history over every routed operation; "
                  "gets that missed a write nothing promised: %zu an async write a failover "
                  "gave up, %zu a write a crash without fsync lost (kill-cut-off)\n",
                  t.reads_of_given_up_writes, t.reads_of_crash_lost_writes);
    }
    std::printf("  failovers          %zu (%zu planned), longest lease wait %.0f ms\n", t.failovers,
                t.planned_failovers, to_ms(t.longest_lease_wait));
    std::printf("  kills / restarts   %zu / %zu\n", t.kills, t.restarts);
    std::printf("  standby refusals   %zu (batches the standby refused: disk full, gaps)\n",
                t.standby_refusals);
    if (t.by_nemesis.count("kill-cut-off") > 0) {
      std::printf("  lost-write stops   %zu (kill-cut-off: the restarted primary found the standby "
                  "holds writes it lost), %zu re-protect(s)\n",
                  t.lost_write_stops, t.reprotects);
    }
    if (t.by_nemesis.count("racing-failovers") > 0) {
      std::printf("  racing failovers   %zu refused (%zu of them: a newer epoch learned during the "
                  "lease wait), %zu promoted past the epoch their wait proved\n",
                  t.refused_failovers, t.superseded_during_wait, t.gated_after_lease_wait);
    }
    if (t.by_nemesis.count("kill-cut-off") > 0 || t.by_nemesis.count("racing-failovers") > 0 ||
        t.by_nemesis.count("slow-link") > 0) {
      std::printf("  async acks lost    %zu (kill-cut-off: a store without fsync keeps none of "
                  "them across a crash; racing-failovers, slow-link: the async tail an unplanned "
                  "failover gives up)\n",
                  t.rolled_back_acks);
    }
    std::printf("  violations         %zu in %zu seed(s)\n", t.violations, t.failing);
  }

  int print_json(const Totals& t, const std::vector<Verdict>& failing,
                 const std::optional<Verdict>& replayed, double wall_s) const {
    JsonObject body;
    body["seeds"] = t.seeds;
    body["nemesis"] = nemesis;
    body["lease_check"] = broken_variant == "lease" ? "bypassed" : "enforced";
    body["broken_variant"] = broken_variant;
    body["drift_range"] = drift_beyond_bound ? "beyond_bound" : "within_bound";
    body["virtual_time_s"] = to_ms(t.simulated) / 1000;
    body["wall_time_s"] = wall_s;
    body["acks_checked"] = t.acked;
    body["acks_sync"] = t.acked_sync;
    body["acks_async"] = t.acked - t.acked_sync;
    body["refused_after_fault"] = t.refused;
    body["failovers"] = t.failovers;
    body["kills"] = t.kills;
    body["restarts"] = t.restarts;
    body["standby_refusals"] = t.standby_refusals;
    body["lost_write_stops"] = t.lost_write_stops;
    body["reprotects"] = t.reprotects;
    body["async_acks_lost"] = t.rolled_back_acks;
    body["planned_failovers"] = t.planned_failovers;
    body["refused_failovers"] = t.refused_failovers;
    body["superseded_during_wait"] = t.superseded_during_wait;
    body["gated_after_lease_wait"] = t.gated_after_lease_wait;
    body["fsync"] = without_fsync ? "off" : "every_write";
    body["longest_lease_wait_ms"] = to_ms(t.longest_lease_wait);
    body["clients"] = clients;
    body["duration"] = duration;
    body["mode"] = mode;
    body["workloads"] = workloads;
    body["route_changes"] = t.route_changes;
    body["routed_ops"] = t.routed_ops;
    body["routed_ok"] = t.routed_ok;
    body["routed_reads"] = t.routed_reads;
    body["routed_deletes"] = t.routed_deletes;
    body["reads_of_given_up_writes"] = t.reads_of_given_up_writes;
    body["reads_of_crash_lost_writes"] = t.reads_of_crash_lost_writes;
    body["longest_write_gap_ms"] = to_ms(t.longest_write_gap);
    body["violations"] = t.violations;
    JsonObject by = JsonObject::object();
    for (const auto& [name, n] : t.by_nemesis)
      by[name] = JsonObject{{"seeds", n.first}, {"failing", n.second}};
    body["by_nemesis"] = by;
    JsonObject fails = JsonObject::array();
    for (const Verdict& v : failing) {
      fails.push_back(JsonObject{{"seed", v.seed},
                                 {"nemesis", sim::nemesis_name(v.nemesis)},
                                 {"violations", v.violations},
                                 {"replay", replay_command(v)}});
    }
    body["failing_seeds"] = fails;
    body["events"] = replayed ? JsonObject(replayed->events) : JsonObject::array();
    print_json_document(body);
    return failing.empty() ? 0 : 1;
  }
};

SimCommand::SimCommand(CLI::App& app) : impl_(std::make_unique<Impl>()) { impl_->add(app); }
SimCommand::~SimCommand() = default;
bool SimCommand::parsed() const { return impl_->cmd->parsed(); }
int SimCommand::run() { return impl_->run(); }

}  // namespace drsim::cli
