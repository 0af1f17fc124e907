// `drsim sim`'s implementation (cli/sim_command.h): its flags and the run of the seeds in
// sim_command.cc, what it prints and writes (the summary, --json, --trace, --html) in
// sim_output.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/sim_command.h"
#include "common/core/status.h"
#include "common/core/time.h"
#include "common/sim/region_pair_sim.h"

namespace drsim::cli {

struct SimCommand::Impl {
  using Nemesis = sim::Nemesis;
  using Verdict = sim::Verdict;

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
    sim::Counts counts;  // summed over the seeds
    Duration longest_write_gap{};
    uint64_t longest_write_gap_seed = 0;
    Duration simulated{};
    Duration longest_lease_wait{};
    Duration longest_recovery{};  // Verdict::longest_recovery, the longest over the seeds
    uint64_t longest_recovery_seed = 0;
    std::map<std::string, std::pair<size_t, size_t>> by_nemesis;  // name → seeds, failing
    std::map<std::string, size_t> faults;  // every fault of every run, by kind
    size_t episodes = 0;
    void add(const Verdict& v);
  };


  void add(CLI::App& app);

  std::string replay_command(const Verdict& v) const;

  // What kind of event a line of the history is, from how RegionPairSim words it.
  static const char* event_kind(const std::string& text);

  // --trace FILE (opened as `out`): a header line (seed, nemesis, the replay command,
  // violations), then one line per event, {"t_ms", "kind", "text"}, in order. INVALID_ARGUMENT
  // naming the file when the writes fail.
  Status write_trace(const Verdict& v, std::ofstream& out) const;

  // Parses --nemesis, checks the flags, runs the seeds, prints or writes what was asked.
  int run();
  // Exit 2 with `s`'s message (as --json's error document with --json).
  int bad_input(const Status& s) const;
  // The flags' combinations and --duration; INVALID_ARGUMENT naming the flag. Sets
  // run_duration.
  Status check_flags(const std::vector<Nemesis>& kinds);
  // What every seed runs with (the broken variant, mode, workloads, clients, duration).
  sim::SeedOptions base_options() const;
  // --seeds N: 1..N; --seed S [--runs N]: S..S+N-1.
  std::vector<uint64_t> seeds_to_run() const;
  // "drsim sim: 200 seed(s), nemesis ..., lease check enforced".
  void print_header(size_t n, const std::vector<Nemesis>& kinds,
                    const sim::SeedOptions& base) const;
  // The replayed seed's events, the summary, each failing seed with its replay command; the
  // exit code.
  int print_text(const Totals& t, const std::vector<Verdict>& failing,
                 const std::optional<Verdict>& replayed, double wall_s) const;

  // A step's label on the timeline: "kill primary (its host crashes: ...)" -> "kill primary",
  // "operator 2: failover to primary" -> "failover to primary".
  static std::string timeline_label(const std::string& text);

  // The drill report's JSON (cli/html_report.h: every field optional) for one replayed seed:
  // the nemesis as the fault, the first promotion as the failover, the Traffic Manager's
  // routing changes, the nemesis and operator steps, the routed clients' counts and, with a
  // promotion and routed clients, the RTO measured as a drill measures it (model::measure_rto).
  nlohmann::json html_report(const Verdict& v) const;

  // "partition" or, with later faults, "partition, then kill, skew".
  static std::string episode_names(const Verdict& v);

  // ", 8 routed clients, at least 60s each" (or "").
  std::string run_shape() const;

  void print_summary(const Totals& t, double wall_s) const;

  int print_json(const Totals& t, const std::vector<Verdict>& failing,
                 const std::optional<Verdict>& replayed, double wall_s) const;
};

}  // namespace drsim::cli
