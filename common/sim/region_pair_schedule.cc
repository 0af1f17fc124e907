// The region pair simulator's schedule and workloads (common/sim/pair_run.h): the workloads by
// --mode and --workloads, one fault of the run (run_episode), the operator's restore of the pair
// between two faults of a --duration run, and the verdict's counters summed.
#include <algorithm>
#include <string>
#include <vector>

#include "common/sim/pair_run.h"

namespace drsim::sim {

using namespace std::chrono_literals;
using region::ReplicationMode;

// Kinds whose stale clients write to the secondary too (it becomes active during the fault).
bool PairRun::writes_to_both(Nemesis n) {
  return n == Nemesis::kDoubleFailover || n == Nemesis::kFailback || n == Nemesis::kRacingFailovers;
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kSync:
      return "sync";
    case Mode::kAsync:
      return "async";
    case Mode::kMixed:
      return "mixed";
  }
  return "?";
}

std::vector<PairRun::SimWorkload> PairRun::make_workloads(const SeedOptions& options) {
  std::vector<SimWorkload> out;
  size_t sync_count = 0, async_count = 0;
  for (uint32_t i = 0; i < std::max<uint32_t>(options.workloads, 1); ++i) {
    const bool sync = options.mode == Mode::kSync || (options.mode == Mode::kMixed && i % 2 == 0);
    size_t& n = sync ? sync_count : async_count;
    out.push_back(
        {std::string(sync ? "vm-sync" : "vm-async") + (n == 0 ? "" : "-" + std::to_string(n)),
         sync});
    ++n;
  }
  return out;
}

bool PairRun::is_sync(const std::string& workload) const {
  for (const auto& w : workloads_) {
    if (w.name == workload) return w.sync;
  }
  return false;
}

const std::string& PairRun::draw_workload() {
  return workloads_[rng_.below(workloads_.size())].name;
}

std::vector<region::WorkloadSpec> PairRun::workload_specs() const {
  std::vector<region::WorkloadSpec> specs;
  for (const auto& w : workloads_) {
    specs.push_back({w.name, w.sync ? ReplicationMode::kSync : ReplicationMode::kAsync});
  }
  return specs;
}

void PairRun::run_episode(Nemesis n) {
  current_ = n;
  v_.episodes.push_back(n);
  if (v_.episodes.size() > 1) {
    event("nemesis " + std::to_string(v_.episodes.size()) + ": " + std::string(nemesis_name(n)));
    // Its stale clients on the secondary too, as a first fault of its kind has.
    if (writes_to_both(n) && std::find(stale_targets_.begin(), stale_targets_.end(), &secondary_) ==
                                 stale_targets_.end()) {
      stale_targets_.push_back(&secondary_);
      if (clients_running_) start_client(secondary_);
    }
  }
  switch (n) {
    case Nemesis::kPartition:
    case Nemesis::kDrift:
      partition_then_failover();
      break;
    case Nemesis::kFreeze:
      freeze_then_failover();
      break;
    case Nemesis::kDoubleFailover:
      double_failover();
      break;
    case Nemesis::kDiskFull:
      disk_full_then_free();
      break;
    case Nemesis::kKill:
      kill_then_restart();
      break;
    case Nemesis::kPartitionOneWay:
      partition_one_way_then_heal();
      break;
    case Nemesis::kKillCutOff:
      kill_cut_off_then_heal();
      break;
    case Nemesis::kFailback:
      planned_failover_and_back();
      break;
    case Nemesis::kRacingFailovers:
      racing_failovers();
      break;
    case Nemesis::kSlowLink:
      slow_link();
      break;
    case Nemesis::kSkew:
      skew_then_failover();
      break;
    case Nemesis::kTestFailover:
      test_failover();
      break;
  }
}

bool PairRun::restore_pair() {
  ++v_.counts.restores;
  episode_acks_from_ = acked_.size();
  event("operator: restore the pair (one region active, protected, the primary active)");
  // Every nemesis heals what it broke; a region the kill nemesis restarted is alive again.
  if (!primary_->alive() || !secondary_->alive()) {
    fail("a region is down after the fault: the pair cannot be restored");
    return false;
  }
  SimRegion* serving = nullptr;
  if (!sim_.run_until(
          [&] {
            const bool p = primary_->serving(), s = secondary_->serving();
            serving = p && !s ? primary_.get() : s && !p ? secondary_.get() : nullptr;
            return serving != nullptr;
          },
          sim_.now() + 10s)) {
    fail("no single region serves 10 s after the fault ended");
    return false;
  }
  if (serving->status().protection() != v1::REGION_PROTECTION_PROTECTED && !reprotect(*serving)) {
    return false;
  }
  if (serving == secondary_.get() && !planned_failover(*primary_)) return false;
  if (!sim_.run_until(
          [&] {
            return primary_->serving() && primary_->status().replication_connected() &&
                   primary_->status().protection() == v1::REGION_PROTECTION_PROTECTED;
          },
          sim_.now() + 10s)) {
    fail("the primary does not replicate to a protected standby 10 s into the restore");
    return false;
  }
  event("pair restored: primary active at epoch " + std::to_string(primary_->status().epoch()) +
        ", secondary its standby");
  return true;
}

Counts& Counts::operator+=(const Counts& o) {
  restores += o.restores;
  acked += o.acked;
  acked_sync += o.acked_sync;
  refused_after_fault += o.refused_after_fault;
  resets += o.resets;
  standby_refusals += o.standby_refusals;
  failovers += o.failovers;
  kills += o.kills;
  restarts += o.restarts;
  lost_write_stops += o.lost_write_stops;
  reprotects += o.reprotects;
  rolled_back_acks += o.rolled_back_acks;
  planned_failovers += o.planned_failovers;
  refused_failovers += o.refused_failovers;
  superseded_during_wait += o.superseded_during_wait;
  gated_after_lease_wait += o.gated_after_lease_wait;
  routed_ops += o.routed_ops;
  routed_ok += o.routed_ok;
  routed_reads += o.routed_reads;
  routed_deletes += o.routed_deletes;
  reads_of_given_up_writes += o.reads_of_given_up_writes;
  reads_of_crash_lost_writes += o.reads_of_crash_lost_writes;
  route_changes += o.route_changes;
  recoveries_judged += o.recoveries_judged;
  recoveries_excused += o.recoveries_excused;
  return *this;
}

}  // namespace drsim::sim
