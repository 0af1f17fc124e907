// A drill's expectations (a drill file's `expect:`) and the pure judge of them against what a
// run measured. The real-time drill runner (cli/drill_finish.cc) and the region simulator
// (common/sim, its routed clients) judge with the same function, so "0 acknowledged sync
// writes lost" or "routed to the serving region at the end" means the same in both.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/core/time.h"

namespace drsim::model {

struct DrillExpectations {
  std::optional<double> max_rto_ms;
  std::optional<uint64_t> max_lost_writes;
  // Lost acknowledged writes of the sync workloads only (an async workload may lose its RPO).
  std::optional<uint64_t> max_lost_sync_writes;
  std::optional<uint64_t> max_stale_reads;
  std::optional<std::string> final_routing;
  std::optional<double> min_availability;  // ok operations / all operations
  std::optional<uint64_t> min_rpo_writes;  // RPO of the failover, in writes
  std::optional<uint64_t> max_rpo_writes;
  // Every client answered by the new region within / not before this (shows the DNS TTL).
  std::optional<double> max_all_clients_moved_ms;
  std::optional<double> min_all_clients_moved_ms;
  // The same from the Traffic Manager's route change instead of the fault: a client that
  // resolved just before the change keeps the old answer one TTL, so TTL + a margin bounds it
  // whatever detection and promotion took on a loaded machine.
  std::optional<double> max_all_clients_moved_after_routing_ms;
  // Writes a superseded region acknowledged after the failover (split brain).
  std::optional<uint64_t> max_writes_acked_after_fencing;
  // Every lost write is explained by the RPO: lost <= RPO writes.
  bool lost_within_rpo = false;
};

// What a run measured, as the judge reads it.
struct DrillMeasures {
  std::optional<Duration> rto;  // RtoBreakdown::total
  uint64_t lost_writes = 0;     // CheckResult::lost_count
  uint64_t lost_sync_writes = 0;
  uint64_t stale_reads = 0;
  std::optional<std::string> final_route;  // nullopt: the Traffic Manager did not answer
  double availability = 0;
  bool failed_over = false;  // a failover happened (the RPO and moved clients exist)
  uint64_t rpo_writes = 0;
  // When the last client was first answered by the new region, from the fault; nullopt when
  // not all moved (then `moved_text` says how many did).
  std::optional<Duration> all_clients_moved;
  std::string moved_text;
  // The same from the route change; nullopt when there was none (`routed` false) or not all
  // moved.
  std::optional<Duration> all_clients_moved_after_routing;
  bool routed = false;
  uint64_t acked_after_fencing = 0;
  // Planned failovers: every write the former active region acknowledged is on the promoted one.
  bool planned = false;
  uint64_t planned_given_up = 0;
};

// What an expectation judges, for a caller that explains a failure from its own data (the
// simulator names the lost write or the stale read); kOther for the rest.
enum class Measure { kOther, kLostWrites, kLostSyncWrites, kStaleReads, kFinalRoute };

struct Expectation {
  std::string name, want, got;
  bool pass = false;
  Measure measure = Measure::kOther;
};

// "n/a (no failover)" or the writes given up, as reports print the RPO.
std::string rpo_text(const DrillMeasures& m);

// Every expectation set in `ex`, in a fixed order, each with what was wanted, what was
// measured and whether it held; plus, after a planned failover, "writes lost by planned
// failover (drain)" = 0, always judged.
std::vector<Expectation> judge_drill(const DrillExpectations& ex, const DrillMeasures& m);

// A drill fails when a daemon counted a DRSIM_BUG report (common/core/check.h): one problem line
// per process that did (`counted`: process name -> GetStatus.bugs_counted), none otherwise.
std::vector<std::string> bug_problems(const std::map<std::string, uint64_t>& counted);

}  // namespace drsim::model
